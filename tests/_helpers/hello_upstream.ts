/**
 * A fake OpenAI-compatible upstream that always streams "Hello" (with usage), and the checks that a served
 * app answers `/v1/messages` from it streamed and not, recording usage once per request. Shared by the
 * SQLite and MySQL smoke tests.
 */
import assert from "node:assert/strict";
import { json, type TestApp } from "./test_app.ts";

export function helloUpstream(): { url: string; stop: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.json();
    const chunks = [
      { choices: [{ index: 0, delta: { role: "assistant", content: "Hel" } }] },
      { choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "stop" }] },
      { choices: [], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } },
    ];
    const body = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/v1`, stop: () => server.shutdown() };
}

/** Asks for model `gpt-x` without and with streaming; both answers say "Hello" and both are recorded. */
export async function expectHelloAnswers(t: TestApp): Promise<void> {
  const plain = await t.request(
    "/v1/messages",
    json({ model: "gpt-x", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }),
  );
  assert.equal(plain.status, 200);
  const message = await plain.json();
  assert.equal(message.content[0].text, "Hello");
  assert.equal(message.stop_reason, "end_turn");
  const streamed = await t.request(
    "/v1/messages",
    json({ model: "gpt-x", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] }),
  );
  assert.equal(streamed.status, 200);
  const text = await streamed.text();
  assert.match(text, /^event: message_start/);
  assert.match(text, /event: message_stop/);
  // Usage is written after the stream ends; give the write a moment.
  for (let i = 0; i < 50 && (await t.store.usage.recent(10)).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const recent = await t.store.usage.recent(10);
  assert.equal(recent.length, 2);
  assert.equal(recent[0]!.output_tokens, 2);
}
