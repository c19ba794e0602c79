/**
 * Throughput of the Amazon Q streaming pipeline: event-stream bytes -> EventStreamDecoder -> AmazonQToClaude
 * -> `sseBody` (the route's own chain: StreamIntegrity -> ClaudeSseEncoder -> batched writer), over a pre-built body of 10,000 authentic frames (smithy codec) delivered in 16 KiB
 * network-sized chunks. The bench names carry the frame, event and byte counts so rates can be derived from
 * the per-iteration time; one measured run also prints them. Run:
 *   npx -y deno@2.9.6 bench --allow-read --allow-env bench/amazonq_bench.ts
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { AmazonQToClaude } from "../lib/amazonq/amazonq_to_claude.ts";
import { EventStreamDecoder } from "../lib/amazonq/event_stream_decoder.ts";
import { sseBody } from "../lib/claude/sse_body.ts";
import { assertComplete } from "./_complete.ts";
import { reportMedian } from "./_median.ts";

const FRAMES = 10_000;
const CHUNK = 16 * 1024;

function buildBody(thinking: boolean): Uint8Array {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const frame = (eventType: string, payload: unknown) =>
    codec.encode({
      headers: {
        ":event-type": { type: "string", value: eventType },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      body: fromUtf8(JSON.stringify(payload)),
    });
  const parts: Uint8Array[] = [];
  if (thinking) parts.push(frame("assistantResponseEvent", { content: "<thinking>" }));
  for (let i = 0; i < FRAMES - 4; i++) {
    if (thinking && i === 2000) parts.push(frame("assistantResponseEvent", { content: "</thinking>\n\n" }));
    else {parts.push(
        frame("assistantResponseEvent", { content: `token ${i} of a streamed answer, "quoted" ` }),
      );}
  }
  parts.push(frame("toolUseEvent", { toolUseId: "t1", name: "Bash", input: '{"command":' }));
  parts.push(frame("toolUseEvent", { toolUseId: "t1", name: "Bash", input: '"ls -la"}', stop: true }));
  parts.push(frame("metadataEvent", { tokenUsage: { uncachedInputTokens: 100, outputTokens: 80000 } }));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function run(body: Uint8Array, thinking: boolean): Promise<{ events: number; sseBytes: number }> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += CHUNK) chunks.push(body.subarray(i, i + CHUNK));
  let events = 0;
  const counted = ReadableStream.from(chunks)
    .pipeThrough(new EventStreamDecoder())
    .pipeThrough(
      new AmazonQToClaude({
        messageId: "msg_bench",
        model: "claude-sonnet-4-5",
        inputTokens: 100,
        sign: (t) => `sig-${t.length}`,
        countTokens: (t) => t.length >> 2,
        maxTokens: 1_000_000,
        thinking,
      }),
    )
    .pipeThrough(
      new TransformStream({
        transform(event, controller) {
          events++;
          controller.enqueue(event);
        },
      }),
    );
  let sseBytes = 0;
  let last: Uint8Array = new Uint8Array();
  for await (const chunk of sseBody(counted, { pingIntervalMs: 60_000 })) {
    sseBytes += chunk.length;
    last = chunk;
  }
  assertComplete(last);
  return { events, sseBytes };
}

const plain = buildBody(false);
const withThinking = buildBody(true);
const probe = await run(plain, false);
const mb = (plain.length / 1024 / 1024).toFixed(2);

{
  const rounds = 5;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await run(plain, false);
  const seconds = (performance.now() - start) / 1000 / rounds;
  // deno-lint-ignore no-console
  console.log(
    `amazonq pipeline: ${FRAMES} frames, ${mb} MiB in, ${probe.events} events out in ${
      (seconds * 1000).toFixed(1)
    } ms: ` +
      `${Math.round(FRAMES / seconds)} frames/s, ${Math.round(probe.events / seconds)} events/s, ` +
      `${(plain.length / 1024 / 1024 / seconds).toFixed(1)} MiB/s in, ${
        (probe.sseBytes / 1024 / 1024 / seconds).toFixed(1)
      } MiB/s SSE out`,
  );
}

await reportMedian("amazonq pipeline (median)", () => run(plain, false), {
  events: probe.events,
  bytesIn: plain.length,
});

Deno.bench(
  `amazonq pipeline decode->claude->sse: ${FRAMES} frames, ${mb} MiB, ${probe.events} events`,
  async () => {
    await run(plain, false);
  },
);

Deno.bench(`amazonq pipeline with <thinking> parsing: ${FRAMES} frames`, async () => {
  await run(withThinking, true);
});
