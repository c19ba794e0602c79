/**
 * The load harness's fake Amazon Q, run as its own process so its CPU is never counted as the server's:
 * `POST /refreshToken` plays the Kiro token endpoint, `POST /` answers in authentic AWS event-stream frames
 * (built once with `@smithy/eventstream-codec`). A marker in the request body picks the reply:
 * `[[load:short]]` 20 text deltas, `[[load:long]]` 300, `[[load:slow]]` one delta at once and then one every
 * 250 ms for ~10 s (40 in all). Every reply ends with the metadata event Amazon Q closes a turn with. The
 * body is read whole, so a 2 MB request costs the fake what it would cost Amazon Q's front end.
 * Prints `{"port":N}` on stdout once listening; exits when stdin closes (the harness went away).
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";

const SLOW_INTERVAL_MS = 250;
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
const deltas = Array.from(
  { length: 300 },
  (_, i) => frame("assistantResponseEvent", { content: `word${i} ` }),
);
const end = frame("metadataEvent", { tokenUsage: { outputTokens: 300, uncachedInputTokens: 20 } });
const headers = { "content-type": "application/vnd.amazon.eventstream" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One frame per pull, as the service sends them; the slow reply waits between frames. */
function reply(count: number, intervalMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= count) {
        controller.enqueue(end);
        return controller.close();
      }
      if (intervalMs > 0 && sent > 0) await sleep(intervalMs);
      controller.enqueue(deltas[sent % deltas.length]!);
      sent++;
    },
  }, { highWaterMark: 0 });
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  const body = await request.text();
  if (new URL(request.url).pathname === "/refreshToken") {
    return Response.json({ accessToken: "load-access-token", expiresIn: 3600 });
  }
  if (body.includes("[[load:slow]]")) return new Response(reply(40, SLOW_INTERVAL_MS), { headers });
  if (body.includes("[[load:long]]")) return new Response(reply(300, 0), { headers });
  return new Response(reply(20, 0), { headers });
});
// deno-lint-ignore no-console
console.log(JSON.stringify({ port: server.addr.port }));
(async () => {
  for await (const _ of Deno.stdin.readable) { /* until the harness goes away */ }
  Deno.exit(0);
})();
