import assert from "node:assert/strict";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { CustomChannel } from "../../../lib/custom/custom_channel.ts";
import {
  API_KEY,
  channelCall,
  claudeEvent,
  claudeRequest,
  customAccount,
  fakeSign,
  type FakeUpstream,
  openAIChunk,
  openAIError,
  openAIUsageChunk,
  sseResponse,
  startFakeUpstream,
  streamError,
} from "../../_helpers/fake_openai_upstream.ts";

const encoder = new TextEncoder();

function channel(): CustomChannel {
  return new CustomChannel({ fetch, sign: fakeSign, now: () => 1_700_000_000_000 });
}

async function withUpstream(
  handler: Parameters<typeof startFakeUpstream>[0],
  body: (upstream: FakeUpstream) => Promise<void>,
): Promise<void> {
  const upstream = startFakeUpstream(handler);
  try {
    await body(upstream);
  } finally {
    await upstream.close();
  }
}

function openAIAccount(upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return customAccount({ api_base: `${upstream.url}/v1/`, format: "openai", model: "gpt-4o", ...extra });
}

async function openError(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
    return error;
  }
  throw new Error("open() resolved");
}

Deno.test("CustomChannel streams OpenAI text and reports the upstream usage", async () => {
  await withUpstream(
    () =>
      sseResponse([
        openAIChunk({ role: "assistant", content: "" }),
        openAIChunk({ content: "Hello" }),
        openAIChunk({ content: " there" }),
        openAIChunk({}, "stop"),
        openAIUsageChunk(50, 3, 20),
        "data: [DONE]\n\n",
      ]),
    async (upstream) => {
      const request = claudeRequest({
        system: [{ type: "text", text: "x-anthropic-billing-header: cc_version=1;" }, {
          type: "text",
          text: "Be brief.",
        }],
        messages: [{ role: "user", content: "Hi" }],
        temperature: 0.2,
      });
      const events = await channel().open(channelCall(openAIAccount(upstream), { request }));
      const message = await MessageCollector.collect(events);
      assert.equal(message.id, "msg_test0001");
      assert.equal(message.model, "claude-sonnet-4-6");
      assert.deepEqual(message.content, [{ type: "text", text: "Hello there" }]);
      assert.equal(message.stop_reason, "end_turn");
      assert.deepEqual(message.usage, {
        input_tokens: 30,
        output_tokens: 3,
        cache_read_input_tokens: 20,
        cache_creation_input_tokens: 0,
      });
      const sent = upstream.requests[0]!;
      assert.equal(sent.path, "/v1/chat/completions");
      assert.equal(sent.headers.get("authorization"), `Bearer ${API_KEY}`);
      assert.deepEqual(sent.body, {
        model: "gpt-4o",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 1024,
        temperature: 0.2,
      });
    },
  );
});

Deno.test("CustomChannel handles an OpenAI upstream that answers one JSON completion", async () => {
  await withUpstream(
    () =>
      Response.json({
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1,
        model: "gpt-4o",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: "Sure.",
            tool_calls: [{
              id: "call_1",
              type: "function",
              function: { name: "Read", arguments: '{"path":"a"}' },
            }],
          },
          finish_reason: "tool_calls",
        }],
        usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
      }),
    async (upstream) => {
      const message = await MessageCollector.collect(
        await channel().open(channelCall(openAIAccount(upstream))),
      );
      assert.deepEqual(message.content, [
        { type: "text", text: "Sure." },
        { type: "tool_use", id: "call_1", name: "Read", input: { path: "a" } },
      ]);
      assert.equal(message.stop_reason, "tool_use");
      assert.equal(message.usage.output_tokens, 4);
    },
  );
});

