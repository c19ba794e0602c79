// Two instances of the server over one database (two apps over one SQLite file; two over one MariaDB
// database when MYSQL_TEST_URL is set, see tests/lib/store/mysql_store_test.ts): a routing-config change, an
// account change and a revoked client key made on one are in force on the other within the documented
// bound, CACHE_STALENESS_MS (default 1 s) plus one reload. Each check first warms the other instance's
// cache, so the change can only arrive through the store's change counters.
import assert from "node:assert/strict";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { adminSession, json, makeTestApp, makeTestAppAsync, type TestApp } from "../_helpers/test_app.ts";

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");
const API_KEY = "sk-configured-key-0001";
/** The documented bound (the default CACHE_STALENESS_MS) and what a slow CI machine adds to it. */
const BOUND_MS = 1_000;
const MARGIN_MS = 2_000;

/** Polls `check` until it holds, for at most the bound plus the margin; returns how long it took. */
async function inForceWithinBound(what: string, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < 400; i++) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > BOUND_MS + MARGIN_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`${what}: not in force on the other instance within ${BOUND_MS + MARGIN_MS} ms`);
}

async function status(t: TestApp, path: string, init?: RequestInit): Promise<number> {
  const response = await t.request(path, init);
  await response.body?.cancel();
  return response.status;
}

async function modelMapping(t: TestApp, token: string): Promise<Record<string, string>> {
  const response = await t.request("/v2/config", { headers: { "x-session-token": token } });
  return (await response.json()).model_mapping;
}

/** True when `/v1/messages` with `key` got past client auth (anything but 401/403). */
async function keyAccepted(t: TestApp, key: string): Promise<boolean> {
  const message = { model: "claude-sonnet-4-6", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
  const code = await status(t, "/v1/messages", json(message, { "x-api-key": key }));
  return code !== 401 && code !== 403;
}

async function coherenceChecks(a: TestApp, b: TestApp): Promise<void> {
  const tokenA = await adminSession(a);
  const tokenB = await adminSession(b);
  const onA = { "x-session-token": tokenA };

  // A routing-config change.
  assert.equal((await modelMapping(b, tokenB))["team-alias"], undefined);
  const put = await a.request(
    "/v2/config",
    json({ model_mapping: { "team-alias": "claude-sonnet-4-5" } }, onA, "PUT"),
  );
  assert.equal(put.status, 200, await put.clone().text());
  await put.body?.cancel();
  assert.equal(
    (await modelMapping(a, tokenA))["team-alias"],
    "claude-sonnet-4-5",
    "in force at once where made",
  );
  await inForceWithinBound(
    "PUT /v2/config",
    async () => (await modelMapping(b, tokenB))["team-alias"] === "claude-sonnet-4-5",
  );

  // An account change: created on A, then disabled on A; B's pool follows both.
  assert.equal(await status(b, "/ready"), 503);
  const created = await a.request(
    "/v2/accounts",
    json({
      type: "custom_api",
      label: "shared",
      clientSecret: "sk-upstream",
      other: { api_base: "http://127.0.0.1:1", format: "openai", model: "gpt-x" },
    }, onA),
  );
  assert.equal(created.status, 201, await created.clone().text());
  const account = await created.json();
  await inForceWithinBound("a new account", async () => (await status(b, "/ready")) === 200);
  const disabled = await a.request(
    `/v2/accounts/${account.id}`,
    json({ enabled: false }, onA, "PATCH"),
  );
  assert.equal(disabled.status, 200, await disabled.clone().text());
  await disabled.body?.cancel();
  assert.equal(await status(a, "/ready"), 503, "in force at once where made");
  await inForceWithinBound("a disabled account", async () => (await status(b, "/ready")) === 503);

  // A client key: created on A, accepted by B, revoked on A, refused by B.
  assert.ok(await keyAccepted(b, API_KEY));
  const key = await a.request("/v2/keys", json({ label: "ci" }, onA));
  assert.equal(key.status, 201);
  const record = await key.json();
  await inForceWithinBound("a new client key", () => keyAccepted(b, record.key));
  assert.equal(await status(a, `/v2/keys/${record.id}`, { method: "DELETE", headers: onA }), 200);
  assert.equal(await keyAccepted(a, record.key), false, "in force at once where revoked");
  await inForceWithinBound("a revoked client key", async () => !(await keyAccepted(b, record.key)));
  // The configured key is unaffected.
  assert.ok(await keyAccepted(b, API_KEY));
}

Deno.test("two instances on one SQLite file see each other's config, account and key changes within the bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-two-" });
  try {
    const env = { DATABASE_URL: `sqlite:${join(dir, "shared.db")}`, API_KEY };
    const a = makeTestApp({ env, realClock: true });
    const b = makeTestApp({ env, realClock: true });
    try {
      await coherenceChecks(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "mysql: two instances on one database see each other's config, account and key changes within the bound",
  ignore: !BASE_URL,
  fn: async () => {
    const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    try {
      const env = { DATABASE_URL: url.toString(), API_KEY };
      const a = await makeTestAppAsync({ env, realClock: true });
      try {
        const b = await makeTestAppAsync({ env, realClock: true });
        try {
          await coherenceChecks(a, b);
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    } finally {
      const admin = await mysql.createConnection({ uri: BASE_URL! });
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  },
});
