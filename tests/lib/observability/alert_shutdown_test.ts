/**
 * Alerts and the graceful shutdown of the real server process: an alert still queued when SIGTERM arrives
 * (its first POST failed, the retry is waiting) is delivered before the process exits; a webhook that never
 * answers holds the exit only for the bounded drain, after which the server says how many alerts it could
 * not deliver and still exits 0.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import { type ServerProcess, startServer } from "../../_helpers/server_process.ts";

interface Hook {
  url: string;
  /** Condition and status of every POST received, answered or not. */
  posts: string[];
  /** Settles with the first POST. */
  first: Promise<void>;
  close(): Promise<void>;
}

/** A webhook whose n-th POST (0-based) is answered by `answer(n)`. */
function webhook(answer: (n: number) => Promise<Response>): Hook {
  let firstSeen = () => {};
  const hook: Hook = {
    url: "",
    posts: [],
    first: new Promise((resolve) => firstSeen = resolve),
    close: async () => {},
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.json();
    const n = hook.posts.push(`${body.status} ${body.condition}`) - 1;
    firstSeen();
    return await answer(n);
  });
  hook.url = `http://127.0.0.1:${server.addr.port}/hook`;
  hook.close = () => server.shutdown();
  return hook;
}

/** A database file holding one suspended account: the server alerts for it as it starts. */
async function storeWithSuspendedAccount(dir: string): Promise<{ url: string; accountId: string }> {
  const file = join(dir, "alerts.db");
  const store = openSqliteStore(file);
  try {
    const account = await store.accounts.create({ type: "custom_api", clientSecret: "sk-upstream" });
    await store.accounts.update(account.id, { enabled: false, disabled_reason: "suspended: by upstream" });
    return { url: `sqlite:${file}`, accountId: account.id };
  } finally {
    await store.close();
  }
}

async function stopWithin(server: ServerProcess, ms: number): Promise<Deno.CommandStatus> {
  Deno.kill(server.pid, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms after SIGTERM`)), ms);
  });
  try {
    return await Promise.race([server.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "SIGTERM: an alert whose retry is pending is delivered before the process exits",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "amq2api-alert-drain-" });
    // The first POST fails with a 503 (retried after a pause); the retry is accepted.
    const hook = webhook((n) =>
      Promise.resolve(new Response(n === 0 ? "busy" : "ok", { status: n === 0 ? 503 : 200 }))
    );
    let server: ServerProcess | undefined;
    try {
      const { url, accountId } = await storeWithSuspendedAccount(dir);
      server = await startServer({ DATABASE_URL: url, ALERT_WEBHOOK_URL: hook.url });
      await hook.first;
      const status = await stopWithin(server, 20_000);
      assert.equal(status.code, 0, server.lines().join("\n"));
      assert.deepEqual(hook.posts, [
        `firing account_suspended:${accountId}`,
        `firing account_suspended:${accountId}`,
      ]);
      assert.ok(!server.lines().some((line) => line.includes("alerts not delivered")));
    } finally {
      await server?.kill();
      await hook.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SIGTERM: a webhook that never answers delays the exit only for the bounded alert drain",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "amq2api-alert-hang-" });
    let release = () => {};
    const never = new Promise<void>((resolve) => release = resolve);
    const hook = webhook(async () => {
      await never;
      return new Response("late");
    });
    let server: ServerProcess | undefined;
    try {
      const { url } = await storeWithSuspendedAccount(dir);
      server = await startServer({ DATABASE_URL: url, ALERT_WEBHOOK_URL: hook.url });
      await hook.first;
      const status = await stopWithin(server, 20_000);
      assert.equal(status.code, 0, server.lines().join("\n"));
      const warning = server.lines().find((line) => line.includes("alerts not delivered before shutdown"));
      assert.ok(warning, server.lines().join("\n"));
      assert.equal(JSON.parse(warning).count, 1);
      assert.equal(hook.posts.length, 1);
    } finally {
      release();
      await server?.kill();
      await hook.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
