/**
 * Configuration from environment variables, parsed once into a frozen `Config`.
 *
 * `parseConfig(get)` is pure: `main.ts` hands it a getter over `Deno.env` (variables are read one by one, so
 * a scoped `--allow-env` list works). A bad value throws `ConfigError` with a one-line message naming the
 * variable, before anything listens. The established names are kept (`PORT`, `API_KEY`,
 * `AMAZONQ_*`, `GEMINI_DONATE_*`, `BASE_URL`); settings an operator edits at run time (accounts, model
 * mapping, client keys) live in the store, not here.
 */
import { isIP } from "node:net";
import { ConfigError } from "./errors.ts";
import { proxySetting } from "./upstream/proxy_setting.ts";

export interface Config {
  readonly host: string;
  readonly port: number;
  /** `sqlite:<path>`, `sqlite::memory:` or `mysql://user:pass@host:port/db`. */
  readonly databaseUrl: string;
  readonly dataDir: string;
  /** Keys from `API_KEY` (comma-separated); more live hashed in the store. */
  readonly apiKeys: readonly string[];
  readonly adminUsername: string | undefined;
  readonly adminPassword: string | undefined;
  readonly bodyLimitBytes: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /**
   * Reverse proxies in front of the server whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed: 0 (the
   * socket's address is the client), or how many appending proxies stand in front (`TRUST_PROXY=true` is 1).
   */
  readonly trustProxy: number;
  /**
   * `TRUSTED_PROXIES`: addresses or CIDRs of the proxies. When set, forwarding headers are honoured only from
   * a socket peer in the list, and `X-Forwarded-For` is walked from the right past every listed hop.
   */
  readonly trustedProxies: readonly string[];
  readonly baseUrl: string | undefined;
  readonly shutdownDrainMs: number;
  /** A new connection must deliver its first request's headers within this time, or it is closed. */
  readonly headersTimeoutMs: number;
  /** A keep-alive connection with nothing in flight is closed after this time. */
  readonly idleTimeoutMs: number;
  /** Open connections per client address (0 = no cap). */
  readonly maxConnectionsPerIp: number;
  /** Open connections in total (0 = no cap; running out of descriptors is survived either way). */
  readonly maxConnections: number;
  /** Until an upstream's response headers arrive. */
  readonly upstreamTimeoutMs: number;
  /** Between upstream body bytes once streaming. */
  readonly upstreamIdleTimeoutMs: number;
  /** The whole of one upstream call, body included. */
  readonly upstreamTotalTimeoutMs: number;
  /** `UPSTREAM_PROXY`: the default proxy of upstream calls and refreshes (an account's own `proxy` wins). */
  readonly upstreamProxy: string | undefined;
  readonly maxFailoverAttempts: number;
  /** How stale cached accounts, routing config and client keys may be after another instance wrote them. */
  readonly cacheStalenessMs: number;
  /** How long a request may wait for a slot of its client key's `max_concurrency` before a 429. */
  readonly keyQueueTimeoutMs: number;
  readonly autoRefresh: boolean;
  /** Refresh tokens that expire within this many ms. */
  readonly refreshLeadMs: number;
  readonly refreshCron: string;
  /** Simulate Anthropic's prompt cache for upstreams that report no cache numbers (`ENABLE_CACHE_SIMULATION`). */
  readonly cacheSimulation: boolean;
  /** Most prompt-cache entries kept in the store (`CACHE_SIMULATION_MAX_ENTRIES`). */
  readonly cacheMaxEntries: number;
  /** Days raw usage records are kept before only their hourly aggregates remain. */
  readonly usageRetentionDays: number;

  /** `METRICS_TOKEN`: bearer token for `/metrics`; without it only loopback clients may scrape. */
  readonly metricsToken: string | undefined;
  /** `OTEL_DENO=true`: Deno exports OpenTelemetry, so the server adds its own spans. */
  readonly tracing: boolean;
  /** `ALERT_WEBHOOK_URL`: where alerts are POSTed (comma-separated). */
  readonly alertWebhookUrls: readonly string[];
  /** Consecutive failed token refreshes of one account before it alerts. */
  readonly alertRefreshFailures: number;
  /** When the health probe of resting and disabled accounts runs. */
  readonly probeCron: string;
  readonly amazonq: {
    readonly refreshToken: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly profileArn: string | undefined;
    readonly apiEndpoint: string;
    readonly tokenEndpoint: string;
    /** Base of the SSO-OIDC API for device login (`/client/register`, `/device_authorization`). */
    readonly oidcEndpoint: string;
    readonly kiroRefreshEndpoint: string;
    readonly startUrl: string;
  };
  readonly gemini: {
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly tokenEndpoint: string;
    readonly authEndpoint: string;
    readonly apiEndpoint: string;
    readonly scopes: readonly string[];
    readonly userAgent: string;
    /** Redirect URI registered with the OAuth client (paste-back flow). */
    readonly redirectUri: string;
    /** Google's userinfo endpoint: the donor's e-mail when the token answer has no id_token (de-duplication). */
    readonly userinfoEndpoint: string;
  };
}

