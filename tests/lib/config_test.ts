import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";

const from = (env: Record<string, string>) => (name: string) => env[name];

Deno.test("parseConfig gives safe defaults on an empty environment", () => {
  const config = parseConfig(from({}));
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8080);
  assert.equal(config.databaseUrl, "sqlite:./data/amq2api.db");
  assert.deepEqual(config.apiKeys, []);
  assert.equal(config.bodyLimitBytes, 64 * 1024 * 1024);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.amazonq));
});

Deno.test("parseConfig derives the database from DATA_DIR and keeps reference names", () => {
  const config = parseConfig(from({
    DATA_DIR: "/var/lib/amq2api/",
    PORT: "9000",
    API_KEY: "key-one-123, key-two-456",
    AMAZONQ_REFRESH_TOKEN: "r",
    AMAZONQ_CLIENT_ID: "c",
    AMAZONQ_CLIENT_SECRET: "s",
    AMAZONQ_API_ENDPOINT: "http://127.0.0.1:1/",
    GEMINI_DONATE_CLIENT_ID: "gid",
  }));
  assert.equal(config.databaseUrl, "sqlite:/var/lib/amq2api/amq2api.db");
  assert.equal(config.port, 9000);
  assert.deepEqual(config.apiKeys, ["key-one-123", "key-two-456"]);
  assert.equal(config.amazonq.apiEndpoint, "http://127.0.0.1:1/");
  assert.equal(config.gemini.clientId, "gid");
});

for (
  const [env, variable] of [
    [{ PORT: "80x" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DATABASE_URL: "postgres://x" }, "DATABASE_URL"],
    [{ AMAZONQ_API_ENDPOINT: "ftp://q" }, "AMAZONQ_API_ENDPOINT"],
    [{ ENABLE_AUTO_REFRESH: "maybe" }, "ENABLE_AUTO_REFRESH"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ API_KEY: "short" }, "API_KEY"],
    [{ ADMIN_USERNAME: "admin" }, "ADMIN_USERNAME"],
    [{ ADMIN_USERNAME: "admin", ADMIN_PASSWORD: "short" }, "ADMIN_PASSWORD"],
    [{ BODY_LIMIT_MB: "0" }, "BODY_LIMIT_MB"],
    [{ REFRESH_CRON: "every minute" }, "REFRESH_CRON"],
    [{ AMAZONQ_CLIENT_ID: "c" }, "AMAZONQ_REFRESH_TOKEN"],
  ] as Array<[Record<string, string>, string]>
) {
  Deno.test(`parseConfig rejects a bad ${variable} with a one-line message naming it`, () => {
    assert.throws(() => parseConfig(from(env)), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(error.message.includes(variable), error.message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
}

Deno.test("parseConfig reads CACHE_STALENESS_MS (default 1 s, 0 allowed, bounded)", () => {
  assert.equal(parseConfig(from({})).cacheStalenessMs, 1000);
  assert.equal(parseConfig(from({ CACHE_STALENESS_MS: "0" })).cacheStalenessMs, 0);
  assert.equal(parseConfig(from({ CACHE_STALENESS_MS: "250" })).cacheStalenessMs, 250);
  assert.throws(() => parseConfig(from({ CACHE_STALENESS_MS: "600000" })), /CACHE_STALENESS_MS/);
});

Deno.test("parseConfig reads KEY_QUEUE_TIMEOUT_SECONDS (default 30 s, 0 allowed, bounded)", () => {
  assert.equal(parseConfig(from({})).keyQueueTimeoutMs, 30_000);
  assert.equal(parseConfig(from({ KEY_QUEUE_TIMEOUT_SECONDS: "0" })).keyQueueTimeoutMs, 0);
  assert.throws(() => parseConfig(from({ KEY_QUEUE_TIMEOUT_SECONDS: "601" })), /KEY_QUEUE_TIMEOUT_SECONDS/);
  assert.throws(() => parseConfig(from({ KEY_QUEUE_TIMEOUT_SECONDS: "1.5" })), /KEY_QUEUE_TIMEOUT_SECONDS/);
});