Deno.test("CustomChannel passes a single tool call through as a tool_use block", async () => {
  await withUpstream(
    () =>
      sseResponse([
        openAIChunk({
          role: "assistant",
          content: null,
          tool_calls: [{
            index: 0,
            id: "call_9",
            type: "function",
            function: { name: "Bash", arguments: "" },
          }],
        }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '{"command":' } }] }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '"pwd"}' } }] }),
        openAIChunk({}, "tool_calls"),
        "data: [DONE]\n\n",
      ], { delayMs: 2 }),
    async (upstream) => {
      const message = await MessageCollector.collect(
        await channel().open(channelCall(openAIAccount(upstream))),
      );
      assert.deepEqual(message.content, [{
        type: "tool_use",
        id: "call_9",
        name: "Bash",
        input: { command: "pwd" },
      }]);
      assert.equal(message.stop_reason, "tool_use");
    },
  );
});

Deno.test("CustomChannel keeps two parallel interleaved tool calls apart", async () => {
  await withUpstream(
    () =>
      sseResponse([
        openAIChunk({
          tool_calls: [{
            index: 0,
            id: "call_a",
            type: "function",
            function: { name: "Read", arguments: "" },
          }],
        }),
        openAIChunk({
          tool_calls: [{
            index: 1,
            id: "call_b",
            type: "function",
            function: { name: "Read", arguments: "" },
          }],
        }),
        openAIChunk({ tool_calls: [{ index: 1, function: { arguments: '{"path":' } }] }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '"a.txt"}' } }] }),
        openAIChunk({ tool_calls: [{ index: 1, function: { arguments: '"b.txt"}' } }] }),
        openAIChunk({}, "tool_calls"),
        openAIUsageChunk(10, 20),
        "data: [DONE]\n\n",
      ]),
    async (upstream) => {
      const message = await MessageCollector.collect(
        await channel().open(channelCall(openAIAccount(upstream))),
      );
      assert.deepEqual(message.content, [
        { type: "tool_use", id: "call_a", name: "Read", input: { path: "a.txt" } },
        { type: "tool_use", id: "call_b", name: "Read", input: { path: "b.txt" } },
      ]);
    },
  );
});

Deno.test("CustomChannel copes with an upstream that repeats the tool id in every chunk", async () => {
  const chunk = (args: string) =>
    openAIChunk({
      tool_calls: [{ index: 0, id: "call_r", type: "function", function: { name: "Grep", arguments: args } }],
    });
  await withUpstream(
    () =>
      sseResponse([
        chunk(""),
        chunk('{"pattern"'),
        chunk(':"TODO"'),
        chunk("}"),
        openAIChunk({}, "tool_calls"),
      ]),
    async (upstream) => {
      const message = await MessageCollector.collect(
        await channel().open(channelCall(openAIAccount(upstream))),
      );
      assert.deepEqual(message.content, [{
        type: "tool_use",
        id: "call_r",
        name: "Grep",
        input: { pattern: "TODO" },
      }]);
    },
  );
});

Deno.test("CustomChannel turns reasoning_content into a signed thinking block before the text", async () => {
  await withUpstream(
    () =>
      sseResponse([
        openAIChunk({ role: "assistant", reasoning_content: "Two plus " }),
        openAIChunk({ reasoning_content: "two is four." }),
        openAIChunk({ content: "4" }),
        openAIChunk({}, "stop"),
        "data: [DONE]\n\n",
      ]),
    async (upstream) => {
      const request = claudeRequest({
        model: "claude-opus-4-6",
        messages: [{ role: "user", content: "2+2?" }],
        thinking: { type: "enabled", budget_tokens: 2000 },
      });
      const events = await channel().open(
        channelCall(openAIAccount(upstream, { supports_reasoning_effort: true }), {
          request,
          upstreamModel: "deepseek-r1",
        }),
      );
      const message = await MessageCollector.collect(events);
      assert.deepEqual(message.content, [
        { type: "thinking", thinking: "Two plus two is four.", signature: fakeSign("Two plus two is four.") },
        { type: "text", text: "4" },
      ]);
      assert.equal(upstream.requests[0]!.body.reasoning_effort, "low");
    },
  );
});