export type EnvGetter = (name: string) => string | undefined;

/** Every variable the server reads (for docs and a scoped `--allow-env`). */
export const CONFIG_VARIABLES = [
  "HOST",
  "PORT",
  "DATABASE_URL",
  "DATA_DIR",
  "API_KEY",
  "ADMIN_USERNAME",
  "ADMIN_PASSWORD",
  "BODY_LIMIT_MB",
  "LOG_LEVEL",
  "TRUST_PROXY",
  "TRUSTED_PROXIES",
  "BASE_URL",
  "SHUTDOWN_DRAIN_SECONDS",
  "HEADERS_TIMEOUT_SECONDS",
  "IDLE_TIMEOUT_SECONDS",
  "MAX_CONNECTIONS_PER_IP",
  "MAX_CONNECTIONS",
  "UPSTREAM_TIMEOUT_SECONDS",
  "UPSTREAM_IDLE_TIMEOUT_SECONDS",
  "UPSTREAM_TOTAL_TIMEOUT_SECONDS",
  "UPSTREAM_PROXY",
  "MAX_FAILOVER_ATTEMPTS",
  "CACHE_STALENESS_MS",
  "KEY_QUEUE_TIMEOUT_SECONDS",
  "ENABLE_AUTO_REFRESH",
  "REFRESH_LEAD_MINUTES",
  "REFRESH_CRON",
  "ENABLE_CACHE_SIMULATION",
  "CACHE_SIMULATION_MAX_ENTRIES",
  "USAGE_RETENTION_DAYS",

  "METRICS_TOKEN",
  "OTEL_DENO",
  "ALERT_WEBHOOK_URL",
  "ALERT_REFRESH_FAILURES",
  "PROBE_CRON",
  "AMAZONQ_REFRESH_TOKEN",
  "AMAZONQ_CLIENT_ID",
  "AMAZONQ_CLIENT_SECRET",
  "AMAZONQ_PROFILE_ARN",
  "AMAZONQ_API_ENDPOINT",
  "AMAZONQ_TOKEN_ENDPOINT",
  "AMAZONQ_OIDC_ENDPOINT",
  "AMAZONQ_START_URL",
  "KIRO_REFRESH_ENDPOINT",
  "GEMINI_CLIENT_ID",
  "GEMINI_CLIENT_SECRET",
  "GEMINI_DONATE_CLIENT_ID",
  "GEMINI_DONATE_CLIENT_SECRET",
  "GEMINI_TOKEN_ENDPOINT",
  "GEMINI_AUTH_ENDPOINT",
  "GEMINI_API_ENDPOINT",
  "GEMINI_SCOPES",
  "GEMINI_USER_AGENT",
  "GEMINI_REDIRECT_URI",
  "GEMINI_USERINFO_ENDPOINT",
] as const;

class Reader {
  constructor(private readonly get: EnvGetter) {}

  str(name: string): string | undefined {
    const value = this.get(name)?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) {
      throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  }

  url(name: string, fallback: string): string {
    const raw = this.str(name) ?? fallback;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
    }
    // Credentials in a URL end up wherever URLs are shown (logs, errors); the value itself is not echoed.
    if (parsed.username !== "" || parsed.password !== "") {
      throw new ConfigError(`${name} must not carry credentials (user:password@)`);
    }
    return raw;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      throw new ConfigError(`${name} must be one of ${values.join(", ")}, got "${raw}"`);
    }
    return raw as T;
  }
}

const DEFAULT_GEMINI_SCOPES = [
  "https://www.googleapis.com/auth/cloud-platform",
  "https://www.googleapis.com/auth/userinfo.email",
  "https://www.googleapis.com/auth/userinfo.profile",
];

