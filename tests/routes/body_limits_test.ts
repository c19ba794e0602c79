/**
 * Body limits by route (small before authentication, `BODY_LIMIT_MB` only for authenticated `/v1/*`) and the
 * JSON nesting limit every JSON route applies before parsing.
 */
import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../_helpers/test_app.ts";

const API_KEY = "sk-body-limit-key-0001";
const JSON_HEADERS = { "content-type": "application/json" };

/** A body streamed in 64 KiB chunks without Content-Length; counts the chunks the server pulled. */
function chunked(totalBytes: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  const chunks = Math.ceil(totalBytes / chunk.length);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled++;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled: () => pulled };
}

async function expectError(response: Response, status: number, type: string): Promise<string> {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.equal(body.type, "error", JSON.stringify(body));
  assert.equal(body.error.type, type);
  return body.error.message;
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

Deno.test("public routes refuse bodies over 64 KiB before reading them, streamed or not", async () => {
  const t = makeTestApp();
  try {
    const big = JSON.stringify({ username: "admin", password: "x".repeat(100 * 1024) });
    const message = await expectError(
      await t.request("/api/admin/login", { method: "POST", headers: JSON_HEADERS, body: big }),
      413,
      "request_too_large",
    );
    assert.match(message, /64 KiB/);
    await expectError(
      await t.request("/api/admin/setup", { method: "POST", headers: JSON_HEADERS, body: big }),
      413,
      "request_too_large",
    );
    // Without Content-Length the body is cut off while it streams in, long before all 60 MiB are read.
    const stream = chunked(60 * 1024 * 1024);
    await expectError(
      await t.request("/api/admin/login", {
        method: "POST",
        headers: JSON_HEADERS,
        body: stream.body,
        duplex: "half",
      } as RequestInit),
      413,
      "request_too_large",
    );
    assert.ok(stream.pulled() < 10, `pulled ${stream.pulled()} chunks`);
    // A small body still reaches the route (a 4xx from the route itself, not a 413).
    const small = await t.request("/api/admin/login", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ username: "nobody", password: "wrong-password" }),
    });
    assert.notEqual(small.status, 413);
    await small.body?.cancel();
    assert.equal((await t.request("/health")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("telemetry takes up to 1 MiB; more is a 413", async () => {
  const t = makeTestApp();
  try {
    const ok = await t.request("/api/event_logging/batch", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ events: ["x".repeat(512 * 1024)] }),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    await expectError(
      await t.request("/api/event_logging/batch", {
        method: "POST",
        headers: JSON_HEADERS,
        body: "x".repeat(2 * 1024 * 1024),
      }),
      413,
      "request_too_large",
    );
  } finally {
    await t.close();
  }
});

Deno.test("the large limit is for authenticated /v1 only: a stranger gets 401 before the body is read", async () => {
  const t = makeTestApp({ env: { API_KEY, BODY_LIMIT_MB: "4" } });
  try {
    const request = {
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "word ".repeat(400_000) }], // 2 MB
    };
    const counted = await t.request("/v1/messages/count_tokens", {
      method: "POST",
      headers: { ...JSON_HEADERS, "x-api-key": API_KEY },
      body: JSON.stringify(request),
    });
    assert.equal(counted.status, 200);
    assert.ok((await counted.json()).input_tokens > 300_000);

    const stream = chunked(60 * 1024 * 1024);
    await expectError(
      await t.request("/v1/messages", {
        method: "POST",
        headers: JSON_HEADERS,
        body: stream.body,
        duplex: "half",
      } as RequestInit),
      401,
      "authentication_error",
    );
    assert.ok(stream.pulled() <= 1, `pulled ${stream.pulled()} chunks`);

    // Authenticated, past BODY_LIMIT_MB: still a 413, in OpenAI's shape on the OpenAI route.
    const tooBig = JSON.stringify({ ...request, messages: [{ role: "user", content: "x".repeat(5 << 20) }] });
    await expectError(
      await t.request("/v1/messages", {
        method: "POST",
        headers: { ...JSON_HEADERS, "x-api-key": API_KEY },
        body: tooBig,
      }),
      413,
      "request_too_large",
    );
    const openai = await t.request("/v1/chat/completions", {
      method: "POST",
      headers: { ...JSON_HEADERS, authorization: `Bearer ${API_KEY}` },
      body: tooBig,
    });
    assert.equal(openai.status, 413);
    const body = await openai.json();
    assert.equal(body.type, undefined);
    assert.match(body.error.message, /BODY_LIMIT_MB/);
  } finally {
    await t.close();
  }
});

Deno.test("the admin API takes imports of several MiB after admin auth", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const response = await t.request("/v2/accounts/import", {
      method: "POST",
      headers: { ...JSON_HEADERS, "x-session-token": token },
      body: JSON.stringify({ data: "# comment\n".repeat(300_000) }), // 3 MB
    });
    assert.notEqual(response.status, 413);
    await response.body?.cancel();
    const unauthenticated = await t.request("/v2/accounts/import", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ data: "x".repeat(3 << 20) }),
    });
    assert.equal(unauthenticated.status, 401);
    await unauthenticated.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("JSON nested deeper than 128 levels is a 400 naming the limit on every JSON route, never a 500", async () => {
  const t = makeTestApp({ env: { BODY_LIMIT_MB: "8" } });
  try {
    const token = await adminSession(t);
    const million = nested(1_000_000);
    const routes: Array<{ method: string; path: string; body: string; headers?: Record<string, string> }> = [
      { method: "POST", path: "/v1/messages", body: million },
      { method: "POST", path: "/v1/messages/count_tokens", body: million },
      { method: "POST", path: "/v1/chat/completions", body: million },
      {
        method: "POST",
        path: "/v1/messages/count_tokens",
        // Deep inside an otherwise valid request, within strings' reach of the scanner.
        body: `{"model":"m","messages":[{"role":"user","content":"a \\" [[[ {"}],"metadata":${
          nested(5_000)
        }}`,
      },
      { method: "POST", path: "/api/admin/login", body: nested(1_000) },
      { method: "POST", path: "/v2/accounts", body: million, headers: { "x-session-token": token } },
      { method: "PUT", path: "/v2/config", body: million, headers: { "x-session-token": token } },
      { method: "POST", path: "/v2/keys", body: million, headers: { "x-session-token": token } },
    ];
    for (const route of routes) {
      const response = await t.request(route.path, {
        method: route.method,
        headers: { ...JSON_HEADERS, ...route.headers },
        body: route.body,
      });
      assert.equal(response.status, 400, `${route.method} ${route.path}`);
      const body = await response.json();
      const message = body.error.message as string;
      assert.match(message, /JSON nesting deeper than 128 levels/, `${route.path}: ${message}`);
    }
    // 128 levels is still fine as JSON (the route then judges the content).
    const ok = await t.request("/v1/messages/count_tokens", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        metadata: JSON.parse(nested(120)),
      }),
    });
    assert.notEqual(ok.status, 500);
    await ok.body?.cancel();
    assert.equal((await t.request("/health")).status, 200);
  } finally {
    await t.close();
  }
});
