import assert from "node:assert/strict";
import { type ClaudeStreamEvent, messageStart } from "../../../lib/claude/events.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { UsageMeter, type UsageSummary } from "../../../lib/claude/usage_meter.ts";
import { ProtocolError } from "../../../lib/errors.ts";
import { BlockSequencer } from "../../../lib/claude/block_sequencer.ts";
import { ThinkingSigner } from "../../../lib/claude/thinking_signer.ts";

function events(): ClaudeStreamEvent[] {
  const out: ClaudeStreamEvent[] = [messageStart("msg_x", "m", { input_tokens: 10, output_tokens: 0 })];
  const seq = new BlockSequencer((e) => out.push(e));
  seq.thinking("let me think");
  seq.signature("sig");
  seq.text("Hello");
  seq.startToolUse("toolu_1", "Bash");
  seq.toolInput('{"command":');
  seq.toolInput('"ls"}');
  seq.close();
  out.push({
    type: "message_delta",
    delta: { stop_reason: "tool_use", stop_sequence: null },
    usage: { input_tokens: 12, output_tokens: 7, cache_read_input_tokens: 4 },
  });
  out.push({ type: "message_stop" });
  return out;
}

Deno.test("BlockSequencer keeps blocks in order and closed before the next opens", () => {
  const list = events();
  const open = new Set<number>();
  let last = -1;
  for (const e of list) {
    if (e.type === "content_block_start") {
      assert.equal(open.size, 0);
      assert.equal(e.index, last + 1);
      last = e.index;
      open.add(e.index);
    } else if (e.type === "content_block_delta") assert.ok(open.has(e.index));
    else if (e.type === "content_block_stop") open.delete(e.index);
  }
  assert.equal(last, 2);
});

Deno.test("MessageCollector folds the events into one message with parsed tool input and merged usage", async () => {
  const message = await MessageCollector.collect(ReadableStream.from(events()));
  assert.equal(message.id, "msg_x");
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(message.content, [
    { type: "thinking", thinking: "let me think", signature: "sig" },
    { type: "text", text: "Hello" },
    { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } },
  ]);
  assert.deepEqual(message.usage, { input_tokens: 12, output_tokens: 7, cache_read_input_tokens: 4 });
});

Deno.test("MessageCollector rejects an incomplete stream instead of returning a partial answer", async () => {
  await assert.rejects(
    () => MessageCollector.collect(ReadableStream.from(events().slice(0, 4))),
    ProtocolError,
  );
});

Deno.test("UsageMeter reports once: completed with final usage, or not completed with the error", async () => {
  const summaries: UsageSummary[] = [];
  await ReadableStream.from(events()).pipeThrough(new UsageMeter((s) => summaries.push(s))).pipeTo(
    new WritableStream(),
  );
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0]!.completed, true);
  assert.equal(summaries[0]!.stopReason, "tool_use");
  assert.deepEqual(summaries[0]!.usage, { input_tokens: 12, output_tokens: 7, cache_read_input_tokens: 4 });

  const failed: UsageSummary[] = [];
  let pulled = false;
  const broken = new ReadableStream<ClaudeStreamEvent>({
    pull(c) {
      if (!pulled) {
        pulled = true;
        c.enqueue(events()[0]!);
      } else c.error(new Error("boom"));
    },
  }, { highWaterMark: 0 });
  await assert.rejects(() =>
    broken.pipeThrough(new UsageMeter((s) => failed.push(s))).pipeTo(new WritableStream())
  );
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.completed, false);
  assert.ok(failed[0]!.error instanceof Error);
});

Deno.test("ThinkingSigner recognises its own signatures and nothing else", () => {
  const signer = new ThinkingSigner(new TextEncoder().encode("0123456789abcdef0123"));
  const other = new ThinkingSigner(new TextEncoder().encode("fedcba9876543210fedc"));
  const sig = signer.sign("thought");
  assert.ok(signer.verify("thought", sig));
  assert.ok(!signer.verify("thought!", sig));
  assert.ok(!other.verify("thought", sig));
  assert.ok(!signer.verify("thought", undefined));
  assert.ok(ThinkingSigner.isOurs(sig));
  assert.ok(!ThinkingSigner.isOurs("EqQBCkgIAR..."));
});
