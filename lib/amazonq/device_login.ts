/**
 * `DeviceLogin`: the AWS SSO-OIDC device-authorization ("URL login") flow for new Amazon Q accounts.
 *
 * `POST /client/register` -> `POST /device_authorization` -> the user approves at
 * `verificationUriComplete` -> `POST /token` with the device-code grant. It never blocks in a polling loop: `start()` returns a session record and `poll()` makes exactly one token
 * request, so the caller (an admin route or job) schedules polls at `session.interval` and can persist the
 * session between them. `slow_down` is honoured as RFC 8628 asks (interval + 5 s).
 * No secrets in error messages; no storage here.
 */
import type { NewAccount } from "../store/types.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";

export interface DeviceLoginOptions {
  fetch: typeof fetch;
  /** `https://oidc.us-east-1.amazonaws.com` (no trailing path). */
  oidcEndpoint: string;
  /** `https://view.awsapps.com/start` for Builder ID, or an Identity Center start URL. */
  startUrl: string;
  now: () => number;
}

export interface DeviceLoginSession {
  clientId: string;
  clientSecret: string;
  /** When the client registration expires (epoch ms), if the endpoint said. */
  clientSecretExpiresAt: number | null;
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  /** Seconds between polls. */
  interval: number;
  /** When the device code expires (epoch ms). */
  expiresAt: number;
}

export interface DeviceLoginTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms, or null when the endpoint gave no lifetime. */
  expiresAt: number | null;
}

export type DeviceLoginPoll =
  | { status: "pending" }
  | { status: "slow_down"; interval: number }
  | { status: "completed"; tokens: DeviceLoginTokens }
  | { status: "expired" }
  | { status: "error"; message: string; retryable: boolean };

const CLIENT_NAME = "Amazon Q Developer for command line";
const SCOPES = ["codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"];
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.5: on `slow_down`, add 5 seconds to the polling interval. */
const SLOW_DOWN_STEP = 5;
const TIMEOUT_MS = 30_000;

export class DeviceLogin {
  readonly #fetch: typeof fetch;
  readonly #base: string;
  readonly #startUrl: string;
  readonly #now: () => number;

  constructor(options: DeviceLoginOptions) {
    this.#fetch = options.fetch;
    this.#base = options.oidcEndpoint.replace(/\/+$/, "");
    this.#startUrl = options.startUrl;
    this.#now = options.now;
  }

