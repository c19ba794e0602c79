import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";

const from = (env: Record<string, string>) => (name: string) => env[name];

Deno.test("connection limits default to bounded timeouts and a per-address cap", () => {
  const config = parseConfig(from({}));
  assert.equal(config.headersTimeoutMs, 30_000);
  assert.equal(config.idleTimeoutMs, 60_000);
  assert.equal(config.maxConnectionsPerIp, 256);
  assert.equal(config.maxConnections, 0);
});

Deno.test("connection limits are read from their variables", () => {
  const config = parseConfig(from({
    HEADERS_TIMEOUT_SECONDS: "5",
    IDLE_TIMEOUT_SECONDS: "7",
    MAX_CONNECTIONS_PER_IP: "0",
    MAX_CONNECTIONS: "1000",
  }));
  assert.equal(config.headersTimeoutMs, 5_000);
  assert.equal(config.idleTimeoutMs, 7_000);
  assert.equal(config.maxConnectionsPerIp, 0);
  assert.equal(config.maxConnections, 1000);
});

for (
  const [variable, value] of [
    ["HEADERS_TIMEOUT_SECONDS", "0"],
    ["IDLE_TIMEOUT_SECONDS", "forever"],
    ["MAX_CONNECTIONS_PER_IP", "-1"],
    ["MAX_CONNECTIONS", "lots"],
  ]
) {
  Deno.test(`a bad ${variable} stops the start with a message naming it`, () => {
    assert.throws(() => parseConfig(from({ [variable!]: value! })), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(error.message.includes(variable!), error.message);
      return true;
    });
  });
}
