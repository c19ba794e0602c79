/**
 * `upstreamCall` against fake upstreams on loopback: each time limit ends the call with a `transient`
 * error naming it, a redirect is never followed and names the location's host, a cut connection is
 * "upstream broke off", and a slow reader is not mistaken for a stalled upstream. A stall or a client
 * leaving ends a waiting body read even after a garbage collection has run.
 */
import assert from "node:assert/strict";
import { UpstreamError } from "../../../lib/errors.ts";
import { upstreamCall } from "../../../lib/upstream/upstream_call.ts";
import { collectGarbage } from "../../_helpers/collect_garbage.ts";
import { chunkedHead, neverAnswer, rawServer, serveFake, stallAfter } from "./_servers.ts";

const SHORT = { headersMs: 200, idleMs: 200, totalMs: 5_000 };

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpstreamError, `expected an UpstreamError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

function call(url: string, timeouts = SHORT, signal?: AbortSignal) {
  return upstreamCall(url, { method: "POST", body: "{}" }, { fetch, provider: "test", timeouts, signal });
}

Deno.test("upstreamCall: no headers within the limit is a transient failure naming it", async () => {
  const server = serveFake((request) => neverAnswer(request));
  try {
    const error = await rejection(call(server.url));
    assert.equal(error.kind, "transient");
    assert.equal(error.message, "upstream sent no response headers within 0.2 s");
  } finally {
    await server.stop();
  }
});

Deno.test("upstreamCall: a body that stops mid-stream errors with one stall error", async () => {
  const server = serveFake(() => stallAfter("data: {}\n\n", "text/event-stream"));
  try {
    const response = await call(server.url);
    const error = await rejection(response.text());
    assert.equal(error.kind, "transient");
    assert.equal(error.message, "upstream stalled: no data for 0.2 s");
  } finally {
    await server.stop();
  }
});

/** The call's body after its first chunk, with nothing else of the response kept (as a pipeline keeps it). */
async function readerAfterFirstChunk(url: string, timeouts: typeof SHORT, signal?: AbortSignal) {
  const response = await call(url, timeouts, signal);
  const reader = response.body!.getReader();
  assert.equal((await reader.read()).done, false);
  return reader;
}

Deno.test("upstreamCall: a stall mid-stream ends the body even after a garbage collection", async () => {
  // After a collection, aborting the fetch no longer reaches a body whose Response was dropped; under load
  // that left a stalled stream open until the upstream hung up. The limit must end the read by itself.
  const server = serveFake(() => stallAfter("data: {}\n\n", "text/event-stream"));
  const reader = await readerAfterFirstChunk(server.url, { headersMs: 1_000, idleMs: 500, totalMs: 60_000 });
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    await collectGarbage();
    const outcome = await Promise.race([
      reader.read().then(() => "a chunk or the end", (error) => error),
      new Promise((resolve) => guard = setTimeout(() => resolve("still reading after 10 s"), 10_000)),
    ]);
    assert.ok(outcome instanceof UpstreamError, `expected the stall error, got: ${outcome}`);
    assert.equal(outcome.message, "upstream stalled: no data for 0.5 s");
  } finally {
    clearTimeout(guard);
    await reader.cancel().catch(() => {});
    await server.stop();
  }
});

Deno.test("upstreamCall: a client that leaves mid-stream ends the body read even after a garbage collection", async () => {
  const server = serveFake(() => stallAfter("data: {}\n\n", "text/event-stream"));
  const client = new AbortController();
  const limits = { headersMs: 1_000, idleMs: 60_000, totalMs: 60_000 };
  const reader = await readerAfterFirstChunk(server.url, limits, client.signal);
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    await collectGarbage();
    const read = reader.read().then(() => "a chunk or the end", (error) => error);
    client.abort(new Error("client left"));
    const outcome = await Promise.race([
      read,
      new Promise((resolve) => guard = setTimeout(() => resolve("still reading after 10 s"), 10_000)),
    ]);
    assert.ok(outcome instanceof Error && outcome.message === "client left", `got: ${outcome}`);
  } finally {
    clearTimeout(guard);
    await reader.cancel().catch(() => {});
    await server.stop();
  }
});

Deno.test("upstreamCall: a body that trickles past the total limit ends with the total limit", async () => {
  const server = serveFake(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode(".")), 20);
        },
        cancel() {
          clearInterval(timer);
        },
      }),
    );
  });
  try {
    const response = await call(server.url, { headersMs: 1_000, idleMs: 1_000, totalMs: 300 });
    const error = await rejection(response.text());
    assert.equal(error.message, "upstream exceeded the total time limit of 0.3 s");
  } finally {
    await server.stop();
  }
});

Deno.test("upstreamCall: a slow reader is not a stalled upstream", async () => {
  const server = serveFake(() =>
    new Response(ReadableStream.from(["a", "b", "c"].map((s) => new TextEncoder().encode(s))))
  );
  try {
    const response = await call(server.url, { headersMs: 1_000, idleMs: 60, totalMs: 5_000 });
    const reader = response.body!.getReader();
    let text = "";
    for (let i = 0; i < 10; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      await new Promise((r) => setTimeout(r, 150)); // the client is slower than the idle limit
    }
    assert.equal(text, "abc");
  } finally {
    await server.stop();
  }
});

Deno.test("upstreamCall: a 307 is not followed; the error names the location's host", async () => {
  const target = serveFake(() => new Response("stolen"));
  const redirector = serveFake(() =>
    new Response(null, { status: 307, headers: { location: `${target.url}/collect` } })
  );
  try {
    const error = await rejection(call(redirector.url));
    assert.equal(error.kind, "transient");
    assert.equal(error.upstreamStatus, 307);
    assert.match(error.message, new RegExp(`redirected to ${new URL(target.url).host} \\(HTTP 307\\)`));
    assert.equal(target.hits, 0, "the redirect target received nothing");
  } finally {
    await redirector.stop();
    await target.stop();
  }
});

Deno.test("upstreamCall: a connection closed before or during the body is 'upstream broke off'", async () => {
  const before = rawServer(new Uint8Array(0));
  const during = rawServer(chunkedHead("text/event-stream", "data: {}\n\n"));
  try {
    const early = await rejection(call(before.url));
    assert.equal(early.kind, "transient");
    assert.match(early.message, /^upstream broke off: connection closed before the response/);
    const response = await call(during.url);
    const cut = await rejection(response.text());
    assert.equal(cut.kind, "transient");
    assert.match(cut.message, /^upstream broke off: /);
  } finally {
    await before.stop();
    await during.stop();
  }
});

Deno.test("upstreamCall: a client that leaves aborts the call with its own reason", async () => {
  const server = serveFake((request) => neverAnswer(request));
  const client = new AbortController();
  try {
    const pending = call(server.url, { headersMs: 5_000, idleMs: 5_000, totalMs: 5_000 }, client.signal);
    setTimeout(() => client.abort(new Error("client left")), 50);
    await assert.rejects(pending, /client left/);
  } finally {
    await server.stop();
  }
});
