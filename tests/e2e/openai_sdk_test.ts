/**
 * The official `openai` SDK against `/v1/chat/completions`, over Amazon Q, Gemini and a custom
 * OpenAI-format upstream: text streamed and not, tool calls, usage with `include_usage`, a pre-stream error
 * as an `APIError` with the right status, and a mid-stream failure that makes the SDK throw.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { openAIError } from "../_helpers/fake_openai_upstream.ts";
import {
  amazonQFailsMidStream,
  type ChannelName,
  DIALECTS,
  type Json,
  withHarness,
} from "../_helpers/e2e_harness.ts";

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [{
  type: "function",
  function: {
    name: "Bash",
    description: "Runs a shell command.",
    parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
  },
}];

/** A pre-stream failure answer in each upstream's format. */
function failure(channel: ChannelName, status: 400 | 429): Response {
  switch (channel) {
    case "amazonq":
      return new Response(
        JSON.stringify(
          status === 429
            ? { __type: "ThrottlingException", message: "Rate exceeded" }
            : { __type: "ValidationException", message: "Improperly formed request." },
        ),
        { status, headers: { "content-type": "application/x-amz-json-1.0" } },
      );
    case "gemini":
      return Response.json({
        error: status === 429
          ? {
            code: 429,
            status: "RESOURCE_EXHAUSTED",
            message: "Resource has been exhausted",
            details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "9s" }],
          }
          : { code: 400, status: "INVALID_ARGUMENT", message: "Invalid JSON payload received." },
      }, { status });
    default:
      return status === 429
        ? openAIError(429, "Rate limit reached", "rate_limit_exceeded", null, { "retry-after": "9" })
        : openAIError(400, "Invalid JSON payload received.", "invalid_request_error", null);
  }
}

