import assert from "node:assert/strict";
import { json, makeTestApp } from "../_helpers/test_app.ts";

function openAIUpstream() {
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

Deno.test("a custom OpenAI-format account serves /v1/messages streamed and not, and usage is recorded once", async () => {
  const upstream = openAIUpstream();
  const t = makeTestApp({ realClock: true });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-test",
      other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
    });
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
    await new Promise((r) => setTimeout(r, 20));
    const recent = await t.store.usage.recent(10);
    assert.equal(recent.length, 2);
    assert.equal(recent[0]!.output_tokens, 2);
  } finally {
    await t.close();
    await upstream.stop();
  }
});
