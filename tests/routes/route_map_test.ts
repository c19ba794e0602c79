/**
 * The route map: the README's route table, the routes `routes/app.ts` mounts and the authentication each
 * route demands agree, so the README and that one file stay a true list of what the server answers.
 */
import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../_helpers/test_app.ts";

const ROOT = new URL("../..", import.meta.url);

interface Row {
  method: string;
  path: string;
  who: "public" | "client" | "admin";
}

async function readmeRows(): Promise<Row[]> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const rows: Row[] = [];
  for (const line of readme.split("\n")) {
    const match = line.match(
      /^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|\s*(public|client|admin)\s*\|/,
    );
    if (match) rows.push({ method: match[1]!, path: match[2]!, who: match[3] as Row["who"] });
  }
  return rows;
}

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

Deno.test("route map: the README's route table lists exactly the routes the app mounts", async () => {
  const t = makeTestApp();
  try {
    const mounted = t.app.routes.filter((r) => r.method !== "ALL").map(key).sort();
    const listed = (await readmeRows()).map(key).sort();
    assert.ok(listed.length > 40, `the README table was not found (${listed.length} rows)`);
    assert.deepEqual(listed, mounted);
  } finally {
    await t.close();
  }
});

Deno.test("route map: routes/app.ts names every route beside its mount", async () => {
  const source = await Deno.readTextFile(new URL("routes/app.ts", ROOT));
  const missing = (await readmeRows()).map(key).filter((route) => !source.includes(route));
  assert.deepEqual(missing, []);
});

Deno.test("route map: each route demands the authentication the table says", async () => {
  // With a configured key nobody is let in by address alone, and with an admin set up the admin API is
  // open to sessions; the caller is a remote client with no credentials, so client and admin routes must
  // refuse it with 401 and public ones must not.
  const t = makeTestApp({ env: { API_KEY: "route-map-test-key" } });
  try {
    await adminSession(t);
    const wrong: string[] = [];
    for (const row of await readmeRows()) {
      const init: RequestInit = { method: row.method };
      if (row.method !== "GET") {
        init.headers = { "content-type": "application/json" };
        init.body = "{}";
      }
      const response = await t.request(row.path.replaceAll(":id", "no-such-id"), init, "203.0.113.9");
      await response.body?.cancel();
      const refused = response.status === 401;
      if (refused !== (row.who !== "public")) wrong.push(`${key(row)} (${row.who}): ${response.status}`);
    }
    assert.deepEqual(wrong, []);
  } finally {
    await t.close();
  }
});
