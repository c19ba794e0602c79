/**
 * Throughput of the Gemini streaming path: upstream SSE bytes -> TextDecoderStream -> EventSourceParserStream
 * -> GeminiToClaude -> `sseBody` (the route's own chain: StreamIntegrity -> ClaudeSseEncoder -> batched
 * writer), over a prebuilt Code Assist stream of ~10k chunks fed in 16 KiB
 * network-sized pieces. The bench names carry the input size and the event count, so events/s and MB/s
 * follow from the reported time per iteration: events/s = events / time, MB/s = MB / time.
 *
 * Run: npx -y deno@2.9.6 bench --allow-read bench/gemini_bench.ts
 */
import { reportMedian } from "./_median.ts";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { sseBody } from "../lib/claude/sse_body.ts";
import { assertComplete } from "./_complete.ts";
import { GeminiToClaude } from "../lib/gemini/gemini_to_claude.ts";

const CHUNKS = 10_000;
const PIECE_BYTES = 16 * 1024;

function buildStream(): Uint8Array {
  const frames: string[] = [];
  const frame = (
    parts: unknown[],
    candidate: Record<string, unknown> = {},
    response: Record<string, unknown> = {},
  ) =>
    `data: ${
      JSON.stringify({
        response: {
          candidates: [{ content: { role: "model", parts }, ...candidate }],
          ...response,
          responseId: "r",
        },
        traceId: "t",
      })
    }\r\n\r\n`;
  for (let i = 0; i < CHUNKS - 1; i++) {
    if (i < 500) frames.push(frame([{ text: `thinking step ${i} about the problem, `, thought: true }]));
    else if (i === 500) {
      frames.push(frame([{ text: "", thought: true, thoughtSignature: "c2lnbmF0dXJl".repeat(40) }]));
    } else if (i % 1000 === 0) {
      frames.push(
        frame([{ functionCall: { name: "Read", args: { file_path: `/src/file_${i}.ts`, limit: 200 } } }]),
      );
    } else frames.push(frame([{ text: `Token ${i}: some streamed answer text with ünïcödé and 日本語 ` }]));
  }
  frames.push(frame([], { finishReason: "STOP" }, {
    usageMetadata: { promptTokenCount: 12000, candidatesTokenCount: 9000, thoughtsTokenCount: 800 },
  }));
  return new TextEncoder().encode(frames.join(""));
}

const INPUT = buildStream();

function pieces(): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= INPUT.length) return controller.close();
      controller.enqueue(INPUT.subarray(offset, offset + PIECE_BYTES));
      offset += PIECE_BYTES;
    },
  });
}

function stage(): GeminiToClaude {
  return new GeminiToClaude({
    messageId: "msg_bench",
    model: "gemini-3-pro-high",
    inputTokens: 1,
    now: () => 0,
  });
}

/** Runs the whole path once; returns the number of Claude events and SSE bytes out. */
async function runOnce(): Promise<{ events: number; bytesOut: number }> {
  let events = 0;
  const counted = pieces()
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .pipeThrough(stage())
    .pipeThrough(
      new TransformStream({
        transform(event, controller) {
          events += 1;
          controller.enqueue(event);
        },
      }),
    );
  let bytesOut = 0;
  let last: Uint8Array = new Uint8Array();
  for await (const bytes of sseBody(counted, { pingIntervalMs: 60_000 })) {
    bytesOut += bytes.length;
    last = bytes;
  }
  assertComplete(last);
  return { events, bytesOut };
}

const SHAPE = await runOnce();
const MB_IN = (INPUT.length / 1e6).toFixed(2);
await reportMedian("gemini pipeline (median)", runOnce, { events: SHAPE.events, bytesIn: INPUT.length });

Deno.bench({
  name: `gemini bytes -> Claude SSE: ${CHUNKS} chunks, ${MB_IN} MB in, ${SHAPE.events} events out`,
  n: 30,
  warmup: 3,
  async fn() {
    const events = pieces()
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .pipeThrough(stage());
    await sseBody(events, { pingIntervalMs: 60_000 }).pipeTo(new WritableStream());
  },
});

Deno.bench({
  name: `gemini bytes -> SSE messages only (parser baseline): ${MB_IN} MB in`,
  n: 30,
  warmup: 3,
  async fn() {
    await pieces()
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .pipeTo(new WritableStream());
  },
});
