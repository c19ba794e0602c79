/**
 * The HTTP response of a streamed answer (Claude or OpenAI format): event-stream headers that keep proxies
 * from buffering it, and the request id Anthropic clients expect.
 */
export function sseResponse(body: ReadableStream<Uint8Array>, requestId: string): Response {
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      "request-id": requestId,
    },
  });
}