  /** Registers a client and starts a device authorization. Throws an Error with a clear message on failure. */
  async start(signal?: AbortSignal): Promise<DeviceLoginSession> {
    const registration = await this.#post("/client/register", {
      clientName: CLIENT_NAME,
      clientType: "public",
      scopes: SCOPES,
    }, signal);
    if (!registration.ok) throw new Error(`OIDC client registration failed: ${registration.problem}`);
    const clientId = registration.body.clientId;
    const clientSecret = registration.body.clientSecret;
    if (typeof clientId !== "string" || typeof clientSecret !== "string") {
      throw new Error("OIDC client registration returned no client credentials");
    }
    const device = await this.#post("/device_authorization", {
      clientId,
      clientSecret,
      startUrl: this.#startUrl,
    }, signal);
    if (!device.ok) throw new Error(`OIDC device authorization failed: ${device.problem}`);
    const d = device.body;
    if (typeof d.deviceCode !== "string" || typeof d.userCode !== "string") {
      throw new Error("OIDC device authorization returned no device code");
    }
    const verificationUri = typeof d.verificationUri === "string" ? d.verificationUri : "";
    const expiresIn = typeof d.expiresIn === "number" && d.expiresIn > 0 ? d.expiresIn : 600;
    const secretExpiry = registration.body.clientSecretExpiresAt;
    return {
      clientId,
      clientSecret,
      // RegisterClient reports epoch seconds.
      clientSecretExpiresAt: typeof secretExpiry === "number" ? secretExpiry * 1000 : null,
      deviceCode: d.deviceCode,
      userCode: d.userCode,
      verificationUri,
      verificationUriComplete: typeof d.verificationUriComplete === "string"
        ? d.verificationUriComplete
        : `${verificationUri}?user_code=${encodeURIComponent(d.userCode)}`,
      interval: typeof d.interval === "number" && d.interval > 0 ? d.interval : 1,
      expiresAt: this.#now() + expiresIn * 1000,
    };
  }

  /** One token poll. Never sleeps; the caller waits `session.interval` (or the returned one) between polls. */
  async poll(session: DeviceLoginSession, signal?: AbortSignal): Promise<DeviceLoginPoll> {
    if (this.#now() >= session.expiresAt) return { status: "expired" };
    const answer = await this.#post("/token", {
      clientId: session.clientId,
      clientSecret: session.clientSecret,
      deviceCode: session.deviceCode,
      grantType: DEVICE_GRANT,
    }, signal);
    if (answer.ok) {
      const { accessToken, refreshToken, expiresIn } = answer.body;
      if (typeof accessToken !== "string" || typeof refreshToken !== "string") {
        return {
          status: "error",
          message: "OIDC token answer had no access or refresh token",
          retryable: false,
        };
      }
      return {
        status: "completed",
        tokens: {
          accessToken,
          refreshToken,
          expiresAt: typeof expiresIn === "number" ? this.#now() + expiresIn * 1000 : null,
        },
      };
    }
    switch (answer.code) {
      case "authorization_pending":
        return { status: "pending" };
      case "slow_down":
        return { status: "slow_down", interval: session.interval + SLOW_DOWN_STEP };
      case "expired_token":
        return { status: "expired" };
      case "access_denied":
        return { status: "error", message: "the login was denied by the user", retryable: false };
    }
    const retryable = answer.status === undefined || answer.status >= 500 || answer.status === 429;
    return { status: "error", message: `OIDC token poll failed: ${answer.problem}`, retryable };
  }

  /** The account a completed login creates. */
  static account(session: DeviceLoginSession, tokens: DeviceLoginTokens, label?: string): NewAccount {
    const other: Record<string, unknown> = { authType: "idc", provider: "BuilderId" };
    if (session.clientSecretExpiresAt !== null) other.clientSecretExpiresAt = session.clientSecretExpiresAt;
    return {
      type: "amazonq",
      label: label ?? null,
      clientId: session.clientId,
      clientSecret: session.clientSecret,
      refreshToken: tokens.refreshToken,
      accessToken: tokens.accessToken,
      tokenExpiresAt: tokens.expiresAt,
      other,
    };
  }

  async #post(
    path: string,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<
    | { ok: true; body: Record<string, unknown> }
    | { ok: false; status?: number; code?: string; problem: string }
  > {
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    let response: Response;
    let text: string;
    try {
      response = await upstreamCall(`${this.#base}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "aws-sdk-rust/1.3.9 os/macos lang/rust/1.87.0",
          "x-amz-user-agent":
            "aws-sdk-rust/1.3.9 ua/2.1 api/ssooidc/1.88.0 os/macos lang/rust/1.87.0 m/E app/AmazonQ-For-CLI",
          "amz-sdk-request": "attempt=1; max=3",
          "amz-sdk-invocation-id": crypto.randomUUID(),
        },
        body: JSON.stringify(body),
      }, {
        fetch: this.#fetch,
        provider: "amazonq-oidc",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch {
      if (signal?.aborted) throw signal.reason;
      return { ok: false, problem: timeout.aborted ? "timed out" : "network error" };
    }
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === "object") parsed = value as Record<string, unknown>;
    } catch {
      // a non-JSON body: described by its status below
    }
    if (response.ok) return { ok: true, body: parsed };
    const code = typeof parsed.error === "string" ? parsed.error : undefined;
    const description = typeof parsed.error_description === "string"
      ? `: ${parsed.error_description.slice(0, 200)}`
      : "";
    return {
      ok: false,
      status: response.status,
      code,
      problem: `HTTP ${response.status}${code ? ` ${code}` : ""}${description}`,
    };
  }
}
