import assert from "node:assert/strict";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { openAIResponseFromClaude } from "../../../lib/openai/openai_response_from_claude.ts";
import { EVENTS, withServer } from "../../_helpers/openai_client.ts";

Deno.test("openAIResponseFromClaude builds a chat.completion the openai SDK accepts", async () => {
  const message = await MessageCollector.collect(ReadableStream.from(EVENTS));
  const completion = openAIResponseFromClaude(message, { id: "chatcmpl-2", created: 1700000000.9 });
  assert.deepEqual(completion, {
    id: "chatcmpl-2",
    object: "chat.completion",
    created: 1700000000,
    model: "claude-sonnet-4-6",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "Reading both ✓",
        refusal: null,
        reasoning_content: "Need the file.",
        tool_calls: [
          { id: "toolu_a", type: "function", function: { name: "Read", arguments: '{"path":"a.txt"}' } },
          { id: "toolu_b", type: "function", function: { name: "Read", arguments: '{"path":"b.txt"}' } },
        ],
      },
      finish_reason: "tool_calls",
      logprobs: null,
    }],
    usage: {
      prompt_tokens: 1000,
      completion_tokens: 42,
      total_tokens: 1042,
      prompt_tokens_details: { cached_tokens: 900 },
    },
  });
  await withServer(() => Response.json(completion), async (client) => {
    const answer = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(answer.choices[0]!.message.tool_calls?.length, 2);
    assert.equal(answer.usage?.total_tokens, 1042);
  });
});

Deno.test("openAIResponseFromClaude reports content null without text and maps max_tokens to length", () => {
  const completion = openAIResponseFromClaude({
    id: "msg_x",
    type: "message",
    role: "assistant",
    model: "claude-haiku-4-5",
    content: [],
    stop_reason: "max_tokens",
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 0 },
  }, { id: "chatcmpl-3", created: 1, model: "gpt-4o" });
  assert.equal(completion.choices[0]!.message.content, null);
  assert.equal(completion.choices[0]!.finish_reason, "length");
  assert.equal(completion.model, "gpt-4o");
});
