/**
 * Throughput of the OpenAI-format upstream pipeline: response bytes -> TextDecoderStream ->
 * EventSourceParserStream -> OpenAIToClaude -> `sseBody` (the route's own chain: StreamIntegrity ->
 * ClaudeSseEncoder -> batched writer), over ~10k prebuilt chunks (text,
 * reasoning, and two interleaved tool calls), fed in 16 KiB network-sized slices.
 *
 * Run: `npx -y deno@2.9.6 bench --allow-read bench/openai_bench.ts`. Each iteration processes INPUT_BYTES
 * bytes into EVENT_COUNT Claude events (printed once at load), so MB/s = INPUT_BYTES / time and
 * events/s = EVENT_COUNT / time.
 */
import { reportMedian } from "./_median.ts";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ClaudeStreamEvent } from "../lib/claude/events.ts";
import { sseBody } from "../lib/claude/sse_body.ts";
import { assertComplete } from "./_complete.ts";
import { OpenAIToClaude } from "../lib/custom/openai_to_claude.ts";

const CHUNKS = 10_000;
const SLICE = 16 * 1024;

function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 1700000000,
      model: "gpt-bench",
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      usage: null,
    })
  }\n\n`;
}

function buildInput(): Uint8Array {
  const parts: string[] = [chunk({ role: "assistant", content: "" })];
  for (let i = 0; i < 1000; i++) parts.push(chunk({ reasoning_content: `step ${i} of careful thought; ` }));
  for (let i = 0; i < 7000; i++) parts.push(chunk({ content: `token ${i} — naïve café 🚀 ` }));
  parts.push(
    chunk({
      tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "Write", arguments: "" } }],
    }),
  );
  parts.push(
    chunk({
      tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "Write", arguments: "" } }],
    }),
  );
  parts.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"content":"' } }] }));
  parts.push(chunk({ tool_calls: [{ index: 1, function: { arguments: '{"content":"' } }] }));
  while (parts.length < CHUNKS - 4) {
    const index = parts.length % 2;
    parts.push(chunk({ tool_calls: [{ index, function: { arguments: "line of file text\\n" } }] }));
  }
  parts.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"}' } }] }));
  parts.push(chunk({ tool_calls: [{ index: 1, function: { arguments: '"}' } }] }));
  parts.push(chunk({}, "tool_calls"));
  parts.push(
    `data: ${
      JSON.stringify({
        id: "chatcmpl-bench",
        object: "chat.completion.chunk",
        created: 1700000000,
        model: "gpt-bench",
        choices: [],
        usage: { prompt_tokens: 1000, completion_tokens: 9000, total_tokens: 10000 },
      })
    }\n\ndata: [DONE]\n\n`,
  );
  return new TextEncoder().encode(parts.join(""));
}

const INPUT = buildInput();
const SLICES: Uint8Array[] = [];
for (let offset = 0; offset < INPUT.length; offset += SLICE) {
  SLICES.push(INPUT.subarray(offset, offset + SLICE));
}

function events(): ReadableStream<ClaudeStreamEvent> {
  return ReadableStream.from(SLICES)
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .pipeThrough(
      new OpenAIToClaude({
        messageId: "msg_bench",
        model: "claude-bench",
        inputTokens: 1,
        sign: () => "sig",
      }),
    );
}

async function runPipeline(): Promise<number> {
  let bytes = 0;
  let last: Uint8Array = new Uint8Array();
  for await (const out of sseBody(events(), { pingIntervalMs: 60_000 })) {
    bytes += out.byteLength;
    last = out;
  }
  assertComplete(last);
  return bytes;
}

const EVENT_COUNT = (await Array.fromAsync(events())).length;
const OUTPUT_BYTES = await runPipeline();
// deno-lint-ignore no-console
console.log(
  `openai_bench: ${CHUNKS} chunks, INPUT_BYTES=${INPUT.length} (${(INPUT.length / 1e6).toFixed(2)} MB), ` +
    `EVENT_COUNT=${EVENT_COUNT}, output ${(OUTPUT_BYTES / 1e6).toFixed(2)} MB SSE`,
);

await reportMedian("openai pipeline (median)", runPipeline, { events: EVENT_COUNT, bytesIn: INPUT.length });

Deno.bench({
  name: `OpenAI SSE -> Claude SSE, ${CHUNKS} chunks (${
    (INPUT.length / 1e6).toFixed(2)
  } MB, ${EVENT_COUNT} events)`,
  n: 20,
  warmup: 3,
  async fn() {
    await runPipeline();
  },
});
