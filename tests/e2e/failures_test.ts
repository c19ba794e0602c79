/**
 * Failures as the official SDKs see them: errors after the stream began end it with one `error` event
 * (the SDK throws, never a quiet end), errors before it are Claude error JSON with the right status and
 * SDK error class, and a throttled account fails over to another one before the client sees a byte.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { concat, text as qText } from "../_helpers/amazonq_helpers.ts";
import { chunk as geminiChunk, sse as geminiSse } from "../_helpers/gemini_helpers.ts";
import { openAIError, sseResponse } from "../_helpers/fake_openai_upstream.ts";
import {
  amazonQResponse,
  exceptionFrame,
  type Harness,
  parseSse,
  user,
  withHarness,
} from "../_helpers/e2e_harness.ts";

/** Streams through the SDK; returns the text seen and the error the stream failed with. */
async function failingStream(h: Harness): Promise<{ seen: string; error: unknown }> {
  const stream = h.anthropic().messages.stream({
    model: h.dialect.model,
    max_tokens: 256,
    messages: [user("Tell me a story")],
  });
  let seen = "";
  stream.on("text", (delta) => (seen += delta));
  const error = await stream.finalMessage().then(
    (message) => assert.fail(`stream ended normally: ${JSON.stringify(message)}`),
    (e) => e,
  );
  return { seen, error };
}

/** The raw SSE body ends with one `error` event and nothing after it. */
async function assertRawEndsWithError(h: Harness, type: string): Promise<void> {
  const response = await h.post("/v1/messages", {
    model: h.dialect.model,
    max_tokens: 256,
    stream: true,
    messages: [user("Tell me a story")],
  });
  assert.equal(response.status, 200);
  const frames = parseSse(await response.text());
  const last = frames.at(-1)!;
  assert.equal(last.event, "error");
  assert.equal(last.data.type, "error");
  assert.equal(last.data.error.type, type);
  assert.equal(frames.filter((f) => f.event === "error").length, 1);
  assert.ok(!frames.some((f) => f.event === "message_stop" || f.event === "message_delta"));
  assert.equal(frames[0]!.event, "message_start");
}

Deno.test("amazonq: an exception frame mid-stream makes the SDK stream throw", async () => {
  await withHarness(
    "amazonq",
    () =>
      amazonQResponse([
        qText("Once upon "),
        qText("a time"),
        exceptionFrame("ThrottlingException", { message: "Rate exceeded mid-stream" }),
      ], { delayMs: 20 }),
    async (h) => {
      const { seen, error } = await failingStream(h);
      assert.equal(seen, "Once upon a time");
      assert.ok(error instanceof Anthropic.APIError, String(error));
      assert.match(String((error as Error).message), /Rate exceeded mid-stream/);
      // The throttled account now cools down; let it serve the raw check.
      const account = await h.t.store.accounts.get(h.accounts[0]!.id);
      assert.ok(account!.cooldown_until !== null && account!.cooldown_until > Date.now());
      await h.t.store.accounts.update(account!.id, { cooldown_until: null });
      await assertRawEndsWithError(h, "rate_limit_error");
    },
  );
});

Deno.test("amazonq: an upstream disconnect inside a frame makes the SDK stream throw", async () => {
  await withHarness(
    "amazonq",
    () => {
      const whole = concat([qText("Once upon "), qText("a time, there was")]);
      const cut = qText("Once upon ").length + 9;
      return amazonQResponse([whole.subarray(0, cut), whole.subarray(cut, cut + 5)], {
        delayMs: 20,
        breakAfter: true,
      });
    },
    async (h) => {
      const { seen, error } = await failingStream(h);
      assert.equal(seen, "Once upon ");
      assert.ok(error instanceof Anthropic.APIError, String(error));
      await assertRawEndsWithError(h, "api_error");
    },
  );
});

Deno.test("amazonq: a body that ends cleanly inside a frame is an error, not a short answer", async () => {
  await withHarness(
    "amazonq",
    () => {
      const whole = concat([qText("Once upon "), qText("a time")]);
      return amazonQResponse([whole.subarray(0, qText("Once upon ").length + 4)]);
    },
    async (h) => {
      const { error } = await failingStream(h);
      assert.ok(error instanceof Anthropic.APIError, String(error));
    },
  );
});

Deno.test("gemini: an error chunk mid-stream makes the SDK stream throw", async () => {
  await withHarness(
    "gemini",
    () =>
      sseResponse([
        geminiSse(geminiChunk([{ text: "Once upon " }])),
        geminiSse(geminiChunk([{ text: "a time" }])),
        geminiSse({ error: { code: 500, message: "Internal error encountered.", status: "INTERNAL" } }),
      ], { delayMs: 20 }),
    async (h) => {
      const { seen, error } = await failingStream(h);
      assert.equal(seen, "Once upon a time");
      assert.ok(error instanceof Anthropic.APIError, String(error));
      await assertRawEndsWithError(h, "api_error");
    },
  );
});

Deno.test("gemini: a stream that stops without a finish reason is an error", async () => {
  await withHarness(
    "gemini",
    () =>
      sseResponse([
        geminiSse(geminiChunk([{ text: "Once upon " }])),
        geminiSse(geminiChunk([{ text: "a" }])),
      ]),
    async (h) => {
      const { error } = await failingStream(h);
      assert.ok(error instanceof Anthropic.APIError, String(error));
    },
  );
});

