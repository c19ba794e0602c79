/**
 * The app's typing source: the `Deps` object built once in `main.ts` (and by tests with a `:memory:` store
 * and fake upstream URLs), and Hono's `AppEnv` with the per-request variables.
 */
import type { AccountLifecycle } from "./accounts/account_lifecycle.ts";
import type { AccountPool } from "./accounts/account_pool.ts";
import type { MessageGateway } from "./accounts/message_gateway.ts";
import type { TokenManager } from "./accounts/token_manager.ts";
import type { AdminAuth } from "./admin/admin_auth.ts";
import type { ClientKeyAuth } from "./admin/client_key_auth.ts";
import type { Config } from "./config.ts";
import type { KeyLimits } from "./keys/key_limits.ts";
import type { Logger } from "./log.ts";
import type { AlertMonitor } from "./observability/alert_monitor.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { Tracing } from "./observability/tracing.ts";
import type { RoutingState } from "./routing/routing_state.ts";
import type { Account, Store } from "./store/types.ts";
import type { QuotaFetcher } from "./gemini/quota_refresh_job.ts";
import type { AllowanceFetcher } from "./amazonq/allowance_client.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";
import type { DeviceLoginSessions } from "./amazonq/device_login_sessions.ts";
import type { GeminiOAuthFlow } from "./gemini/oauth_flow.ts";
import type { UsageAccounting } from "./usage/usage_accounting.ts";

/** Tests a custom account's upstream with a tiny request. */
export type AccountTester = (account: Account) => Promise<Record<string, unknown>>;

export interface Deps {
  config: Config;
  store: Store;
  log: Logger;
  now: () => number;
  estimator: TokenEstimator;
  clientKeys: ClientKeyAuth;
  /** Client keys' limits, budgets and concurrency, applied before the gateway. */
  keyLimits: KeyLimits;
  admin: AdminAuth;
  gateway: MessageGateway;
  accounting: UsageAccounting;
  pool: AccountPool;
  lifecycle: AccountLifecycle;
  routing: RoutingState;
  tokens: TokenManager;
  metrics: Metrics;
  /** Present when OpenTelemetry export is on (`OTEL_DENO=true`). */
  tracing?: Tracing;
  alerts: AlertMonitor;
  /** Absolute directory of the web pages (works inside a compiled binary). */
  staticDir: string;
  pingIntervalMs: number;
  /** Aborted when the server shuts down; combined with each request's signal. */
  shutdownSignal: AbortSignal;
  testAccount?: AccountTester;
  /** Reads a Gemini account's per-model quota from Google (used by the quota job). */
  fetchGeminiQuota?: QuotaFetcher;
  /** Amazon Q device-code logins in progress (the `/v2/auth/*` routes). */
  deviceLogins?: DeviceLoginSessions;
  /** How long `/v2/auth/claim/{id}` waits for the user, and the sleep it polls with (tests shorten both). */
  deviceLoginClaim?: { claimWaitMs?: number; sleep?: (ms: number) => Promise<void> };
  /** The Gemini donation sign-in (the `/donate` page and `/api/gemini/*`). */
  geminiOAuth?: GeminiOAuthFlow;
  /** Releases the backends' pooled upstream clients (shutdown). */
  closeBackends?: () => void;
  /** Reads an Amazon Q account's monthly allowance (used by the allowance job). */
  fetchAmazonQAllowance?: AllowanceFetcher;
}

export interface Principal {
  kind: "admin" | "client";
  id: string;
}

export interface AppEnv {
  Bindings: { remoteAddr?: { hostname: string } };
  Variables: {
    requestId: string;
    principal: Principal;
  };
}
