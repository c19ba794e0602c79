/**
 * `AmazonQRefresher`: one token refresh for an Amazon Q / Kiro account (`TokenRefresher`).
 *
 * Two identity flavours:
 * - AWS SSO-OIDC (Builder ID / Identity Center, `other.authType` `idc` or absent with client credentials):
 *   `POST {tokenEndpoint}` JSON `{grantType:"refresh_token", refreshToken, clientId, clientSecret}` ->
 *   `{accessToken, expiresIn, refreshToken?}`;
 * - Kiro social login (Google / GitHub; `other.authType === "social"` or no client credentials):
 *   `POST {kiroRefreshEndpoint}` JSON `{refreshToken}` -> `{accessToken, refreshToken?, expiresIn, profileArn?}`.
 *   This call is not publicly documented: the wire format is what Kiro's desktop auth service is observed to
 *   use, so a change on Kiro's side may need this file to follow.
 * `expiresIn` becomes `expiresAt`; a rotated refresh token is returned; a dead refresh token is
 * `invalid_grant` (the account needs a new login, so the pool disables it); a refused client ID or secret
 * (`invalid_client`, `unauthorized_client`) is `auth`: a configuration error an admin fixes by correcting
 * the client credentials, not a ban, so the account cools down instead of being disabled as dead; 5xx and
 * network trouble are `transient`. It does not store anything (the
 * pool's TokenManager does), and no token or secret ever appears in an error message.
 */
import type { RefreshedTokens, TokenRefresher } from "../accounts/token_source.ts";
import { UpstreamError } from "../errors.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";
import type { Account } from "../store/types.ts";

export interface AmazonQRefresherOptions {
  fetch: typeof fetch;
  /** SSO-OIDC `CreateToken` endpoint, e.g. `https://oidc.us-east-1.amazonaws.com/token`. */
  tokenEndpoint: string;
  /** Kiro social refresh endpoint, e.g. `https://prod.us-east-1.auth.desktop.kiro.dev/refreshToken`. */
  kiroRefreshEndpoint: string;
  now: () => number;
  /** Per-account proxy clients: a refresh leaves through the same proxy as the account's calls. */
  clients?: UpstreamClients;
}

/** The identity endpoints answer quickly; a hung refresh must not hold every request for this account. */
const REFRESH_TIMEOUT_MS = 30_000;

/** OIDC error codes that mean "this account needs a new login". */
const DEAD_GRANT = new Set([
  "invalid_grant",
  "access_denied",
  "expired_token",
]);

/** OIDC error codes that mean "the client ID or secret stored with the account is wrong". */
const BAD_CLIENT = new Set(["invalid_client", "unauthorized_client"]);

const UA = "aws-sdk-rust/1.3.9 os/macos lang/rust/1.87.0";
const AMZ_UA =
  "aws-sdk-rust/1.3.9 ua/2.1 api/ssooidc/1.88.0 os/macos lang/rust/1.87.0 m/E app/AmazonQ-For-CLI";

function errorCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const code = parsed.error ?? parsed.__type ?? parsed.code;
    if (typeof code === "string") return code.replace(/^.*[#:]/, "");
  } catch {
    // not JSON: fall through to the substring checks below
  }
  return /invalid_grant/i.test(body) ? "invalid_grant" : undefined;
}

export class AmazonQRefresher implements TokenRefresher {
  readonly #fetch: typeof fetch;
  readonly #tokenEndpoint: string;
  readonly #kiroEndpoint: string;
  readonly #now: () => number;
  readonly #clients: UpstreamClients | undefined;

  constructor(options: AmazonQRefresherOptions) {
    this.#fetch = options.fetch;
    this.#clients = options.clients;
    this.#tokenEndpoint = options.tokenEndpoint;
    this.#kiroEndpoint = options.kiroRefreshEndpoint;
    this.#now = options.now;
  }

  /** True when the account refreshes through Kiro's social-login service instead of SSO-OIDC. */
  static isSocial(account: Pick<Account, "clientId" | "clientSecret" | "other">): boolean {
    return account.other.authType === "social" || !account.clientId || !account.clientSecret;
  }

