/**
 * Builds the real app over a `:memory:` store for route tests: the same `buildDeps` as `main.ts`, with
 * configuration from a map instead of the environment, a settable clock and cheap password hashing.
 * `makeTestAppAsync` also opens a MySQL store when `env.DATABASE_URL` is `mysql://...`.
 */
import { createApp } from "../../routes/app.ts";
import type { AppEnv, Deps } from "../../lib/app_env.ts";
import { type BackendBuildParts, type BackendParts, buildDeps } from "../../lib/build_deps.ts";
import { createBackends } from "../../lib/backends.ts";
import { ThinkingSigner } from "../../lib/claude/thinking_signer.ts";
import { type Config, parseConfig } from "../../lib/config.ts";
import { NullLogger } from "../../lib/log.ts";
import { openMysqlStore } from "../../lib/store/mysql_store.ts";
import { openSqliteStore } from "../../lib/store/sqlite_store.ts";
import type { Store } from "../../lib/store/types.ts";
import { TokenEstimator } from "../../lib/usage/token_estimator.ts";
import type { Hono } from "hono";
import { fileURLToPath } from "node:url";

/** One estimator per test process: loading the tokenizer takes a few hundred ms. */
let sharedEstimator: TokenEstimator | undefined;
export function estimator(): TokenEstimator {
  // Shared by the whole test process and never closed: its worker must not arm an idle timer, which the
  // sanitizers would blame on whichever test happened to count last.
  sharedEstimator ??= new TokenEstimator({ worker: { idleMs: Infinity } });
  return sharedEstimator;
}

export const TEST_SIGNER = new ThinkingSigner(new TextEncoder().encode("test-signing-secret-0123456789"));
export const STATIC_DIR = fileURLToPath(new URL("../../static", import.meta.url));

export class Clock {
  constructor(public t = Date.UTC(2026, 10, 25, 12, 0, 0)) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestApp {
  app: Hono<AppEnv>;
  deps: Deps;
  store: Store;
  clock: Clock;
  /** Calls the app as a client on loopback (or the given address). */
  request(path: string, init?: RequestInit, remote?: string): Promise<Response>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  backends?: (parts: BackendBuildParts) => BackendParts;
  clock?: Clock;
  random?: () => number;
  realClock?: boolean;
  pingIntervalMs?: number;
  poolWaitMs?: number;
  /** Longest wait of `/v2/auth/claim` (real backends only). */
  claimWaitMs?: number;
}

/** Serves the app on 127.0.0.1:0 (for SDK clients); returns its base URL and a stop function. */
export function serveTestApp(t: TestApp): { url: string; stop: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) => t.app.fetch(request, { remoteAddr: info.remoteAddr }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

export function makeTestApp(options: TestAppOptions = {}): TestApp {
  const env: Record<string, string> = { DATABASE_URL: "sqlite::memory:", ...options.env };
  const config = parseConfig((name) => env[name]);
  const clock = options.clock ?? new Clock();
  const now = options.realClock ? Date.now : clock.now;
  // `sqlite:<path>` in `env` opens a file (restart tests build two apps over it); `:memory:` otherwise.
  const url = env.DATABASE_URL!;
  if (url.startsWith("mysql://")) {
    throw new Error("a mysql:// store opens asynchronously: use makeTestAppAsync");
  }
  const file = url.startsWith("sqlite:") && url.length > 7 ? url.slice(7) : ":memory:";
  return assembleTestApp(options, config, clock, now, openSqliteStore(file, { now }));
}

/** Like `makeTestApp`, for stores that open asynchronously: `env.DATABASE_URL=mysql://...` opens MySQL. */
export async function makeTestAppAsync(options: TestAppOptions = {}): Promise<TestApp> {
  const url = options.env?.DATABASE_URL;
  if (!url?.startsWith("mysql://")) return makeTestApp(options);
  const env: Record<string, string> = { ...options.env };
  const config = parseConfig((name) => env[name]);
  const clock = options.clock ?? new Clock();
  const now = options.realClock ? Date.now : clock.now;
  return assembleTestApp(options, config, clock, now, await openMysqlStore(url, { now }));
}

function assembleTestApp(
  options: TestAppOptions,
  config: Config,
  clock: Clock,
  now: () => number,
  store: Store,
): TestApp {
  const shutdown = new AbortController();
  const deps = buildDeps({
    config,
    store,
    log: new NullLogger(),
    estimator: estimator(),
    signer: TEST_SIGNER,
    staticDir: STATIC_DIR,
    shutdownSignal: shutdown.signal,
    now,
    passwordCost: 1 << 10,
    pingIntervalMs: options.pingIntervalMs ?? 15_000,
    ...(options.random ? { random: options.random } : {}),
    ...(options.poolWaitMs !== undefined ? { poolWaitMs: options.poolWaitMs } : {}),
    // The real backends by default, pointed at whatever upstream URLs the test put in `env`.
    backends: options.backends ??
      createBackends({
        config,
        signer: TEST_SIGNER,
        estimator: estimator(),
        staticDir: STATIC_DIR,
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
        claimWaitMs: options.claimWaitMs ?? 200,
      }),
  });
  const app = createApp(deps);
  return {
    app,
    deps,
    store,
    clock,
    request: (path, init, remote = "127.0.0.1") =>
      Promise.resolve(app.request(path, init, { remoteAddr: { hostname: remote } })),
    close: async () => {
      shutdown.abort();
      deps.closeBackends?.();
      await store.close();
    },
  };
}

/** JSON request init. */
export function json(body: unknown, headers: Record<string, string> = {}, method = "POST"): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** Sets up an admin and returns a session token. */
export async function adminSession(
  t: TestApp,
  username = "admin",
  password = "correct-horse",
): Promise<string> {
  const setup = await t.request("/api/admin/setup", json({ username, password, confirmPassword: password }));
  if (setup.status !== 200 && setup.status !== 409) throw new Error(`setup failed: ${setup.status}`);
  await setup.body?.cancel();
  const login = await t.request("/api/admin/login", json({ username, password }));
  const body = await login.json();
  if (!body.token) throw new Error(`login failed: ${JSON.stringify(body)}`);
  return body.token;
}
