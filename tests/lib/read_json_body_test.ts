import assert from "node:assert/strict";
import { Hono } from "hono";
import { ApiError } from "../../lib/errors.ts";
import { readJson } from "../../lib/read_json_body.ts";

function app(): Hono {
  const hono = new Hono();
  hono.post("/", async (c) => c.json({ value: await readJson(c) }));
  hono.onError((error, c) =>
    c.json({ message: error.message }, error instanceof ApiError ? error.status as 400 : 500)
  );
  return hono;
}

/** The bytes of `text` as a stream of chunks of `size` bytes, cutting multi-byte characters apart. */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
  return ReadableStream.from(chunks);
}

Deno.test("readJson: a body read chunk by chunk keeps characters cut between chunks", async () => {
  const value = { text: "héllo wörld — 日本語 🎉".repeat(50), n: [1, 2, 3] };
  for (const size of [1, 2, 3, 7, 4096]) {
    const response = await app().request("/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(JSON.stringify(value), size),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { value });
  }
});

Deno.test("readJson: a body whose last character is cut short is not JSON (400), like a whole read", async () => {
  const bytes = new TextEncoder().encode('"日本"');
  const response = await app().request("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: ReadableStream.from([bytes.slice(0, 5)]),
  });
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), { message: "request body is not valid JSON" });
});