  async refresh(account: Account, signal?: AbortSignal): Promise<RefreshedTokens> {
    if (!account.refreshToken) {
      throw new UpstreamError("invalid_grant", "account has no refresh token; log in again", {
        provider: "amazonq",
      });
    }
    const social = AmazonQRefresher.isSocial(account);
    const url = social ? this.#kiroEndpoint : this.#tokenEndpoint;
    const body = social ? { refreshToken: account.refreshToken } : {
      grantType: "refresh_token",
      refreshToken: account.refreshToken,
      clientId: account.clientId,
      clientSecret: account.clientSecret,
    };
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "accept": "application/json",
    };
    if (!social) {
      headers["user-agent"] = UA;
      headers["x-amz-user-agent"] = AMZ_UA;
      headers["amz-sdk-request"] = "attempt=1; max=1";
      headers["amz-sdk-invocation-id"] = crypto.randomUUID();
    }
    const timeout = AbortSignal.timeout(REFRESH_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const flavour = social ? "Kiro" : "AWS SSO-OIDC";

    let response: Response;
    let text: string;
    try {
      // No redirects: the refresh token must go only where it was configured to go.
      response = await upstreamCall(url, { method: "POST", headers, body: JSON.stringify(body) }, {
        fetch: this.#fetch,
        provider: "amazonq",
        signal: combined,
        client: this.#clients?.forAccount(account),
      });
      text = await response.text();
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      const why = timeout.aborted
        ? "timed out"
        : cause instanceof UpstreamError
        ? cause.message
        : "network error";
      throw new UpstreamError("transient", `${flavour} token refresh failed: ${why}`, {
        provider: "amazonq",
        cause,
      });
    }

    if (!response.ok) {
      const status = response.status;
      const code = errorCode(text);
      const label = `${flavour} token refresh failed with HTTP ${status}${code ? ` (${code})` : ""}`;
      const base = { provider: "amazonq", upstreamStatus: status };
      if (code && DEAD_GRANT.has(code)) throw new UpstreamError("invalid_grant", label, base);
      if (code && BAD_CLIENT.has(code)) {
        throw new UpstreamError(
          "auth",
          `${label}: the client ID or client secret was refused; correct them on the account`,
          base,
        );
      }
      // Kiro's refresh service answers a dead social refresh token with 401/403 rather than an OIDC code.
      if (social && (status === 401 || status === 403)) throw new UpstreamError("invalid_grant", label, base);
      if (status === 429) throw new UpstreamError("throttled", label, base);
      if (status >= 500) throw new UpstreamError("transient", label, base);
      throw new UpstreamError("auth", label, base);
    }

    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UpstreamError("transient", `${flavour} token refresh returned a body that is not JSON`, {
        provider: "amazonq",
        upstreamStatus: response.status,
      });
    }
    const accessToken = parsed.accessToken ?? parsed.access_token;
    if (typeof accessToken !== "string" || accessToken.length === 0) {
      throw new UpstreamError("transient", `${flavour} token refresh returned no access token`, {
        provider: "amazonq",
        upstreamStatus: response.status,
      });
    }
    const result: RefreshedTokens = { accessToken, expiresAt: this.#expiry(parsed) };
    const rotated = parsed.refreshToken ?? parsed.refresh_token;
    if (typeof rotated === "string" && rotated.length > 0 && rotated !== account.refreshToken) {
      result.refreshToken = rotated;
    }
    if (typeof parsed.profileArn === "string" && parsed.profileArn.length > 0) {
      result.otherPatch = { profileArn: parsed.profileArn };
    }
    return result;
  }

  #expiry(parsed: Record<string, unknown>): number | null {
    const expiresIn = parsed.expiresIn ?? parsed.expires_in;
    if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0) {
      return this.#now() + expiresIn * 1000;
    }
    if (typeof parsed.expiresAt === "string") {
      const at = Date.parse(parsed.expiresAt);
      if (!Number.isNaN(at)) return at;
    }
    return null;
  }
}
