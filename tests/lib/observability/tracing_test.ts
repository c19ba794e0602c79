/**
 * Traces end to end: `main.ts` runs as a subprocess with Deno's OpenTelemetry export on, pointed at an
 * OTLP/HTTP receiver in this test; one request that fails over (the fake upstream throttles its first call)
 * must arrive as a request span and two upstream spans with channel, account, model, outcome and hops,
 * and no span may carry the prompt text or a key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import { fakeOpenAI, openAIFailure } from "../../_helpers/pool_helpers.ts";

const MAIN = fileURLToPath(new URL("../../../main.ts", import.meta.url));
/** The flags of `deno task start`. */
const FLAGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--unstable-cron",
  "--unstable-no-legacy-abort",
];
const API_KEY = "sk-tracing-test-key-01";
const PROMPT = "a secret prompt the traces must not carry";

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: OtlpAttribute[];
}

function attrs(span: OtlpSpan): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const a of span.attributes ?? []) {
    const v = a.value;
    out[a.key] = v.stringValue ??
      (v.intValue !== undefined ? Number(v.intValue) : v.boolValue ?? v.doubleValue);
  }
  return out;
}

/** An OTLP/HTTP JSON receiver collecting `/v1/traces`. */
function otlpReceiver(): { url: string; spans: OtlpSpan[]; raw: string[]; close: () => Promise<void> } {
  const spans: OtlpSpan[] = [];
  const raw: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const text = await request.text();
    if (new URL(request.url).pathname === "/v1/traces") {
      raw.push(text);
      const body = JSON.parse(text);
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
    }
    return Response.json({});
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, spans, raw, close: () => server.shutdown() };
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "NPM_CONFIG_REGISTRY"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Reads stdout until the `listening` line (at most `ms`), then keeps draining it. */
async function listeningUrl(child: Deno.ChildProcess, ms: number): Promise<string> {
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const deadline = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("server did not start")), ms);
  });
  try {
    while (Date.now() < deadline) {
      const { value, done } = await Promise.race([lines.read(), timeout]);
      if (done) throw new Error("server exited before listening");
      buffer += value;
      const match = /"msg":"listening".*?"url":"([^"]+)"/.exec(buffer);
      if (match) return match[1]!;
    }
    throw new Error("server did not start");
  } finally {
    clearTimeout(timer);
    (async () => {
      try {
        while (!(await lines.read()).done) { /* discard */ }
      } catch { /* gone */ }
    })();
  }
}

Deno.test({
  name: "OTel: a failed-over request arrives as a request span and two upstream spans with their attributes",
  sanitizeResources: false,
  fn: async () => {
    let calls = 0;
    const fake = fakeOpenAI(() => ++calls === 1 ? openAIFailure(429, "Rate limit reached") : undefined);
    const receiver = otlpReceiver();
    const dir = await Deno.makeTempDir({ prefix: "amq2api-otel-" });
    const dbPath = join(dir, "amq2api.db");
    const store = openSqliteStore(dbPath);
    const accounts = [];
    for (const key of ["key-one", "key-two"]) {
      accounts.push(
        await store.accounts.create({
          type: "custom_api",
          label: key,
          clientSecret: key,
          other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-x" },
          rate_limit_per_hour: 0,
        }),
      );
    }
    await store.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: [...FLAGS, MAIN],
      cwd: dir,
      clearEnv: true,
      env: {
        ...baseEnv(),
        PORT: "0",
        DATABASE_URL: `sqlite:${dbPath}`,
        API_KEY,
        ENABLE_AUTO_REFRESH: "false",
        OTEL_DENO: "true",
        OTEL_SERVICE_NAME: "amq2api-test",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      const url = await listeningUrl(child, 30_000);
      const response = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": API_KEY },
        body: JSON.stringify({
          model: "gpt-x",
          max_tokens: 16,
          messages: [{ role: "user", content: PROMPT }],
        }),
      });
      assert.equal(response.status, 200);
      await response.json();

      const upstream = () => receiver.spans.filter((s) => s.name === "upstream custom_api");
      const request = () => receiver.spans.find((s) => s.name === "POST /v1/messages");
      for (let i = 0; i < 100 && (upstream().length < 2 || !request()); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const requestSpan = request();
      assert.ok(requestSpan, `no request span among ${receiver.spans.map((s) => s.name).join(", ")}`);
      const requestAttributes = attrs(requestSpan);
      assert.equal(requestAttributes["http.route"], "/v1/messages");
      assert.equal(requestAttributes["amq2api.channel"], "custom_api");
      assert.equal(requestAttributes["http.request.method"], "POST");
      assert.equal(Number(requestAttributes["http.response.status_code"]), 200);
      const spans = upstream().map(attrs).sort((a, b) =>
        Number(a["amq2api.retries"]) - Number(b["amq2api.retries"])
      );
      assert.equal(spans.length, 2);
      const ids = accounts.map((a) => a.id);
      assert.equal(spans[0]!["amq2api.outcome"], "throttled");
      assert.equal(spans[0]!["amq2api.failover_hops"], 0);
      assert.equal(spans[1]!["amq2api.outcome"], "success");
      assert.equal(spans[1]!["amq2api.failover_hops"], 1);
      assert.equal(spans[1]!["amq2api.retries"], 1);
      for (const span of spans) {
        assert.equal(span["amq2api.channel"], "custom_api");
        assert.equal(span["amq2api.model"], "gpt-x");
        assert.ok(ids.includes(String(span["amq2api.account_id"])));
      }
      assert.notEqual(spans[0]!["amq2api.account_id"], spans[1]!["amq2api.account_id"]);
      // Both upstream spans hang under the request span.
      for (const span of upstream()) {
        assert.equal(span.traceId, requestSpan.traceId);
        assert.equal(span.parentSpanId, requestSpan.spanId);
      }
      // Nothing exported carries the prompt or a key.
      const exported = receiver.raw.join("\n");
      for (const secret of [PROMPT, API_KEY, "key-one", "key-two"]) {
        assert.ok(!exported.includes(secret), secret);
      }
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await stderr;
      await receiver.close();
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
