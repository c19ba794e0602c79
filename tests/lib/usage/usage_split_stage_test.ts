import assert from "node:assert/strict";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { scaleSplit, type UsageObservation, UsageSplitStage } from "../../../lib/usage/usage_split_stage.ts";

const SPLIT = {
  input_tokens: 10,
  cache_read_input_tokens: 3000,
  cache_creation_input_tokens: 990,
  cache_creation: { ephemeral_5m_input_tokens: 660, ephemeral_1h_input_tokens: 330 },
};

function events(deltaInput: number, extra: Record<string, number> = {}): ClaudeStreamEvent[] {
  return [
    {
      type: "message_start",
      message: {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "m",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 4000,
          output_tokens: 1,
          cache_read_input_tokens: 0,
          cache_creation_input_tokens: 0,
        },
      },
    },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { input_tokens: deltaInput, output_tokens: 7, ...extra },
    },
    { type: "message_stop" },
  ];
}

async function run(input: ClaudeStreamEvent[], observed: UsageObservation) {
  const stream = ReadableStream.from(input).pipeThrough(new UsageSplitStage(SPLIT, 4000, observed));
  return await MessageCollector.collect(stream);
}

Deno.test("the split goes into message_start and stays when the upstream reports no count of its own", async () => {
  const observed = { upstreamInput: null };
  const message = await run(events(4000), observed);
  assert.deepEqual(message.usage, { ...SPLIT, output_tokens: 7 });
  assert.equal(observed.upstreamInput, null);
});

Deno.test("an upstream input count replaces the estimate: the split is scaled onto it and still adds up", async () => {
  const observed: UsageObservation = { upstreamInput: null };
  const message = await run(events(3000, { cache_read_input_tokens: 1801 }), observed);
  assert.equal(observed.upstreamInput, 4801);
  const u = message.usage;
  assert.equal(u.input_tokens + u.cache_read_input_tokens! + u.cache_creation_input_tokens!, 4801);
  assert.equal(u.cache_read_input_tokens, Math.round(3000 * 4801 / 4000));
  assert.equal(
    u.cache_creation!.ephemeral_5m_input_tokens + u.cache_creation!.ephemeral_1h_input_tokens,
    u.cache_creation_input_tokens,
  );
});

Deno.test("scaleSplit never makes a part negative, even onto a tiny total", () => {
  for (const total of [0, 1, 5, 37, 4000, 123_457]) {
    const s = scaleSplit(SPLIT, total);
    assert.equal(s.input_tokens + s.cache_read_input_tokens + s.cache_creation_input_tokens, total);
    for (const v of [s.input_tokens, s.cache_read_input_tokens, s.cache_creation_input_tokens]) {
      assert.ok(v >= 0);
    }
    assert.equal(
      s.cache_creation.ephemeral_5m_input_tokens + s.cache_creation.ephemeral_1h_input_tokens,
      s.cache_creation_input_tokens,
    );
  }
});
