/**
 * Account exports (issue 9, point 10): every export is served with `Cache-Control: no-store`, a JSON export
 * says at its top whether it holds secrets (with a warning when it does), and import takes files with and
 * without those fields.
 */
import assert from "node:assert/strict";
import { adminSession, json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";

function get(t: TestApp, token: string, path: string): Promise<Response> {
  return t.request(path, { headers: { "x-session-token": token } });
}

Deno.test("exports are no-store and a secret export says it holds secrets; both file forms import", async () => {
  const source = makeTestApp();
  const target = makeTestApp();
  try {
    const a = await adminSession(source);
    await source.store.accounts.create({
      type: "amazonq",
      label: "q",
      clientId: "cid",
      clientSecret: "cs-secret",
      refreshToken: "rt-secret",
      other: {},
    });

    const plain = await get(source, a, "/v2/accounts/export");
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get("cache-control"), "no-store");
    const plainBody = await plain.json();
    assert.equal(plainBody.contains_secrets, false);
    assert.equal(plainBody.warning, undefined);

    const full = await get(source, a, "/v2/accounts/export?include_secrets=true");
    assert.equal(full.headers.get("cache-control"), "no-store");
    const fullBody = await full.json();
    assert.equal(fullBody.contains_secrets, true);
    assert.match(fullBody.warning, /contains account secrets/);
    assert.equal(fullBody.accounts[0].refreshToken, "rt-secret");

    const kiro = await get(source, a, "/v2/accounts/export?format=kirogate&include_secrets=true");
    assert.equal(kiro.status, 200);
    assert.equal(kiro.headers.get("cache-control"), "no-store");
    await kiro.body?.cancel();

    // The new file and one written before the marking existed both import.
    const { contains_secrets: _c, warning: _w, ...old } = fullBody;
    const b = await adminSession(target);
    for (const data of [fullBody, old, JSON.stringify(fullBody)]) {
      const response = await target.request(
        "/v2/accounts/import",
        json({ data }, { "x-session-token": b }),
      );
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.imported, 1);
      assert.deepEqual(body.errors, []);
    }
    const imported = await target.store.accounts.list();
    assert.equal(imported.length, 3);
    assert.ok(imported.every((x) => x.refreshToken === "rt-secret" && x.clientSecret === "cs-secret"));
  } finally {
    await source.close();
    await target.close();
  }
});
