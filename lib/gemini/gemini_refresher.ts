/**
 * `GeminiRefresher`: the Google OAuth `refresh_token` grant for Gemini accounts (a `TokenRefresher`).
 *
 * One form-encoded POST to the token endpoint with the account's own OAuth client (stored on the account at
 * donation), falling back to the configured one (a refresh token only works with the client it was issued to). `expires_in` becomes an epoch
 * expiry; `invalid_grant` (revoked or expired refresh token) is an `invalid_grant` UpstreamError so the pool
 * disables the account; network trouble and 5xx are `transient`. When a `CodeAssistClient` is given and the
 * account has no project yet, the project is discovered once and returned as `otherPatch` (persisted,
 * never looked up per request: the lookup is a slow call that can onboard the user). Single-flight, scheduling and storage are the
 * pool's `TokenManager`, not this file. Tokens and secrets never appear in error messages.
 */
import type { RefreshedTokens, TokenRefresher } from "../accounts/token_source.ts";
import { UpstreamError } from "../errors.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import type { Account } from "../store/types.ts";
import type { CodeAssistClient } from "./code_assist_client.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";

export interface GeminiRefresherOptions {
  fetch: typeof fetch;
  tokenEndpoint: string;
  /** Configured OAuth client, used when the account does not carry its own. */
  clientId?: string;
  clientSecret?: string;
  now: () => number;
  /** Optional: discovers a missing project during refresh. */
  codeAssist?: CodeAssistClient;
  /** Endpoint for project discovery when the account has no `other.api_endpoint`. */
  apiEndpoint?: string;
  /** Per-account proxy clients: a refresh leaves through the same proxy as the account's calls. */
  clients?: UpstreamClients;
}

/** Google's default when a token response omits `expires_in`. */
const DEFAULT_EXPIRES_IN_SECONDS = 3599;

/** Stored refresh tokens were sometimes pasted URL-encoded (`1%2F%2F0...`); Google needs them decoded. */
function decodeRefreshToken(token: string): string {
  if (!token.includes("%")) return token;
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}

export class GeminiRefresher implements TokenRefresher {
  #options: GeminiRefresherOptions;

  constructor(options: GeminiRefresherOptions) {
    this.#options = options;
  }

  async refresh(account: Account, signal?: AbortSignal): Promise<RefreshedTokens> {
    const fail = (
      kind: "invalid_grant" | "auth" | "transient" | "throttled",
      message: string,
      status?: number,
      cause?: unknown,
    ) => new UpstreamError(kind, message, { provider: "google-oauth", upstreamStatus: status, cause });
    if (!account.refreshToken) throw fail("invalid_grant", "gemini account has no refresh token");
    const clientId = account.clientId || this.#options.clientId;
    const clientSecret = account.clientSecret || this.#options.clientSecret;
    if (!clientId || !clientSecret) {
      throw fail("auth", "no Google OAuth client configured for this gemini account");
    }

    let response: Response;
    try {
      // No redirects: the refresh token must go only where it was configured to go.
      response = await upstreamCall(this.#options.tokenEndpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "accept": "application/json" },
        body: new URLSearchParams({
          client_id: clientId,
          client_secret: clientSecret,
          refresh_token: decodeRefreshToken(account.refreshToken),
          grant_type: "refresh_token",
        }),
      }, {
        fetch: this.#options.fetch,
        provider: "google-oauth",
        signal,
        client: this.#options.clients?.forAccount(account),
      });
    } catch (cause) {
      if (signal?.aborted) throw signal.reason ?? cause;
      throw fail(
        "transient",
        `Google token endpoint unreachable: ${
          cause instanceof UpstreamError ? cause.message : (cause as Error)?.name ?? "error"
        }`,
        undefined,
        cause,
      );
    }
    const text = await response.text().catch(() => "");
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object") body = parsed;
    } catch {
      // Non-JSON bodies (HTML error pages) are classified by status alone.
    }
    if (!response.ok) {
      const code = typeof body.error === "string" ? body.error : "";
      // error_description is Google's text ("Token has been expired or revoked."), never a secret.
      const description = typeof body.error_description === "string"
        ? `: ${body.error_description.slice(0, 200)}`
        : "";
      if (code === "invalid_grant") {
        throw fail("invalid_grant", `invalid_grant${description}`, response.status);
      }
      if (response.status === 429) {
        throw fail("throttled", `Google token endpoint throttled${description}`, 429);
      }
      if (response.status >= 500) {
        throw fail("transient", `Google token endpoint answered ${response.status}`, response.status);
      }
      throw fail("auth", `token refresh refused (${code || response.status})${description}`, response.status);
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw fail("transient", "Google token response has no access_token", response.status);
    }
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : DEFAULT_EXPIRES_IN_SECONDS;
    const result: RefreshedTokens = {
      accessToken: body.access_token,
      expiresAt: this.#options.now() + expiresIn * 1000,
    };
    if (
      typeof body.refresh_token === "string" && body.refresh_token &&
      body.refresh_token !== account.refreshToken
    ) {
      result.refreshToken = body.refresh_token;
    }
    const project = await this.#discoverProject(account, body.access_token, signal);
    if (project) result.otherPatch = { project };
    return result;
  }

  async #discoverProject(
    account: Account,
    accessToken: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const codeAssist = this.#options.codeAssist;
    if (!codeAssist || (typeof account.other.project === "string" && account.other.project)) return undefined;
    const endpoint = typeof account.other.api_endpoint === "string" && account.other.api_endpoint
      ? account.other.api_endpoint
      : this.#options.apiEndpoint;
    if (!endpoint) return undefined;
    try {
      return await codeAssist.discoverProject(accessToken, endpoint, signal);
    } catch {
      // The token itself is fine; the channel reports the missing project when the account is used.
      return undefined;
    }
  }
}
