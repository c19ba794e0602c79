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
import type { Deps } from "./app_env.ts";
import type { ThinkingSigner } from "./claude/thinking_signer.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { AlertMonitor } from "./observability/alert_monitor.ts";
import { AlertSender } from "./observability/alert_sender.ts";
import { Metrics } from "./observability/metrics.ts";
import { Tracing } from "./observability/tracing.ts";
import type { ModelRouter } from "./routing/model_router.ts";
import type { RoutingConfig } from "./routing/routing_config.ts";
import { RoutingState } from "./routing/routing_state.ts";
import type { Account, AccountType, Store } from "./store/types.ts";
import type { AllowanceFetcher } from "./amazonq/allowance_client.ts";
import { refreshAccountAllowance } from "./amazonq/allowance_job.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";
import { KeyLimits } from "./keys/key_limits.ts";
import type { PriceFunction } from "./keys/key_admission.ts";
import { UsageAccounting } from "./usage/usage_accounting.ts";
import type { QuotaFetcher } from "./gemini/quota_refresh_job.ts";

export interface BackendParts {
  channels: Partial<Record<AccountType, Channel>>;
  refreshers: Partial<Record<AccountType, TokenRefresher>>;
  testAccount?: Deps["testAccount"];
  deviceLogins?: Deps["deviceLogins"];
  deviceLoginClaim?: Deps["deviceLoginClaim"];
  geminiOAuth?: Deps["geminiOAuth"];
  /** Reads a Gemini account's per-model quota (for the quota job). */
  fetchGeminiQuota?: QuotaFetcher;
  /** Reads an Amazon Q account's monthly allowance (for the allowance job). */
  fetchAmazonQAllowance?: AllowanceFetcher;
  /** Releases what the backends hold open (the pooled per-proxy HTTP clients), at shutdown. */
  close?: () => void;
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
  /** Prices a request for key cost budgets (default: the built-in price table). */
  price?: PriceFunction;

  /** Process metrics (RSS, heap, CPU ...) in `/metrics`; tests comparing whole outputs turn them off. */
  processMetrics?: boolean;
  /** Identifies this instance for leases (alerts). */
  holder?: string;
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
  const tracing = config.tracing ? new Tracing() : undefined;
  const metrics = new Metrics({
    accounts: () => pool.accounts(),
    knownModels: async () =>
      knownModels(await routing.config(), await routing.router(), await pool.accounts()),
    now,
    processMetrics: input.processMetrics ?? true,
    ...(tracing ? { tracing } : {}),
  });
  // The allowance reader comes with the backends, built after the lifecycle that triggers it.
  let afterQuotaError: ((account: Account) => void) | undefined;
  const lifecycle = new AccountLifecycle(store, now, {
    metrics,
    onQuotaExhausted: (a) => afterQuotaError?.(a),
  });
  const alerts = new AlertMonitor({
    store,
    pool,
    routing,
    sender: new AlertSender({ urls: config.alertWebhookUrls, fetch: fetchFn, log, metrics }),
    log,
    now,
    holder: input.holder ?? `instance:${crypto.randomUUID().slice(0, 8)}`,
    refreshFailures: config.alertRefreshFailures,
  });
  const refreshers: Partial<Record<AccountType, TokenRefresher>> = {};
  // The token manager needs the refreshers and the channels need the token manager: build the manager
  // over a table that is filled right after.
  const tokens = new TokenManager(store, refreshers, now, {
    leadMs: 60_000,
    onRefresh: (account, outcome) => {
      metrics.tokenRefresh(account.type, outcome);
      alerts.refreshOutcome(account, outcome);
    },
  });
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
  const accounting = new UsageAccounting({
    store,
    estimator: input.estimator,
    now,
    log,
    simulate: config.cacheSimulation,
    syncMs: Math.max(config.cacheStalenessMs, 5_000),
    onCacheLookup: (hit) => metrics.cacheLookup(hit),
  });
  const gateway = new MessageGateway({
    store,
    pool,
    lifecycle,
    routing,
    channels: backends.channels,
    estimator: input.estimator,
    accounting,
    log,
    now,
    maxAttempts: config.maxFailoverAttempts,
    metrics,
  });
  const clientKeys = new ClientKeyAuth(config.apiKeys, store, { stalenessMs: config.cacheStalenessMs, now });
  const keyLimits = new KeyLimits({
    store,
    keys: clientKeys,
    now,
    queueTimeoutMs: config.keyQueueTimeoutMs,
    // Budgets are priced with the same table as the usage records (the admin's edits included).
    price: input.price ?? ((usage, model) => {
      const cost = accounting.currentPrices.cost(usage, model);
      return cost.priced ? cost.usd : null;
    }),
    log,
    onRefused: (reason) => metrics.keyRejected(reason),
  });
  const deps: Deps = {
    config,
    store,
    log,
    now,
    estimator: input.estimator,
    clientKeys,
    keyLimits,
    admin: new AdminAuth(store, new PasswordHasher({ cost: input.passwordCost ?? 1 << 15 }), now),
    gateway,
    accounting,
    pool,
    lifecycle,
    routing,
    tokens,
    metrics,
    alerts,
    ...(tracing ? { tracing } : {}),
    staticDir: input.staticDir,
    pingIntervalMs: input.pingIntervalMs ?? 15_000,
    shutdownSignal: input.shutdownSignal,
  };
  if (backends.testAccount) deps.testAccount = backends.testAccount;
  if (backends.fetchGeminiQuota) deps.fetchGeminiQuota = backends.fetchGeminiQuota;
  if (backends.deviceLogins) deps.deviceLogins = backends.deviceLogins;
  if (backends.deviceLoginClaim) deps.deviceLoginClaim = backends.deviceLoginClaim;
  if (backends.geminiOAuth) deps.geminiOAuth = backends.geminiOAuth;
  if (fetchAllowance) deps.fetchAmazonQAllowance = fetchAllowance;
  if (backends.close) deps.closeBackends = backends.close;
  return deps;
}

/** Every model name the routing settings or a custom account mention: the model labels `/metrics` keeps. */
function knownModels(config: RoutingConfig, router: ModelRouter, accounts: readonly Account[]): Set<string> {
  const names = new Set<string>([
    ...config.gemini_only_models,
    ...config.amazonq_only_models,
    ...config.supported_models,
    ...Object.keys(config.model_mapping),
    ...Object.values(config.model_mapping),
    ...Object.keys(config.amq_model_mapping),
    ...Object.values(config.amq_model_mapping),
    ...Object.keys(config.amazonq_model_ids),
    ...Object.values(config.amazonq_model_ids),
    ...Object.values(config.amazonq_family_models),
  ]);
  for (const model of router.listModels(accounts.filter((a) => a.type === "custom_api"))) names.add(model.id);
  return names;
}
