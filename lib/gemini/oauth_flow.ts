/**
 * `GeminiOAuthFlow`: the Google sign-in behind the Gemini donation page, from authorize URL to a new account.
 *
 * `begin` makes an authorize URL with a random single-use `state` (expiring after 10 minutes) and PKCE (S256),
 * `access_type=offline` and `prompt=consent` so Google hands out a refresh token. `complete` checks the state
 * (unknown, reused and expired states are refused), exchanges the code with its verifier, requires a refresh
 * token, discovers (or onboards) the Code Assist project, reads the quota (a failure there is tolerated) and
 * returns the `NewAccount` to store: Google's installed-app OAuth with PKCE, a server-issued state, a
 * configurable client and redirect, and the Code Assist project kept on the account.
 *
 * Pending states wait in the given store (the server passes its database, so any instance can finish a
 * sign-in), each client address keeping at most a few (`SignInsPerAddress`): the begin route is public. The
 * OAuth client, scopes and endpoints come from configuration, never from code. It does not store anything:
 * the route decides between insert and update. Failures are `ApiError`s with a status the route can send.
 */
import type { Config } from "../config.ts";
import { MemoryPendingSignIns, type PendingSignIn, type PendingSignInStore } from "./pending_sign_ins.ts";
import { SignInsPerAddress } from "./sign_ins_per_address.ts";
import { ApiError, UpstreamError } from "../errors.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import type { NewAccount } from "../store/types.ts";
import type { CodeAssistClient, ModelQuota } from "./code_assist_client.ts";

export interface GeminiOAuthFlowOptions {
  fetch: typeof fetch;
  config: Config["gemini"];
  codeAssist: Pick<CodeAssistClient, "discoverProject" | "fetchAvailableModels">;
  now: () => number;
  randomBytes?: (length: number) => Uint8Array;
  /** How long a `state` stays valid (default 10 minutes). */
  stateTtlMs?: number;
  /** Pending states kept at most; the oldest is dropped beyond it (the begin route is public). */
  maxPending?: number;
  /** Where pending sign-ins wait (default: this instance's memory; the server passes the store). */
  states?: PendingSignInStore;
  /** Pending sign-ins one client address may keep; its oldest gives way beyond it (default 5). */
  maxPendingPerAddress?: number;
}

export interface OAuthStart {
  authorizeUrl: string;
  state: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
}

export interface OAuthCompletion {
  code: string;
  state: string;
  /** When given, must match the redirect URI the state was issued for. */
  redirectUri?: string;
}

type PendingState = PendingSignIn;

const DEFAULT_STATE_TTL_MS = 10 * 60_000;
const DEFAULT_MAX_PENDING = 1000;
const DEFAULT_MAX_PENDING_PER_ADDRESS = 5;

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The email claim of the id_token the token endpoint returned (straight from Google over TLS). */
function emailFromIdToken(idToken: unknown): string | undefined {
  if (typeof idToken !== "string") return undefined;
  const payload = idToken.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(
      payload.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (payload.length % 4)) % 4),
    );
    const claims = JSON.parse(json) as { email?: unknown; email_verified?: unknown };
    if (typeof claims.email !== "string" || claims.email_verified === false) return undefined;
    return claims.email.toLowerCase();
  } catch {
    return undefined;
  }
}

