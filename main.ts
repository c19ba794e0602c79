/**
 * The composition root: configuration -> store -> dependencies -> app -> cron jobs -> Deno.serve -> signals.
 *
 * The only module that reads `Deno.env`, calls `Deno.serve`, `Deno.cron` or `Deno.exit`, and installs
 * signal handlers. A bad configuration value stops the start with one line naming the variable, before
 * anything listens. SIGTERM/SIGINT stop accepting connections, let in-flight streams finish for up to
 * `SHUTDOWN_DRAIN_SECONDS`, then abort the rest, give queued alerts a few seconds to be delivered and
 * close the store.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProbeJob } from "./lib/accounts/probe_job.ts";
import { runRefreshJob } from "./lib/accounts/refresh_job.ts";
import { runGeminiQuotaJob } from "./lib/gemini/quota_refresh_job.ts";
import { runAllowanceJob } from "./lib/amazonq/allowance_job.ts";
import { seedEnvAccount } from "./lib/accounts/env_account_seed.ts";
import { createApp } from "./routes/app.ts";
import { createBackends } from "./lib/backends.ts";
import { buildDeps } from "./lib/build_deps.ts";
import { ThinkingSigner } from "./lib/claude/thinking_signer.ts";
import { type Config, CONFIG_VARIABLES, parseConfig } from "./lib/config.ts";
import { ConnectionGuard, type ConnectionHandler, type ServeConnection } from "./lib/connection_guard.ts";
import { ConfigError } from "./lib/errors.ts";
import { JsonLogger } from "./lib/log.ts";
import { openStore } from "./lib/store/open_store.ts";
import { TokenEstimator } from "./lib/usage/token_estimator.ts";
import { runUsageMaintenance } from "./lib/usage/usage_maintenance_job.ts";

const startedAt = performance.now();
/** Longest wait at shutdown for queued alerts to be delivered. */
const ALERT_DRAIN_MS = 5_000;
const env = new Map(CONFIG_VARIABLES.map((name) => [name, Deno.env.get(name)]));

let config: Config;
try {
  config = parseConfig((name) => env.get(name as (typeof CONFIG_VARIABLES)[number]));
} catch (error) {
  // deno-lint-ignore no-console
  console.error(`amq2api: configuration error: ${error instanceof Error ? error.message : String(error)}`);
  Deno.exit(2);
}

const log = new JsonLogger({ level: config.logLevel });
const store = await openStore(config.databaseUrl).catch((error) => {
  const prefix = error instanceof ConfigError ? "configuration error" : "cannot open the store";
  // deno-lint-ignore no-console
  console.error(`amq2api: ${prefix}: ${error instanceof Error ? error.message : String(error)}`);
  Deno.exit(2);
});

const shutdown = new AbortController();
const staticDir = join(fileURLToPath(new URL(".", import.meta.url)), "static");
const signingSecret = await store.meta.setIfMissing(
  "thinking_signing_secret",
  randomBytes(32).toString("base64"),
);
const signer = new ThinkingSigner(new Uint8Array(Buffer.from(signingSecret, "base64")));
const estimator = new TokenEstimator();
const holder = `pid${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
const deps = buildDeps({
  holder,
  config,
  store,
  log,
  estimator,
  signer,
  staticDir,
  shutdownSignal: shutdown.signal,
  backends: createBackends({ config, signer, estimator, staticDir }),
});
await deps.routing.seedDefaults();
const seeded = await seedEnvAccount(config, store);
if (seeded !== "none") log.info("AMAZONQ_* account seeded", { result: seeded });
if (config.adminUsername && config.adminPassword) {
  if (await deps.admin.ensureInitialAdmin(config.adminUsername, config.adminPassword)) {
    log.info("admin account created from ADMIN_USERNAME");
  }
}
await deps.pool.syncCallWindow();
if (!(await deps.clientKeys.keysConfigured())) {
  log.warn("no client key configured (API_KEY or /v2/keys): serving loopback clients only");
}

const refresh = () =>
  runRefreshJob({
    store,
    tokens: deps.tokens,
    pool: deps.pool,
    now: Date.now,
    holder,
    leadMs: config.refreshLeadMs,
  }).then((result) => {
    if (result.due > 0) log.info("token refresh run", { ...result });
  }).catch((error) => log.error("token refresh run failed", { error }));

if (config.autoRefresh) {
  try {
    Deno.cron("refresh-tokens", config.refreshCron, { signal: shutdown.signal }, refresh);
  } catch (error) {
    // The five fields were checked by parseConfig; Deno's cron parser judges their values.
    // deno-lint-ignore no-console
    console.error(
      `amq2api: configuration error: REFRESH_CRON: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(2);
  }
}
const fetchGeminiQuota = deps.fetchGeminiQuota;
if (fetchGeminiQuota) {
  Deno.cron("refresh-gemini-quota", "*/10 * * * *", { signal: shutdown.signal }, async () => {
    await runGeminiQuotaJob({
      store,
      tokens: deps.tokens,
      fetchQuota: fetchGeminiQuota,
      now: Date.now,
      holder,
      maxAgeMs: 9 * 60_000,
    })
      .then((result) => {
        if (result.due > 0) log.info("gemini quota run", { ...result });
      })
      .catch((error) => log.error("gemini quota run failed", { error }));
  });
}
// Accounts resting for reasons that may pass are re-tested and put back into service when they answer.
const probe = () =>
  runProbeJob({
    store,
    gateway: deps.gateway,
    routing: deps.routing,
    log,
    now: Date.now,
    holder,
    metrics: deps.metrics,
  })
    .then((result) => {
      if (result.probed > 0) log.info("account probe run", { ...result });
    })
    .catch((error) => log.error("account probe run failed", { error }));
