// The real app over the MySQL store: admin setup and login, an account created through the API, and
// `/v1/messages` served by a custom OpenAI-format upstream, with usage recorded in MySQL. Runs only when
// MYSQL_TEST_URL is set (see tests/lib/store/mysql_store_test.ts); the store creates the database
// `amq2api_test_<random>`, which is dropped at the end.
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { adminSession, json, makeTestAppAsync } from "../_helpers/test_app.ts";

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");

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

Deno.test({
  name: "mysql: admin login, account create and /v1/messages through the real app over a MySQL store",
  ignore: !BASE_URL,
  fn: async () => {
    const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    const upstream = openAIUpstream();
    try {
      const t = await makeTestAppAsync({ env: { DATABASE_URL: url.toString() }, realClock: true });
      try {
        assert.equal(t.store.kind, "mysql");
        const token = await adminSession(t);
        const session = { "x-session-token": token };
        const created = await t.request(
          "/v2/accounts",
          json({
            type: "custom_api",
            label: "custom over mysql",
            clientSecret: "sk-test",
            other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
          }, session),
        );
        assert.equal(created.status, 201, await created.clone().text());
        const account = await created.json();
        const listed = await t.request("/v2/accounts", { headers: session });
        assert.deepEqual((await listed.json()).map((a: { id: string }) => a.id), [account.id]);

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
        assert.equal(recent[0]!.account_id, account.id);
      } finally {
        await t.close();
      }
    } finally {
      await upstream.stop();
      const admin = await mysql.createConnection({ uri: BASE_URL! });
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  },
});
