/**
 * Builds the `Deps` object from configuration and a store: the one wiring diagram of the server.
 *
 * `main.ts` calls it with the real clock and `fetch`; tests call it with a `:memory:` store and fake
 * upstream URLs in the configuration, so they exercise exactly the objects production uses.
 */
import { AccountLifecycle } from "./accounts/account_lifecycle.ts";
import { AccountPool } from "./accounts/account_pool.ts";
import type { Channel } from "./accounts/channel.ts";
import { MessageGateway } from "./accounts/message_gateway.ts";
import { TokenManager } from "./accounts/token_manager.ts";
import type { TokenRefresher } from "./accounts/token_source.ts";
import { AdminAuth } from "./admin/admin_auth.ts";
import { ClientKeyAuth } from "./admin/client_key_auth.ts";
import { PasswordHasher } from "./admin/password_hasher.ts";
import type { Deps, RouteModule } from "./app_env.ts";
import type { ThinkingSigner } from "./claude/thinking_signer.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { RoutingState } from "./routing/routing_state.ts";
import type { Account, AccountType, Store } from "./store/types.ts";
import type { AllowanceFetcher } from "./amazonq/allowance_client.ts";
import { refreshAccountAllowance } from "./amazonq/allowance_job.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";
import type { QuotaFetcher } from "./gemini/quota_refresh_job.ts";

export interface BackendParts {
  channels: Partial<Record<AccountType, Channel>>;
  refreshers: Partial<Record<AccountType, TokenRefresher>>;
  routeModules?: RouteModule[];
  testAccount?: Deps["testAccount"];
  /** Reads a Gemini account's per-model quota (for the quota job). */
  fetchGeminiQuota?: QuotaFetcher;
  /** Reads an Amazon Q account's monthly allowance (for the allowance job). */
  fetchAmazonQAllowance?: AllowanceFetcher;
}

/** What the backends are built from (the token source, the upstream fetch, the clock and the store). */
export interface BackendBuildParts {
  tokens: TokenManager;
  fetch: typeof fetch;
  now: () => number;
  store: Store;
}

export interface BuildDepsInput {
  config: Config;
  store: Store;
  log: Logger;
  estimator: TokenEstimator;
  signer: ThinkingSigner;
  staticDir: string;
  shutdownSignal: AbortSignal;
  now?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
  pingIntervalMs?: number;
  /** scrypt cost; tests lower it. */
  passwordCost?: number;
  poolWaitMs?: number;
  /** Builds the upstream backends once the token source exists (they need it). */
  backends: (parts: BackendBuildParts) => BackendParts;
}

export function buildDeps(input: BuildDepsInput): Deps {
  const now = input.now ?? Date.now;
  const fetchFn = input.fetch ?? fetch;
  const { config, store, log } = input;
  const routing = new RoutingState(store, { stalenessMs: config.cacheStalenessMs });
  const pool = new AccountPool(store, {
    now,
    stalenessMs: config.cacheStalenessMs,
    ...(input.random ? { random: input.random } : {}),
    ...(input.poolWaitMs !== undefined ? { waitTimeoutMs: input.poolWaitMs } : {}),
  });
  // The allowance reader comes with the backends, built after the lifecycle that triggers it.
  let afterQuotaError: ((account: Account) => void) | undefined;
  const lifecycle = new AccountLifecycle(store, now, { onQuotaExhausted: (a) => afterQuotaError?.(a) });
  const refreshers: Partial<Record<AccountType, TokenRefresher>> = {};
  // The token manager needs the refreshers and the channels need the token manager: build the manager
  // over a table that is filled right after.
  const tokens = new TokenManager(store, refreshers, now, { leadMs: 60_000 });
  const backends = input.backends({ tokens, fetch: fetchFn, now, store });
  Object.assign(refreshers, backends.refreshers);
  const fetchAllowance = backends.fetchAmazonQAllowance;
  if (fetchAllowance) {
    const jobDeps = { store, fetchAllowance, now, holder: `quota-${crypto.randomUUID()}`, maxAgeMs: 0 };
    afterQuotaError = (account) =>
      void refreshAccountAllowance(jobDeps, account).catch((error) =>
        log.warn("allowance read after a quota error failed", { accountId: account.id, error })
      );
  }
  const gateway = new MessageGateway({
    store,
    pool,
    lifecycle,
    routing,
    channels: backends.channels,
    estimator: input.estimator,
    log,
    now,
    maxAttempts: config.maxFailoverAttempts,
  });
  const deps: Deps = {
    config,
    store,
    log,
    now,
    estimator: input.estimator,
    clientKeys: new ClientKeyAuth(config.apiKeys, store, { stalenessMs: config.cacheStalenessMs }),
    admin: new AdminAuth(store, new PasswordHasher({ cost: input.passwordCost ?? 1 << 15 }), now),
    gateway,
    pool,
    lifecycle,
    routing,
    tokens,
    staticDir: input.staticDir,
    pingIntervalMs: input.pingIntervalMs ?? 15_000,
    shutdownSignal: input.shutdownSignal,
    routeModules: backends.routeModules ?? [],
  };
  if (backends.testAccount) deps.testAccount = backends.testAccount;
  if (backends.fetchGeminiQuota) deps.fetchGeminiQuota = backends.fetchGeminiQuota;
  if (fetchAllowance) deps.fetchAmazonQAllowance = fetchAllowance;
  return deps;
}
