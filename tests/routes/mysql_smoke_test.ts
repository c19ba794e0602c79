// The real app over the MySQL store: admin setup and login, an account created through the API, and
// `/v1/messages` served by a custom OpenAI-format upstream, with usage recorded in MySQL. Runs only when
// MYSQL_TEST_URL is set (see tests/lib/store/mysql_store_test.ts); the store creates the database
// `amq2api_test_<random>`, which is dropped at the end.
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { adminSession, json, makeTestAppAsync } from "../_helpers/test_app.ts";
import { expectHelloAnswers, helloUpstream } from "../_helpers/hello_upstream.ts";

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");

Deno.test({
  name: "mysql: admin login, account create and /v1/messages through the real app over a MySQL store",
  ignore: !BASE_URL,
  fn: async () => {
    const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    const upstream = helloUpstream();
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

        await expectHelloAnswers(t);
        const recent = await t.store.usage.recent(10);
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
