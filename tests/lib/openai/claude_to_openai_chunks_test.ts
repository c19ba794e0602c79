import assert from "node:assert/strict";
import OpenAI from "openai";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { ApiError } from "../../../lib/errors.ts";
import { ClaudeToOpenAIChunks } from "../../../lib/openai/claude_to_openai_chunks.ts";
import { openAIStreamErrorLine } from "../../../lib/openai/openai_stream_error.ts";
import { EVENTS, withServer } from "../../_helpers/openai_client.ts";

function chunks(
  events: ClaudeStreamEvent[],
  includeUsage: boolean,
  failAfter?: ApiError,
): ReadableStream<Uint8Array> {
  const encoded = ReadableStream.from(events).pipeThrough(
    new ClaudeToOpenAIChunks({
      id: "chatcmpl-1",
      model: "claude-sonnet-4-6",
      created: 1700000000,
      includeUsage,
    }),
  );
  if (!failAfter) return encoded;
  // What the edge does after the first byte: one error data line, then the end (no [DONE]).
  const reader = encoded.getReader();
  const encoder = new TextEncoder();
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) return controller.enqueue(value);
      controller.enqueue(encoder.encode(openAIStreamErrorLine(failAfter)));
      controller.close();
    },
  });
}

function sse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

Deno.test("ClaudeToOpenAIChunks output reads back through the official openai SDK stream reader", async () => {
  await withServer(() => sse(chunks(EVENTS, true)), async (client) => {
    const stream = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "read a and b" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const received = await Array.fromAsync(stream);
    assert.deepEqual(received[0]!.choices[0]!.delta, { role: "assistant", content: "" });
    let content = "";
    let reasoning = "";
    const calls: Array<{ id?: string; name?: string; args: string }> = [];
    let finish: string | null = null;
    for (const chunk of received) {
      assert.equal(chunk.id, "chatcmpl-1");
      assert.equal(chunk.object, "chat.completion.chunk");
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta.content ?? "";
      reasoning += (choice.delta as { reasoning_content?: string }).reasoning_content ?? "";
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = calls[call.index] ??= { args: "" };
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name = call.function.name;
        slot.args += call.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
    assert.equal(content, "Reading both ✓");
    assert.equal(reasoning, "Need the file.");
    assert.deepEqual(calls, [
      { id: "toolu_a", name: "Read", args: '{"path":"a.txt"}' },
      { id: "toolu_b", name: "Read", args: '{"path":"b.txt"}' },
    ]);
    assert.equal(finish, "tool_calls");
    const last = received[received.length - 1]!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, {
      prompt_tokens: 1000,
      completion_tokens: 42,
      total_tokens: 1042,
      prompt_tokens_details: { cached_tokens: 900 },
    });
    assert.equal(received[1]!.usage, null);
  });
});

Deno.test("ClaudeToOpenAIChunks writes no usage chunk without include_usage and ends with [DONE]", async () => {
  const text = await new Response(chunks(EVENTS, false)).text();
  const lines = text.split("\n\n").filter(Boolean);
  assert.equal(lines.at(-1), "data: [DONE]");
  assert.ok(!text.includes('"usage"'));
  for (const line of lines.slice(0, -1)) {
    assert.ok(line.startsWith("data: "));
    JSON.parse(line.slice(6));
  }
  assert.ok(lines.at(-2)!.includes('"finish_reason":"tool_calls"'));
});

Deno.test("openAIStreamErrorLine makes the openai SDK throw instead of returning a cut answer", async () => {
  const cut = EVENTS.slice(0, 9);
  const error = new ApiError("overloaded_error", "upstream overloaded");
  await withServer(() => sse(chunks(cut, false, error)), async (client) => {
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    await assert.rejects(Array.fromAsync(stream), (thrown: unknown) => {
      assert.ok(thrown instanceof OpenAI.APIError);
      assert.match(thrown.message, /upstream overloaded/);
      return true;
    });
  });
});
