/**
 * Gemini through the pool: a 429 before the first byte is served by another account, concurrent requests
 * with an expired token share one Google refresh, and a Claude-format passthrough records its usage once.
 */
import assert from "node:assert/strict";
import type Anthropic from "@anthropic-ai/sdk";
import { jsonResponse } from "../_helpers/gemini_helpers.ts";
import { user, withHarness } from "../_helpers/e2e_harness.ts";

function resourceExhausted(retryDelay: string): Response {
  return jsonResponse({
    error: {
      code: 429,
      message: "Resource has been exhausted (e.g. check quota).",
      status: "RESOURCE_EXHAUSTED",
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay }],
    },
  }, 429);
}

Deno.test("gemini: a 429 RESOURCE_EXHAUSTED before the first byte is served by the other account", async () => {
  await withHarness(
    "gemini",
    (call, index) =>
      index === 0 ? resourceExhausted("12s") : geminiText(`served by ${call.headers.get("authorization")}`),
    async (h) => {
      const message = await h.anthropic().messages.create({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("hi")],
      });
      assert.equal(h.upstream.calls.length, 2);
      const tokens = h.upstream.calls.map((c) => c.headers.get("authorization"));
      assert.notEqual(tokens[0], tokens[1]);
      assert.equal((message.content[0] as Anthropic.TextBlock).text, `served by ${tokens[1]}`);
      const throttled = h.accounts.find((a) => `Bearer ${a.accessToken}` === tokens[0])!;
      const stored = (await h.t.store.accounts.get(throttled.id))!;
      // The retry hint drives the cooldown.
      assert.ok(stored.cooldown_until !== null);
      const remaining = stored.cooldown_until - Date.now();
      assert.ok(remaining > 5_000 && remaining <= 12_000, String(remaining));
    },
    { accounts: 2 },
  );
});

function geminiText(text: string): Response {
  const chunk = {
    response: {
      candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 },
    },
  };
  return new Response(`data: ${JSON.stringify(chunk)}\r\n\r\n`, {
    headers: { "content-type": "text/event-stream" },
  });
}

Deno.test("gemini: 20 concurrent requests with an expired token share one Google refresh", async () => {
  await withHarness(
    "gemini",
    () => geminiText("ok"),
    async (h) => {
      const client = h.anthropic();
      const answers = await Promise.all(
        Array.from(
          { length: 20 },
          () => client.messages.create({ model: h.dialect.model, max_tokens: 16, messages: [user("hi")] }),
        ),
      );
      assert.equal(answers.length, 20);
      assert.equal(h.upstream.tokenCalls, 1);
      for (const call of h.upstream.calls) assert.equal(call.headers.get("authorization"), "Bearer fresh-0");
    },
    { accountOverrides: { tokenExpiresAt: Date.now() - 1000 } },
  );
});

Deno.test("custom claude passthrough: the stream reaches the client unchanged but for the model, usage recorded once", async () => {
  await withHarness(
    "claude",
    (_call) => claudeStream(),
    async (h) => {
      const response = await h.post("/v1/messages", {
        model: h.dialect.model,
        max_tokens: 64,
        stream: true,
        messages: [user("hi")],
      });
      const text = await response.text();
      assert.match(text, /"text":"pass"/);
      assert.ok(text.includes(`"model":"${h.dialect.model}"`));
      assert.ok(!text.includes("upstream-model-name"));
      const usage = await h.usage();
      assert.equal(usage.length, 1);
      assert.equal(usage[0].input_tokens, 21);
      assert.equal(usage[0].output_tokens, 4);
      assert.equal(usage[0].cache_read_input_tokens, 3);
    },
  );
});

function claudeStream(): Response {
  const events = [
    {
      type: "message_start",
      message: {
        id: "msg_upstream",
        type: "message",
        role: "assistant",
        model: "upstream-model-name",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 21, output_tokens: 1, cache_read_input_tokens: 3 },
      },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "pass" } },
    { type: "content_block_stop", index: 0 },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 4 },
    },
    { type: "message_stop" },
  ];
  const body = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}
