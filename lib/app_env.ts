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
import type { Logger } from "./log.ts";
import type { RoutingState } from "./routing/routing_state.ts";
import type { Account, Store } from "./store/types.ts";
import type { QuotaFetcher } from "./gemini/quota_refresh_job.ts";
import type { AllowanceFetcher } from "./amazonq/allowance_client.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";
import type { Hono } from "hono";

/** Optional extra sub-apps a backend contributes (mounted at the root by `createApp`). */
export type RouteModule = (deps: Deps) => Hono<AppEnv>;

/** Tests a custom account's upstream with a tiny request. */
export type AccountTester = (account: Account) => Promise<Record<string, unknown>>;

export interface Deps {
  config: Config;
  store: Store;
  log: Logger;
  now: () => number;
  estimator: TokenEstimator;
  clientKeys: ClientKeyAuth;
  admin: AdminAuth;
  gateway: MessageGateway;
  pool: AccountPool;
  lifecycle: AccountLifecycle;
  routing: RoutingState;
  tokens: TokenManager;
  /** Absolute directory of the web pages (works inside a compiled binary). */
  staticDir: string;
  pingIntervalMs: number;
  /** Aborted when the server shuts down; combined with each request's signal. */
  shutdownSignal: AbortSignal;
  testAccount?: AccountTester;
  /** Reads a Gemini account's per-model quota from Google (used by the quota job). */
  fetchGeminiQuota?: QuotaFetcher;
  /** Reads an Amazon Q account's monthly allowance (used by the allowance job). */
  fetchAmazonQAllowance?: AllowanceFetcher;
  /** Extra route modules (backends' onboarding pages and APIs). */
  routeModules?: RouteModule[];
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