function timestampLabel(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-06-01T12:34:56.789Z
  return `Gemini-${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}

export class GeminiOAuthFlow {
  #options: GeminiOAuthFlowOptions;
  #states: PendingSignInStore;

  constructor(options: GeminiOAuthFlowOptions) {
    this.#options = options;
    this.#states = new SignInsPerAddress(
      options.states ?? new MemoryPendingSignIns(options.maxPending ?? DEFAULT_MAX_PENDING),
      options.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS,
    );
  }

  /** True when an OAuth client is configured (the donation page checks this first). */
  get configured(): boolean {
    return Boolean(this.#options.config.clientId && this.#options.config.clientSecret);
  }

  #random(length: number): Uint8Array {
    return this.#options.randomBytes?.(length) ?? crypto.getRandomValues(new Uint8Array(length));
  }

  /**
   * Starts a sign-in: the URL to send the user to, with a fresh state bound to `redirectUri`. `owner` is the
   * client address, so one address cannot hold more than its share of the pending sign-ins.
   */
  async begin(redirectUri: string = this.#options.config.redirectUri, owner?: string): Promise<OAuthStart> {
    const { config } = this.#options;
    if (!config.clientId || !config.clientSecret) {
      throw new ApiError("api_error", "Gemini OAuth is not configured on this server", { status: 503 });
    }
    const now = this.#options.now();
    const state = hex(this.#random(32));
    const verifier = base64Url(this.#random(32));
    const challenge = base64Url(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
    );
    const expiresAt = now + (this.#options.stateTtlMs ?? DEFAULT_STATE_TTL_MS);
    const pending: PendingSignIn = { verifier, redirectUri, expiresAt };
    if (owner !== undefined) pending.owner = owner;
    if (!(await this.#states.put(state, pending, now))) {
      throw new ApiError(
        "overloaded_error",
        "Too many sign-ins are in progress; try again in a few minutes",
        {
          status: 503,
          retryAfterSeconds: 60,
        },
      );
    }
    const url = new URL(config.authEndpoint);
    url.search = new URLSearchParams({
      client_id: config.clientId,
      redirect_uri: redirectUri,
      response_type: "code",
      scope: config.scopes.join(" "),
      access_type: "offline",
      prompt: "consent",
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    }).toString();
    return { authorizeUrl: url.toString(), state, clientId: config.clientId, redirectUri, expiresAt };
  }

  /** Finishes a sign-in: verifies the state, exchanges the code and builds the account to store. */
  async complete(input: OAuthCompletion, signal?: AbortSignal): Promise<NewAccount> {
    const { config } = this.#options;
    if (!config.clientId || !config.clientSecret) {
      throw new ApiError("api_error", "Gemini OAuth is not configured on this server", { status: 503 });
    }
    // Single use: the state is spent whatever happens next.
    const pending = await this.#states.take(input.state);
    if (!pending) {
      throw new ApiError(
        "invalid_request_error",
        "Unknown or already used OAuth state; start the sign-in again",
      );
    }
    const now = this.#options.now();
    if (pending.expiresAt <= now) {
      throw new ApiError("invalid_request_error", "The OAuth state has expired; start the sign-in again");
    }
    if (input.redirectUri !== undefined && input.redirectUri !== pending.redirectUri) {
      throw new ApiError("invalid_request_error", "The OAuth state was issued for another redirect URI");
    }
    const tokens = await this.#exchange(input.code, pending, signal);
    tokens.email ??= await this.#userEmail(tokens.accessToken, signal);
    const project = await this.#discoverProject(tokens.accessToken, signal);
    const quota = await this.#quota(tokens.accessToken, project, signal);
    const other: Record<string, unknown> = {
      project,
      api_endpoint: config.apiEndpoint,
      quota,
      quota_updated_at: quota ? new Date(now).toISOString() : null,
    };
    if (tokens.email) other.email = tokens.email;
    return {
      type: "gemini",
      label: timestampLabel(now),
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      refreshToken: tokens.refreshToken,
      accessToken: tokens.accessToken,
      tokenExpiresAt: now + tokens.expiresIn * 1000,
      other: { ...other, quota: quota ?? {} },
      enabled: true,
    };
  }

  async #exchange(
    code: string,
    pending: PendingState,
    signal?: AbortSignal,
  ): Promise<{ accessToken: string; refreshToken: string; expiresIn: number; email?: string }> {
    const { config } = this.#options;
    let response: Response;
    try {
      response = await upstreamCall(config.tokenEndpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "accept": "application/json" },
        body: new URLSearchParams({
          client_id: config.clientId ?? "",
          client_secret: config.clientSecret ?? "",
          code,
          code_verifier: pending.verifier,
          grant_type: "authorization_code",
          redirect_uri: pending.redirectUri,
        }),
      }, { fetch: this.#options.fetch, provider: "google-oauth", signal });
    } catch (cause) {
      throw new ApiError("api_error", "Could not reach Google to exchange the authorization code", {
        status: 502,
        cause,
      });
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(await response.text());
      if (parsed && typeof parsed === "object") body = parsed;
    } catch {
      // classified by status below
    }
    if (!response.ok) {
      const reason = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
      if (response.status >= 500) {
        throw new ApiError("api_error", `Google failed to exchange the authorization code (${reason})`, {
          status: 502,
        });
      }
      throw new ApiError(
        "invalid_request_error",
        `Google refused the authorization code (${reason}); sign in again`,
      );
    }
    if (typeof body.access_token !== "string" || !body.access_token) {
      throw new ApiError("api_error", "Google's token response has no access token", { status: 502 });
    }
    if (typeof body.refresh_token !== "string" || !body.refresh_token) {
      throw new ApiError(
        "invalid_request_error",
        "Google returned no refresh token. Remove this app's access at https://myaccount.google.com/permissions and sign in again.",
      );
    }
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3599;
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      expiresIn,
      email: emailFromIdToken(body.id_token),
    };
  }

  async #discoverProject(accessToken: string, signal?: AbortSignal): Promise<string> {
    try {
      return await this.#options.codeAssist.discoverProject(
        accessToken,
        this.#options.config.apiEndpoint,
        signal,
      );
    } catch (error) {
      if (
        error instanceof UpstreamError &&
        (error.kind === "client" || error.kind === "suspended" || error.kind === "auth")
      ) {
        throw new ApiError(
          "invalid_request_error",
          `This Google account cannot use Code Assist: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      throw new ApiError("api_error", "Could not look up the Code Assist project; try again later", {
        status: 502,
        cause: error,
      });
    }
  }

  /** The donor's e-mail from the userinfo endpoint; undefined when it cannot be read (it is only for de-duplication). */
  async #userEmail(accessToken: string, signal?: AbortSignal): Promise<string | undefined> {
    const endpoint = this.#options.config.userinfoEndpoint;
    if (!endpoint) return undefined;
    try {
      const response = await upstreamCall(endpoint, {
        method: "GET",
        headers: { authorization: `Bearer ${accessToken}` },
      }, {
        fetch: this.#options.fetch,
        provider: "google-oauth",
        signal,
        timeouts: { headersMs: 10_000, totalMs: 10_000 },
      });
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const body = await response.json() as { email?: unknown; verified_email?: unknown };
      if (typeof body.email !== "string" || body.verified_email === false) return undefined;
      return body.email.toLowerCase();
    } catch {
      return undefined;
    }
  }

  async #quota(
    accessToken: string,
    project: string,
    signal?: AbortSignal,
  ): Promise<Record<string, ModelQuota> | null> {
    try {
      return await this.#options.codeAssist.fetchAvailableModels(
        accessToken,
        this.#options.config.apiEndpoint,
        project,
        signal,
      );
    } catch {
      // Quota is informative only; the account works without it.
      return null;
    }
  }
}
