import assert from "node:assert/strict";
import { json, makeTestApp } from "../_helpers/test_app.ts";
import type { Channel } from "../../lib/accounts/channel.ts";

async function expectError(response: Response, status: number, type: string, fragment?: string) {
  assert.equal(response.status, status);
  assert.match(response.headers.get("request-id") ?? "", /^req_/);
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = await response.json();
  assert.equal(body.type, "error");
  assert.equal(body.error.type, type);
  assert.equal(typeof body.error.message, "string");
  if (fragment) assert.ok(body.error.message.includes(fragment), body.error.message);
  return body;
}

const valid = { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };

Deno.test("POST /v1/messages rejects malformed JSON, wrong types and missing fields with field names", async () => {
  const t = makeTestApp();
  try {
    await expectError(
      await t.request("/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      }),
      400,
      "invalid_request_error",
      "not valid JSON",
    );
    await expectError(
      await t.request("/v1/messages", json({ ...valid, max_tokens: "many" })),
      400,
      "invalid_request_error",
      "max_tokens",
    );
    await expectError(
      await t.request("/v1/messages", json({ model: "m", messages: [{ role: "user", content: "x" }] })),
      400,
      "invalid_request_error",
      "max_tokens: Field required",
    );
    await expectError(
      await t.request(
        "/v1/messages",
        json({ ...valid, messages: [{ role: "user", content: [{ type: "bogus" }] }] }),
      ),
      400,
      "invalid_request_error",
      "messages.0.content",
    );
    await expectError(
      await t.request(
        "/v1/messages",
        json({ ...valid, messages: [{ role: "system", content: "only system" }] }),
      ),
      400,
      "invalid_request_error",
      "messages",
    );
    await expectError(await t.request("/v1/messages", json([1, 2, 3])), 400, "invalid_request_error");
  } finally {
    await t.close();
  }
});

Deno.test("Claude Code's extra fields, adaptive thinking and system-role messages are accepted", async () => {
  const t = makeTestApp();
  try {
    const body = {
      ...valid,
      thinking: { type: "adaptive", display: "updates" },
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      output_config: { effort: "medium" },
      metadata: { user_id: JSON.stringify({ session_id: "s" }) },
      system: [{ type: "text", text: "x-anthropic-billing-header: cc_version=1;" }, {
        type: "text",
        text: "You are Claude Code.",
      }],
      messages: [{ role: "system", content: "extra instructions" }, { role: "user", content: "hi" }],
      stream: true,
    };
    // Valid input gets past validation: with no account it is the 404 "no channel serves it", not a 400.
    await expectError(
      await t.request("/v1/messages?beta=true", json(body)),
      404,
      "not_found_error",
      "no channel serves it",
    );
  } finally {
    await t.close();
  }
});

Deno.test("unknown routes are Claude 404s and huge bodies are 413s", async () => {
  const t = makeTestApp({ env: { BODY_LIMIT_MB: "1" } });
  try {
    await expectError(await t.request("/v1/nothing-here"), 404, "not_found_error");
    const huge = JSON.stringify({
      ...valid,
      messages: [{ role: "user", content: "x".repeat(2 * 1024 * 1024) }],
    });
    await expectError(
      await t.request("/v1/messages", {
        method: "POST",
        body: huge,
        headers: { "content-type": "application/json" },
      }),
      413,
      "request_too_large",
    );
    // The process still serves requests afterwards.
    assert.equal((await t.request("/health")).status, 200);
  } finally {
    await t.close();
  }
});

function throwingChannel(error: () => unknown): Channel {
  return {
    type: "custom_api",
    open: () => Promise.reject(error()),
  };
}

Deno.test("an internal failure is a Claude 500 api_error without internals", async () => {
  const t = makeTestApp({
    backends: () => ({
      channels: { custom_api: throwingChannel(() => new TypeError("secret internal detail")) },
      refreshers: {},
    }),
  });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "k",
      other: { api_base: "http://127.0.0.1:9/v1", format: "openai" },
    });
    const body = await expectError(await t.request("/v1/messages", json(valid)), 500, "api_error");
    assert.ok(!body.error.message.includes("secret internal detail"));
  } finally {
    await t.close();
  }
});

Deno.test("429 carries retry-after and 529 means every account is busy", async () => {
  const { UpstreamError } = await import("../../lib/errors.ts");
  const t = makeTestApp({
    poolWaitMs: 30,
    backends: () => ({
      channels: {
        custom_api: throwingChannel(() =>
          new UpstreamError("throttled", "slow down", {
            provider: "openai",
            upstreamStatus: 429,
            retryAfterMs: 7000,
          })
        ),
      },
      refreshers: {},
    }),
  });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "k",
      other: { api_base: "http://127.0.0.1:9/v1" },
    });
    const response = await t.request("/v1/messages", json(valid));
    assert.equal(response.headers.get("retry-after"), "7");
    await expectError(response, 429, "rate_limit_error");
  } finally {
    await t.close();
  }
  // Busy: a cap of 0 in-flight slots left for the only account.
  let release: (() => void) | undefined;
  const hold = new Promise<void>((r) => release = r);
  const t2 = makeTestApp({
    poolWaitMs: 30,
    backends: () => ({
      channels: {
        custom_api: {
          type: "custom_api",
          open: async () => {
            await hold;
            throw new UpstreamError("transient", "x", { provider: "openai" });
          },
        },
      },
      refreshers: {},
    }),
  });
  try {
    await t2.store.accounts.create({
      type: "custom_api",
      clientSecret: "k",
      max_inflight: 1,
      other: { api_base: "http://127.0.0.1:9/v1" },
    });
    const first = t2.request("/v1/messages", json(valid));
    await new Promise((r) => setTimeout(r, 10));
    await expectError(await t2.request("/v1/messages", json(valid)), 529, "overloaded_error", "busy");
    release!();
    await (await first).body?.cancel();
  } finally {
    await t2.close();
  }
});