for (const channel of ["amazonq", "gemini", "openai"] as ChannelName[]) {
  const dialect = DIALECTS[channel];

  Deno.test(`openai sdk / ${channel}: non-streamed text`, async () => {
    await withHarness(channel, () => dialect.text(["Hel", "lo ", "world"]), async (h) => {
      const completion = await h.openai().chat.completions.create({
        model: dialect.model,
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }],
      });
      assert.match(completion.id, /^chatcmpl-/);
      assert.equal(completion.object, "chat.completion");
      assert.equal(completion.model, dialect.model);
      assert.equal(completion.choices[0]!.message.role, "assistant");
      assert.equal(completion.choices[0]!.message.content, "Hello world");
      assert.equal(completion.choices[0]!.finish_reason, "stop");
      assert.ok(completion.usage!.completion_tokens > 0);
      assert.ok(completion.usage!.prompt_tokens > 0);
    });
  });

  Deno.test(`openai sdk / ${channel}: streamed text with include_usage`, async () => {
    await withHarness(channel, () => dialect.text(["One, ", "two, ", "three."]), async (h) => {
      const stream = await h.openai().chat.completions.create({
        model: dialect.model,
        messages: [{ role: "user", content: "Count" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = "";
      const finishes: string[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert.equal(chunk.object, "chat.completion.chunk");
        assert.match(chunk.id, /^chatcmpl-/);
        for (const choice of chunk.choices) {
          content += choice.delta.content ?? "";
          if (choice.finish_reason) finishes.push(choice.finish_reason);
        }
        if (chunk.usage) usage = chunk.usage;
      }
      assert.ok(chunks >= 3);
      assert.equal(content, "One, two, three.");
      assert.deepEqual(finishes, ["stop"]);
      assert.ok(usage, "no usage chunk");
      assert.ok(usage.prompt_tokens > 0);
      assert.ok(usage.completion_tokens > 0);
      assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
      assert.equal((await h.usage()).length, 1);
    });
  });

  Deno.test(`openai sdk / ${channel}: tool calls, streamed and not, and the result sent back`, async () => {
    await withHarness(
      channel,
      (_c, index) => index < 2 ? dialect.tool("Bash", { command: "ls -la" }) : dialect.text(["Two files."]),
      async (h) => {
        const client = h.openai();
        const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
          { role: "user", content: "List the files" },
        ];
        const plain = await client.chat.completions.create({ model: dialect.model, messages, tools: TOOLS });
        const choice = plain.choices[0]!;
        assert.equal(choice.finish_reason, "tool_calls");
        const call = choice.message.tool_calls?.[0];
        assert.ok(call && call.type === "function", JSON.stringify(choice.message));
        assert.ok(call.id.length > 0);
        assert.equal(call.function.name, "Bash");
        assert.deepEqual(JSON.parse(call.function.arguments), { command: "ls -la" });

        const streamed = await client.chat.completions.stream({
          model: dialect.model,
          messages,
          tools: TOOLS,
        })
          .finalChatCompletion();
        const sChoice = streamed.choices[0]!;
        assert.equal(sChoice.finish_reason, "tool_calls");
        const sCall = sChoice.message.tool_calls?.[0];
        assert.ok(sCall && sCall.type === "function");
        assert.ok(sCall.id.length > 0);
        assert.equal(sCall.function.name, "Bash");
        assert.deepEqual(JSON.parse(sCall.function.arguments), { command: "ls -la" });

        const answer = await client.chat.completions.create({
          model: dialect.model,
          tools: TOOLS,
          messages: [
            ...messages,
            { role: "assistant", content: choice.message.content, tool_calls: [call] },
            { role: "tool", tool_call_id: call.id, content: "file-list: a.txt b.txt" },
          ],
        });
        assert.equal(answer.choices[0]!.message.content, "Two files.");
        const received = dialect.toolResult(h.upstream.calls[2]!.body);
        assert.ok(received, JSON.stringify(h.upstream.calls[2]!.body));
        assert.match(received.content, /file-list: a\.txt b\.txt/);
        if (channel === "gemini") {
          const parts: Json[] = h.upstream.calls[2]!.body.request.contents[1].parts;
          assert.equal(parts.find((p) => p.functionCall)?.thoughtSignature, "SIG_CALL");
        }
      },
    );
  });

  for (const status of [400, 429] as const) {
    Deno.test(`openai sdk / ${channel}: an upstream ${status} before the stream is an APIError ${status}`, async () => {
      await withHarness(channel, () => failure(channel, status), async (h) => {
        for (const stream of [false, true]) {
          const error = await (async () => {
            const result = await h.openai().chat.completions.create({
              model: dialect.model,
              messages: [{ role: "user", content: "hi" }],
              stream,
            });
            if (stream) { for await (const _ of result as AsyncIterable<unknown>) { /* drain */ } }
          })().then(() => null, (e) => e);
          assert.ok(error instanceof OpenAI.APIError, String(error));
          assert.equal(error.status, status);
          assert.ok(
            status === 429 ? error instanceof OpenAI.RateLimitError : error instanceof OpenAI.BadRequestError,
          );
          // OpenAI's error shape: {error: {message, type, ...}}.
          assert.equal(typeof (error.error as { message?: unknown }).message, "string");
          if (status === 429) assert.ok(Number(error.headers?.get("retry-after")) >= 1);
          // A throttled account cools down; clear it so the streamed variant reaches the upstream too.
          await h.t.store.accounts.update(h.accounts[0]!.id, { cooldown_until: null, parked_until: null });
        }
        assert.equal(h.upstream.calls.length, 2);
      });
    });
  }
}

Deno.test("openai sdk / amazonq: an exception frame mid-stream makes the SDK stream throw", async () => {
  await withHarness(
    "amazonq",
    amazonQFailsMidStream,
    async (h) => {
      const stream = await h.openai().chat.completions.create({
        model: h.dialect.model,
        messages: [{ role: "user", content: "story" }],
        stream: true,
      });
      let content = "";
      const error = await (async () => {
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
      })().then(() => null, (e) => e);
      assert.equal(content, "Once upon a time");
      assert.ok(error instanceof OpenAI.APIError, `expected an error, got ${error}`);
    },
  );
});