Deno.test("CustomChannel decodes a multi-byte character split across network chunks", async () => {
  const line = encoder.encode(openAIChunk({ content: "Grüße 🌍!" }));
  const emoji = new TextEncoder().encode("🌍");
  const at = findBytes(line, emoji) + 2; // inside the four-byte emoji
  await withUpstream(
    () => sseResponse([line.subarray(0, at), line.subarray(at), openAIChunk({}, "stop")], { delayMs: 15 }),
    async (upstream) => {
      const message = await MessageCollector.collect(
        await channel().open(channelCall(openAIAccount(upstream))),
      );
      assert.deepEqual(message.content, [{ type: "text", text: "Grüße 🌍!" }]);
    },
  );
});

function findBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("not found");
}

Deno.test("CustomChannel rejects an OpenAI 400 as a client error with the upstream's message", async () => {
  await withUpstream(
    () => openAIError(400, "Invalid value for 'temperature'", "invalid_request_error", "invalid_value"),
    async (upstream) => {
      const error = await openError(channel().open(channelCall(openAIAccount(upstream))));
      assert.equal(error.kind, "client");
      assert.equal(error.upstreamStatus, 400);
      assert.equal(error.message, "Invalid value for 'temperature'");
      assert.equal(error.clientError().status, 400);
    },
  );
});

Deno.test("CustomChannel rejects a 400 context overflow so Claude Code can compact", async () => {
  await withUpstream(
    () =>
      openAIError(
        400,
        "This model's maximum context length is 128000 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
      ),
    async (upstream) => {
      const error = await openError(channel().open(channelCall(openAIAccount(upstream))));
      assert.equal(error.kind, "context_overflow");
      assert.match(error.message, /^prompt is too long/);
    },
  );
});

Deno.test("CustomChannel rejects a 429 as throttled with the retry-after hint", async () => {
  await withUpstream(
    () =>
      openAIError(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded", {
        "retry-after": "7",
      }),
    async (upstream) => {
      const error = await openError(channel().open(channelCall(openAIAccount(upstream))));
      assert.equal(error.kind, "throttled");
      assert.equal(error.retryAfterMs, 7000);
      assert.equal(error.provider, "openai");
      assert.equal(error.clientError().status, 429);
    },
  );
});