Deno.test("custom openai: an upstream 400 is an SDK BadRequestError with the upstream's message", async () => {
  await withHarness(
    "openai",
    () => openAIError(400, "max_tokens is too large: 8000", "invalid_request_error", "invalid_value"),
    async (h) => {
      const error = await h.anthropic().messages.create({
        model: h.dialect.model,
        max_tokens: 8000,
        messages: [user("hi")],
      }).then(() => null, (e) => e);
      assert.ok(error instanceof Anthropic.BadRequestError, String(error));
      assert.equal(error.status, 400);
      assert.equal((error.error as { type: string }).type, "error");
      assert.equal((error.error as { error: { type: string } }).error.type, "invalid_request_error");
      assert.match(String(error.message), /max_tokens is too large: 8000/);
      // A bad request is not the account's fault: no other attempt was made.
      assert.equal(h.upstream.calls.length, 1);
    },
  );
});

Deno.test("custom claude: an upstream 400 is an SDK BadRequestError with the upstream's message", async () => {
  await withHarness(
    "claude",
    () =>
      Response.json({
        type: "error",
        error: { type: "invalid_request_error", message: "messages.0.content: field required" },
      }, { status: 400 }),
    async (h) => {
      const error = await h.anthropic().messages.create({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("hi")],
      }).then(() => null, (e) => e);
      assert.ok(error instanceof Anthropic.BadRequestError, String(error));
      assert.match(String(error.message), /messages\.0\.content: field required/);
    },
  );
});

Deno.test("a 429 with one account is an SDK RateLimitError with retry-after", async () => {
  await withHarness(
    "openai",
    () =>
      openAIError(429, "Rate limit reached for requests", "rate_limit_exceeded", "rate_limit_exceeded", {
        "retry-after": "7",
      }),
    async (h) => {
      const error = await h.anthropic({ maxRetries: 0 }).messages.create({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("hi")],
      }).then(() => null, (e) => e);
      assert.ok(error instanceof Anthropic.RateLimitError, String(error));
      assert.equal(error.status, 429);
      const retryAfter = Number(error.headers?.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after: ${error.headers?.get("retry-after")}`);
      assert.ok(error.headers?.get("request-id"));
      assert.equal(h.upstream.calls.length, 1);
    },
  );
});

Deno.test("amazonq: a 429 with one account is an SDK RateLimitError with retry-after", async () => {
  await withHarness(
    "amazonq",
    () =>
      new Response(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }), {
        status: 429,
        headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": "ThrottlingException" },
      }),
    async (h) => {
      const error = await h.anthropic({ maxRetries: 0 }).messages.stream({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("hi")],
      }).finalMessage().then(() => null, (e) => e);
      assert.ok(error instanceof Anthropic.RateLimitError, String(error));
      assert.ok(Number(error.headers?.get("retry-after")) >= 1);
    },
  );
});

Deno.test("a 429 on one account is served by the second account", async () => {
  await withHarness(
    "openai",
    (call, index) =>
      index === 0
        ? openAIError(429, "Rate limit reached", "rate_limit_exceeded", null, { "retry-after": "30" })
        : Response.json({
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1,
          model: "gpt-upstream",
          choices: [{
            index: 0,
            message: { role: "assistant", content: `served with ${call.headers.get("authorization")}` },
            finish_reason: "stop",
          }],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
    async (h) => {
      const message = await h.anthropic().messages.stream({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("hi")],
      }).finalMessage();
      assert.equal(h.upstream.calls.length, 2);
      const keys = h.upstream.calls.map((c) => c.headers.get("authorization"));
      assert.notEqual(keys[0], keys[1]);
      assert.equal((message.content[0] as Anthropic.TextBlock).text, `served with ${keys[1]}`);
      const usage = await h.usage();
      assert.equal(usage.length, 1);
      // The throttled account is cooling down now.
      const throttled = h.accounts.find((a) => `Bearer ${a.clientSecret}` === keys[0])!;
      const stored = await h.t.store.accounts.get(throttled.id);
      assert.ok(stored!.cooldown_until !== null && stored!.cooldown_until > Date.now());
    },
    { accounts: 2 },
  );
});

Deno.test("amazonq: context overflow is a 400 whose message starts `prompt is too long`", async () => {
  await withHarness(
    "amazonq",
    () =>
      new Response(
        JSON.stringify({
          __type: "com.amazon.aws.codewhisperer#ValidationException",
          message: "Input is too long.",
          reason: "CONTENT_LENGTH_EXCEEDS_THRESHOLD",
        }),
        { status: 400, headers: { "content-type": "application/x-amz-json-1.0" } },
      ),
    async (h) => {
      const error = await h.anthropic().messages.stream({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("x".repeat(5000))],
      }).finalMessage().then(() => null, (e) => e);
      assert.ok(error instanceof Anthropic.BadRequestError, String(error));
      const body = error.error as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "invalid_request_error");
      assert.ok(body.error.message.startsWith("prompt is too long"), body.error.message);
      // Not the account's fault: it stays usable.
      const stored = await h.t.store.accounts.get(h.accounts[0]!.id);
      assert.equal(stored!.enabled, true);
      assert.equal(stored!.cooldown_until, null);
    },
  );
});