/** Parses and validates the environment; throws `ConfigError` naming the first bad variable. */
export function parseConfig(get: EnvGetter): Config {
  const r = new Reader(get);
  const host = r.str("HOST") ?? "127.0.0.1";
  const port = r.int("PORT", 8080, 0, 65535);
  const dataDir = r.str("DATA_DIR") ?? "./data";
  const databaseUrl = r.str("DATABASE_URL") ?? `sqlite:${dataDir.replace(/\/+$/, "")}/amq2api.db`;
  if (!/^(sqlite:.+|mysql:\/\/.+)$/.test(databaseUrl)) {
    throw new ConfigError(
      `DATABASE_URL must be sqlite:<path> or mysql://user:pass@host/db, got "${databaseUrl}"`,
    );
  }
  const apiKeys = (r.str("API_KEY") ?? "").split(",").map((k) => k.trim()).filter((k) => k.length > 0);
  for (const key of apiKeys) {
    if (key.length < 8) throw new ConfigError("API_KEY entries must be at least 8 characters long");
  }
  const adminUsername = r.str("ADMIN_USERNAME");
  const adminPassword = r.str("ADMIN_PASSWORD");
  if ((adminUsername === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError("ADMIN_USERNAME and ADMIN_PASSWORD must be set together");
  }
  if (adminUsername !== undefined && (adminUsername.length < 3 || adminUsername.length > 50)) {
    throw new ConfigError("ADMIN_USERNAME must be 3 to 50 characters long");
  }
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError("ADMIN_PASSWORD must be at least 8 characters long");
  }
  const refreshCron = r.str("REFRESH_CRON") ?? "*/5 * * * *";
  if (refreshCron.split(/\s+/).length !== 5) {
    throw new ConfigError(`REFRESH_CRON must be a 5-field cron expression, got "${refreshCron}"`);
  }
  const baseUrl = r.str("BASE_URL") === undefined ? undefined : r.url("BASE_URL", "");
  const trustedProxies = (r.str("TRUSTED_PROXIES") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  for (const entry of trustedProxies) {
    if (!isProxyEntry(entry)) {
      throw new ConfigError(`TRUSTED_PROXIES entries must be IP addresses or CIDRs, got "${entry}"`);
    }
  }
  const probeCron = r.str("PROBE_CRON") ?? "*/5 * * * *";
  if (probeCron.split(/\s+/).length !== 5) {
    throw new ConfigError(`PROBE_CRON must be a 5-field cron expression, got "${probeCron}"`);
  }
  const alertWebhookUrls = (r.str("ALERT_WEBHOOK_URL") ?? "").split(",").map((u) => u.trim()).filter(Boolean)
    .map((url) =>
      new Reader((name) => name === "ALERT_WEBHOOK_URL" ? url : undefined).url("ALERT_WEBHOOK_URL", "")
    );
  const metricsToken = r.str("METRICS_TOKEN");
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError("METRICS_TOKEN must be at least 16 characters long");
  }
  const upstreamProxy = r.str("UPSTREAM_PROXY");
  if (upstreamProxy !== undefined) {
    const setting = proxySetting(upstreamProxy);
    if ("problem" in setting) throw new ConfigError(`UPSTREAM_PROXY ${setting.problem}`);
  }
  const oidcEndpoint = r.url("AMAZONQ_OIDC_ENDPOINT", "https://oidc.us-east-1.amazonaws.com");
  const config: Config = {
    host,
    port,
    databaseUrl,
    dataDir,
    apiKeys,
    adminUsername,
    adminPassword,
    bodyLimitBytes: r.int("BODY_LIMIT_MB", 64, 1, 1024) * 1024 * 1024,
    logLevel: r.oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
    trustProxy: trustProxyHops(r.str("TRUST_PROXY")),
    trustedProxies,
    baseUrl,
    shutdownDrainMs: r.int("SHUTDOWN_DRAIN_SECONDS", 20, 0, 3600) * 1000,
    headersTimeoutMs: r.int("HEADERS_TIMEOUT_SECONDS", 30, 1, 3600) * 1000,
    idleTimeoutMs: r.int("IDLE_TIMEOUT_SECONDS", 60, 1, 3600) * 1000,
    maxConnectionsPerIp: r.int("MAX_CONNECTIONS_PER_IP", 256, 0, 1_000_000),
    maxConnections: r.int("MAX_CONNECTIONS", 0, 0, 1_000_000),
    upstreamTimeoutMs: r.int("UPSTREAM_TIMEOUT_SECONDS", 300, 5, 3600) * 1000,
    upstreamIdleTimeoutMs: r.int("UPSTREAM_IDLE_TIMEOUT_SECONDS", 120, 5, 3600) * 1000,
    upstreamTotalTimeoutMs: r.int("UPSTREAM_TOTAL_TIMEOUT_SECONDS", 3600, 5, 24 * 3600) * 1000,
    upstreamProxy,
    maxFailoverAttempts: r.int("MAX_FAILOVER_ATTEMPTS", 3, 1, 20),
    cacheStalenessMs: r.int("CACHE_STALENESS_MS", 1000, 0, 60_000),
    keyQueueTimeoutMs: r.int("KEY_QUEUE_TIMEOUT_SECONDS", 30, 0, 600) * 1000,
    autoRefresh: r.bool("ENABLE_AUTO_REFRESH", true),
    refreshLeadMs: r.int("REFRESH_LEAD_MINUTES", 10, 1, 24 * 60) * 60_000,
    refreshCron,
    cacheSimulation: r.bool("ENABLE_CACHE_SIMULATION", true),
    cacheMaxEntries: r.int("CACHE_SIMULATION_MAX_ENTRIES", 200_000, 100, 10_000_000),
    usageRetentionDays: r.int("USAGE_RETENTION_DAYS", 30, 1, 365),

    metricsToken,
    tracing: r.bool("OTEL_DENO", false),
    alertWebhookUrls,
    alertRefreshFailures: r.int("ALERT_REFRESH_FAILURES", 3, 1, 100),
    probeCron,
    amazonq: {
      refreshToken: r.str("AMAZONQ_REFRESH_TOKEN"),
      clientId: r.str("AMAZONQ_CLIENT_ID"),
      clientSecret: r.str("AMAZONQ_CLIENT_SECRET"),
      profileArn: r.str("AMAZONQ_PROFILE_ARN"),
      apiEndpoint: r.url("AMAZONQ_API_ENDPOINT", "https://q.us-east-1.amazonaws.com/"),
      tokenEndpoint: r.url("AMAZONQ_TOKEN_ENDPOINT", `${oidcEndpoint.replace(/\/+$/, "")}/token`),
      oidcEndpoint,
      kiroRefreshEndpoint: r.url(
        "KIRO_REFRESH_ENDPOINT",
        "https://prod.us-east-1.auth.desktop.kiro.dev/refreshToken",
      ),
      startUrl: r.url("AMAZONQ_START_URL", "https://view.awsapps.com/start"),
    },
    gemini: {
      clientId: r.str("GEMINI_CLIENT_ID") ?? r.str("GEMINI_DONATE_CLIENT_ID"),
      clientSecret: r.str("GEMINI_CLIENT_SECRET") ?? r.str("GEMINI_DONATE_CLIENT_SECRET"),
      tokenEndpoint: r.url("GEMINI_TOKEN_ENDPOINT", "https://oauth2.googleapis.com/token"),
      authEndpoint: r.url("GEMINI_AUTH_ENDPOINT", "https://accounts.google.com/o/oauth2/v2/auth"),
      apiEndpoint: r.url("GEMINI_API_ENDPOINT", "https://daily-cloudcode-pa.sandbox.googleapis.com"),
      scopes: r.str("GEMINI_SCOPES")?.split(/[\s,]+/).filter(Boolean) ?? DEFAULT_GEMINI_SCOPES,
      userAgent: r.str("GEMINI_USER_AGENT") ?? "antigravity/1.11.3 linux/amd64",
      redirectUri: r.url("GEMINI_REDIRECT_URI", "http://localhost:64312/oauth-callback"),
      userinfoEndpoint: r.url("GEMINI_USERINFO_ENDPOINT", "https://www.googleapis.com/oauth2/v2/userinfo"),
    },
  };
  const hasAmazonq = [config.amazonq.refreshToken, config.amazonq.clientId, config.amazonq.clientSecret];
  if (hasAmazonq.some((v) => v !== undefined) && hasAmazonq[0] === undefined) {
    throw new ConfigError(
      "AMAZONQ_REFRESH_TOKEN is required when AMAZONQ_CLIENT_ID or AMAZONQ_CLIENT_SECRET is set",
    );
  }
  return deepFreeze(config);
}

/** `TRUST_PROXY`: a boolean (true = one proxy) or a hop count. */
function trustProxyHops(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const lower = raw.toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return 1;
  if (["0", "false", "no", "off"].includes(lower)) return 0;
  if (/^\d+$/.test(lower) && Number(lower) <= 10) return Number(lower);
  throw new ConfigError(`TRUST_PROXY must be true, false or a hop count from 0 to 10, got "${raw}"`);
}

function isProxyEntry(entry: string): boolean {
  const [address, bits, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
