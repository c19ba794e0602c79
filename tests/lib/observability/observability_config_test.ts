/** The observability variables: parsed, defaulted, and refused with a message naming them. */
import assert from "node:assert/strict";
import { parseConfig } from "../../../lib/config.ts";

const parse = (env: Record<string, string>) => parseConfig((name) => env[name]);

Deno.test("observability config: defaults", () => {
  const c = parse({});
  assert.equal(c.metricsToken, undefined);
  assert.equal(c.tracing, false);
  assert.deepEqual(c.alertWebhookUrls, []);
  assert.equal(c.alertRefreshFailures, 3);
  assert.equal(c.probeCron, "*/5 * * * *");
});

Deno.test("observability config: values and refusals", () => {
  const c = parse({
    METRICS_TOKEN: "0123456789abcdef",
    OTEL_DENO: "true",
    ALERT_WEBHOOK_URL: "https://hooks.example.com/a, http://127.0.0.1:9000/b",
    ALERT_REFRESH_FAILURES: "5",
    PROBE_CRON: "*/10 * * * *",
  });
  assert.equal(c.metricsToken, "0123456789abcdef");
  assert.equal(c.tracing, true);
  assert.deepEqual(c.alertWebhookUrls, ["https://hooks.example.com/a", "http://127.0.0.1:9000/b"]);
  assert.equal(c.alertRefreshFailures, 5);
  assert.equal(c.probeCron, "*/10 * * * *");
  assert.throws(() => parse({ METRICS_TOKEN: "short" }), /METRICS_TOKEN/);
  assert.throws(() => parse({ ALERT_WEBHOOK_URL: "ftp://x/y" }), /ALERT_WEBHOOK_URL/);
  assert.throws(() => parse({ ALERT_WEBHOOK_URL: "https://u:p@x/y" }), /ALERT_WEBHOOK_URL/);
  assert.throws(() => parse({ ALERT_REFRESH_FAILURES: "0" }), /ALERT_REFRESH_FAILURES/);
  assert.throws(() => parse({ PROBE_CRON: "* *" }), /PROBE_CRON/);
  assert.throws(() => parse({ OTEL_DENO: "maybe" }), /OTEL_DENO/);
});