Deno.test("CustomChannel classifies quota, auth, not-found and server failures", async () => {
  const cases: Array<[Response, string]> = [
    [
      openAIError(429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
      "quota_exhausted",
    ],
    [openAIError(402, "Payment required", "billing", null), "quota_exhausted"],
    [openAIError(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"), "auth"],
    [openAIError(403, "Forbidden", "permission_error", null), "auth"],
    [openAIError(404, "The model `x` does not exist", "invalid_request_error", "model_not_found"), "client"],
    [openAIError(413, "Request too large", "invalid_request_error", null), "client"],
    [new Response("<html>bad gateway</html>", { status: 502 }), "transient"],
    [openAIError(529, "Overloaded", "overloaded_error", null), "transient"],
  ];
  for (const [response, kind] of cases) {
    await withUpstream(() => response, async (upstream) => {
      const error = await openError(channel().open(channelCall(openAIAccount(upstream))));
      assert.equal(error.kind, kind, `${response.status} ${error.message}`);
      assert.equal(error.upstreamStatus, response.status);
    });
  }
});

Deno.test("CustomChannel fails when the upstream connection breaks mid-stream", async () => {
  await withUpstream(
    () => sseResponse([openAIChunk({ content: "Hal" })], { breakAfter: true }),
    async (upstream) => {
      const events = await channel().open(channelCall(openAIAccount(upstream)));
      const error = await streamError(events);
      assert.ok(error instanceof UpstreamError, String(error));
      assert.equal(error.kind, "transient");
    },
  );
});

Deno.test("CustomChannel fails when the upstream ends cleanly before finish_reason", async () => {
  await withUpstream(
    () => sseResponse([openAIChunk({ content: "Hal" })]),
    async (upstream) => {
      const events = await channel().open(channelCall(openAIAccount(upstream)));
      const error = await streamError(events);
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "transient");
      await assert.rejects(
        channel().open(channelCall(openAIAccount(upstream))).then((s) => MessageCollector.collect(s)),
      );
    },
  );
});

Deno.test("CustomChannel rejects an unreachable upstream as transient", async () => {
  const upstream = startFakeUpstream(() => new Response());
  const account = openAIAccount(upstream);
  await upstream.close();
  const error = await openError(channel().open(channelCall(account)));
  assert.equal(error.kind, "transient");
  assert.ok(!error.message.includes(API_KEY));
});

Deno.test("CustomChannel rejects a misconfigured account without calling fetch", async () => {
  const calls: string[] = [];
  const fake = new CustomChannel({
    fetch: (input) => {
      calls.push(String(input));
      return Promise.resolve(new Response());
    },
    sign: fakeSign,
  });
  const error = await openError(fake.open(channelCall(customAccount({ format: "openai" }))));
  assert.equal(error.kind, "auth");
  const noKey = await openError(fake.open(channelCall(customAccount({ api_base: "http://x" }, null))));
  assert.equal(noKey.kind, "auth");
  assert.equal(calls.length, 0);
});

Deno.test("CustomChannel cancels the upstream when the client goes away", async () => {
  let cancelled = false;
  const { promise: cancelledSeen, resolve } = Promise.withResolvers<void>();
  await withUpstream(
    () =>
      sseResponse([openAIChunk({ content: "streaming..." })], {
        stall: true,
        onCancel() {
          cancelled = true;
          resolve();
        },
      }),
    async (upstream) => {
      const controller = new AbortController();
      const events = await channel().open(
        channelCall(openAIAccount(upstream), { signal: controller.signal }),
      );
      const reader = events.getReader();
      assert.equal((await reader.read()).value?.type, "message_start");
      assert.equal((await reader.read()).value?.type, "content_block_start");
      controller.abort(new DOMException("client went away", "AbortError"));
      await assert.rejects(async () => {
        while (!(await reader.read()).done) { /* drain */ }
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([cancelledSeen, new Promise((r) => timer = setTimeout(r, 2000))]);
      clearTimeout(timer);
      assert.ok(cancelled, "the fake upstream saw its response body cancelled");
    },
  );
});

// ---------------------------------------------------------------- Claude-format passthrough

const CLAUDE_STREAM = [
  claudeEvent({
    type: "message_start",
    message: {
      id: "msg_upstream",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 321,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 50,
      },
    },
  }),
  claudeEvent({ type: "ping" }),
  claudeEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  claudeEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Bonjour" } }),
  claudeEvent({ type: "content_block_stop", index: 0 }),
  claudeEvent({
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 12 },
  }),
  claudeEvent({ type: "message_stop" }),
];

function claudeAccount(upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return customAccount({ api_base: upstream.url, format: "claude", ...extra });
}

Deno.test("CustomChannel passes a Claude-format stream through with our id and the client's model", async () => {
  await withUpstream(
    // CRLF line endings, which some upstreams send.
    () => sseResponse(CLAUDE_STREAM.map((event) => event.replaceAll("\n", "\r\n"))),
    async (upstream) => {
      const request = claudeRequest({
        model: "claude-sonnet-4-6",
        system: [{ type: "text", text: "x-anthropic-billing-header: cc_version=2;" }, {
          type: "text",
          text: "Sys",
        }],
        messages: [{ role: "user", content: "Salut" }],
        context_management: { edits: [] },
      });
      const events = await channel().open(channelCall(claudeAccount(upstream), {
        request,
        upstreamModel: "claude-sonnet-4-5-20250929",
        clientHeaders: { "anthropic-beta": "interleaved-thinking-2025-05-14,context-management-2025-06-27" },
      }));
      const message = await MessageCollector.collect(events);
      assert.equal(message.id, "msg_test0001");
      assert.equal(message.model, "claude-sonnet-4-6");
      assert.deepEqual(message.content, [{ type: "text", text: "Bonjour" }]);
      assert.deepEqual(message.usage, {
        input_tokens: 321,
        output_tokens: 12,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 50,
      });
      const sent = upstream.requests[0]!;
      assert.equal(sent.path, "/v1/messages");
      assert.equal(sent.headers.get("x-api-key"), API_KEY);
      assert.equal(sent.headers.get("authorization"), null);
      assert.equal(sent.headers.get("anthropic-version"), "2023-06-01");
      assert.equal(
        sent.headers.get("anthropic-beta"),
        "interleaved-thinking-2025-05-14,context-management-2025-06-27",
      );
      assert.equal(sent.body.model, "claude-sonnet-4-5-20250929");
      assert.equal(sent.body.stream, true);
      assert.deepEqual(sent.body.system, [{ type: "text", text: "Sys" }]);
      assert.deepEqual(sent.body.context_management, { edits: [] });
    },
  );
});

Deno.test("CustomChannel turns a Claude-format error event into an UpstreamError", async () => {
  await withUpstream(
    () =>
      sseResponse([
        CLAUDE_STREAM[0]!,
        claudeEvent({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
      ]),
    async (upstream) => {
      const error = await streamError(await channel().open(channelCall(claudeAccount(upstream))));
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "transient");
      assert.equal(error.upstreamStatus, 529);
    },
  );
});

Deno.test("CustomChannel fails a Claude-format stream that ends without message_stop", async () => {
  await withUpstream(
    () => sseResponse(CLAUDE_STREAM.slice(0, 4)),
    async (upstream) => {
      const error = await streamError(await channel().open(channelCall(claudeAccount(upstream))));
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "transient");
    },
  );
});

Deno.test("CustomChannel rejects Claude-format HTTP errors by status", async () => {
  const anthropicError = (status: number, type: string, message: string, headers = {}) =>
    new Response(JSON.stringify({ type: "error", error: { type, message } }), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  const cases: Array<[Response, string]> = [
    [
      anthropicError(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"),
      "context_overflow",
    ],
    [anthropicError(400, "invalid_request_error", "messages.1: bad"), "client"],
    [anthropicError(429, "rate_limit_error", "slow down", { "retry-after": "3" }), "throttled"],
    [anthropicError(529, "overloaded_error", "Overloaded"), "transient"],
  ];
  for (const [response, kind] of cases) {
    await withUpstream(() => response, async (upstream) => {
      const error = await openError(channel().open(channelCall(claudeAccount(upstream))));
      assert.equal(error.kind, kind);
      assert.equal(error.provider, "claude");
    });
  }
});

Deno.test("CustomChannel applies the Azure rules for provider azure", async () => {
  await withUpstream(
    () => sseResponse(CLAUDE_STREAM),
    async (upstream) => {
      const request = claudeRequest({
        messages: [
          { role: "user", content: "a" },
          {
            role: "assistant",
            content: [{ type: "thinking", thinking: "mine", signature: "amq2api.v1.xyz" }, {
              type: "text",
              text: "b",
            }],
          },
          { role: "user", content: "c" },
        ],
        thinking: { type: "enabled", budget_tokens: 2000 },
        context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      });
      await MessageCollector.collect(
        await channel().open(
          channelCall(claudeAccount(upstream, { provider: "azure", api_base: `${upstream.url}/anthropic` }), {
            request,
            clientHeaders: {
              "anthropic-beta": "context-management-2025-06-27,interleaved-thinking-2025-05-14",
            },
          }),
        ),
      );
      const sent = upstream.requests[0]!;
      assert.equal(sent.path, "/anthropic/v1/messages");
      assert.equal(sent.headers.get("authorization"), `Bearer ${API_KEY}`);
      assert.equal(sent.headers.get("anthropic-beta"), "interleaved-thinking-2025-05-14");
      assert.equal(sent.body.context_management, undefined);
      // Our own signature is foreign to Azure, so the last assistant turn does not start with a valid
      // thinking block: thinking goes off and all thinking blocks are dropped.
      assert.equal(sent.body.thinking, undefined);
      assert.deepEqual((sent.body.messages as Array<{ content: unknown }>)[1]!.content, [{
        type: "text",
        text: "b",
      }]);
    },
  );
});