try {
  Deno.cron("probe-accounts", config.probeCron, { signal: shutdown.signal }, probe);
} catch (error) {
  // The five fields were checked by parseConfig; Deno's cron parser judges their values.
  // deno-lint-ignore no-console
  console.error(
    `amq2api: configuration error: PROBE_CRON: ${error instanceof Error ? error.message : error}`,
  );
  Deno.exit(2);
}
if (config.alertWebhookUrls.length > 0) {
  Deno.cron("alerts", "* * * * *", { signal: shutdown.signal }, async () => {
    await deps.alerts.evaluate().catch((error) => log.error("alert evaluation failed", { error }));
  });
}
const fetchAmazonQAllowance = deps.fetchAmazonQAllowance;
if (fetchAmazonQAllowance) {
  // Allowances change with every request but reset monthly: an hourly look is enough to park and resume.
  Deno.cron("refresh-amazonq-allowance", "41 * * * *", { signal: shutdown.signal }, async () => {
    await runAllowanceJob({
      store,
      fetchAllowance: fetchAmazonQAllowance,
      now: Date.now,
      holder,
      maxAgeMs: 50 * 60_000,
    })
      .then((result) => {
        if (result.due > 0) log.info("amazonq allowance run", { ...result });
      })
      .catch((error) => log.error("amazonq allowance run failed", { error }));
  });
}
// Expired sessions go; call records are kept a week (stats show the last day, the rate limit the last hour).
Deno.cron("prune", "17 * * * *", { signal: shutdown.signal }, async () => {
  await store.sessions.deleteExpired(Date.now());
  await store.accounts.pruneCalls(Date.now() - 7 * 86_400_000);
});

// Usage roll-up and retention, prompt-cache bounds: one instance at a time (lease), idempotent.
Deno.cron("usage-maintenance", "*/5 * * * *", { signal: shutdown.signal }, async () => {
  await runUsageMaintenance({
    store,
    now: Date.now,
    holder,
    retentionDays: config.usageRetentionDays,
    cacheMaxEntries: config.cacheMaxEntries,
  }).catch((error) => log.error("usage maintenance failed", { error }));
});

const app = createApp(deps);
const needsAdmin = (await store.admins.count()) === 0;
let server: ReturnType<typeof listen>;
try {
  server = listen(config, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }));
} catch (error) {
  // deno-lint-ignore no-console
  console.error(
    `amq2api: cannot listen on ${config.host}:${config.port}: ${
      error instanceof Error ? error.message : error
    }`,
  );
  Deno.exit(1);
}
// From here on a client must never end the process: a rejection or exception that escaped a request (a
// socket reset in the middle of a write, a stream cancelled twice) is logged and the server goes on. Before
// listening, a failure still ends the start.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  log.error("unhandled rejection", { error: event.reason });
});
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  log.error("uncaught exception", { error: event.error });
});

// Tokens that expired while the server was down are refreshed right away, off the start-up path.
if (config.autoRefresh) refresh();
// Conditions that arose while the server was down are alerted now rather than at the next minute.
if (config.alertWebhookUrls.length > 0) {
  deps.alerts.evaluate().catch((error) => log.error("alert evaluation failed", { error }));
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal, drainMs: config.shutdownDrainMs });
  const drained = server.shutdown();
  const deadline = new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
  await Promise.race([drained, deadline]);
  shutdown.abort(new Error("server shutting down"));
  // Alerts already queued (a retry waiting included) get a few seconds to reach the webhooks, alongside
  // the last streams.
  const alertsSent = deps.alerts.drain(ALERT_DRAIN_MS);
  await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2000))]);
  server.abortAll();
  const undelivered = await alertsSent;
  if (undelivered > 0) log.warn("alerts not delivered before shutdown", { count: undelivered });
  deps.closeBackends?.();
  await store.close();
  log.info("stopped");
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));

/**
 * Listens and serves through `ConnectionGuard`, which needs HTTP served on a connection it accepted itself.
 * The runtime's public `Deno.serve` cannot do that, so its per-connection entry point is used; should a
 * runtime lack it, plain `Deno.serve` takes over without the guard's timeouts and caps (a warning says so,
 * and the reverse proxy must enforce them).
 */
function listen(config: Config, handler: ConnectionHandler): { shutdown(): Promise<void>; abortAll(): void } {
  const onListen = ({ hostname, port }: Deno.NetAddr) => {
    if (needsAdmin) {
      // The first admin can only be created from this machine: say where.
      const local = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
      const host = local.includes(":") ? `[${local}]` : local;
      log.info(`no admin account yet: open http://${host}:${port}/admin on this machine to create it`);
    }
    log.info("listening", {
      url: `http://${hostname}:${port}`,
      startupMs: Math.round(performance.now() - startedAt),
      store: store.kind,
    });
  };
  // deno-lint-ignore no-explicit-any
  const internal = (Deno as any)[(Deno as any).internal];
  const serveOnConnection = internal?.serveHttpOnConnection;
  if (typeof serveOnConnection !== "function") {
    log.warn("this runtime cannot serve accepted connections: idle/header timeouts and caps are off");
    const plain = Deno.serve({ hostname: config.host, port: config.port, onListen }, handler);
    plain.finished.catch((error) => log.error("server stopped", { error }));
    return { shutdown: () => plain.shutdown(), abortAll: () => {} };
  }
  const serveConnection: ServeConnection = (conn, signal, handle, onError) =>
    serveOnConnection(conn, signal, handle, onError, () => {});
  const guard = new ConnectionGuard({
    listener: Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" }),
    serveConnection,
    handler,
    log,
    headersTimeoutMs: config.headersTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxConnections: config.maxConnections,
  });
  onListen(guard.addr);
  return guard;
}
