/**
 * `AllowanceClient`: asks Amazon Q / Kiro how much of an account's monthly allowance is left.
 *
 * The operation is the CodeWhisperer runtime's `GetUsageLimits`, served as a plain
 * `GET {endpoint}/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST[&profileArn=...]` with the
 * account's bearer token and a JSON answer (as the open-source Kiro gateway kiro.rs calls it:
 * `get_usage_limits` in `src/kiro/token_manager.rs` of hank9999/kiro.rs). The endpoint is the one the
 * account's requests go to, and the call leaves through the account's proxy like every other call of it.
 * A refused token is renewed once (the same token logic as the channel); every other failure is thrown as
 * an `UpstreamError` for the job to count.
 */
import type { TokenSource } from "../accounts/token_source.ts";
import { UpstreamError } from "../errors.ts";
import type { Account } from "../store/types.ts";
import { readErrorBody } from "../upstream/read_error_body.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";
import { type Allowance, allowanceFromUsageLimits } from "./allowance_from_usage_limits.ts";

export interface AllowanceClientOptions {
  fetch: typeof fetch;
  tokens: TokenSource;
  /** The Amazon Q API endpoint (`AMAZONQ_API_ENDPOINT`). */
  apiEndpoint: string;
  /** Default profile ARN for accounts without `other.profileArn`. */
  profileArn?: string | undefined;
  clients?: UpstreamClients | undefined;
  now: () => number;
}

/** Reads one account's allowance (the job's view of the client, so tests can fake it). */
export type AllowanceFetcher = (account: Account) => Promise<Allowance>;

const TIMEOUTS = { headersMs: 30_000, idleMs: 30_000, totalMs: 60_000 };

export class AllowanceClient {
  readonly #o: AllowanceClientOptions;

  constructor(options: AllowanceClientOptions) {
    this.#o = options;
  }

  async fetch(account: Account, signal?: AbortSignal): Promise<Allowance> {
    const url = new URL("getUsageLimits", this.#o.apiEndpoint.replace(/\/*$/, "/"));
    url.searchParams.set("origin", "AI_EDITOR");
    url.searchParams.set("resourceType", "AGENTIC_REQUEST");
    const own = account.other.profileArn;
    const profileArn = typeof own === "string" && own ? own : this.#o.profileArn;
    if (profileArn) url.searchParams.set("profileArn", profileArn);
    const client = this.#o.clients?.forAccount(account);
    const get = (token: string) =>
      upstreamCall(url.toString(), {
        method: "GET",
        headers: { "authorization": `Bearer ${token}`, "accept": "application/json" },
      }, { fetch: this.#o.fetch, provider: "amazonq", signal, timeouts: TIMEOUTS, client });
    let token = await this.#o.tokens.accessToken(account, { ...(signal ? { signal } : {}) });
    let response = await get(token);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      token = (await this.#o.tokens.renew(account, token, signal)).token;
      response = await get(token);
    }
    if (!response.ok) {
      const text = await readErrorBody(response);
      throw new UpstreamError(
        response.status === 429 ? "throttled" : response.status >= 500 ? "transient" : "client",
        `getUsageLimits answered HTTP ${response.status}: ${text.slice(0, 300)}`,
        { provider: "amazonq", upstreamStatus: response.status },
      );
    }
    let answer: unknown;
    try {
      answer = await response.json();
    } catch (cause) {
      throw new UpstreamError("transient", "getUsageLimits answered with invalid JSON", {
        provider: "amazonq",
        cause,
      });
    }
    const allowance = allowanceFromUsageLimits(answer, this.#o.now());
    if (!allowance) {
      throw new UpstreamError("transient", "getUsageLimits answered without a usage breakdown", {
        provider: "amazonq",
      });
    }
    return allowance;
  }
}
