import assert from "node:assert/strict";
import { secretDigest } from "../../lib/admin/secret_digest.ts";
import { adminSession, json, makeTestApp, type TestApp } from "../_helpers/test_app.ts";

const API_KEY = "sk-configured-key-0001";
// Valid message: it gets past validation, so with no account it ends as a 404 "no channel serves it" (not a 401/403).
const message = { model: "claude-sonnet-4-6", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };

async function errorOf(response: Response): Promise<{ status: number; type: string; message: string }> {
  const body = await response.json();
  assert.equal(body.type, "error", JSON.stringify(body));
  return { status: response.status, type: body.error.type, message: body.error.message };
}

/** True when the request got past client auth (anything but 401/403). */
async function passedAuth(t: TestApp, headers: Record<string, string>, remote?: string): Promise<boolean> {
  const response = await t.request("/v1/messages", json(message, headers), remote);
  await response.body?.cancel();
  return response.status !== 401 && response.status !== 403;
}

Deno.test("with API_KEY set: missing or wrong key is 401, x-api-key and Bearer both work", async () => {
  const t = makeTestApp({ env: { API_KEY } });
  try {
    const missing = await errorOf(await t.request("/v1/messages", json(message)));
    assert.deepEqual([missing.status, missing.type], [401, "authentication_error"]);
    const wrong = await errorOf(
      await t.request("/v1/messages", json(message, { "x-api-key": "sk-wrong-key-000" })),
    );
    assert.deepEqual([wrong.status, wrong.type], [401, "authentication_error"]);
    const wrongBearer = await t.request(
      "/v1/messages",
      json(message, { authorization: "Bearer nope-nope-nope" }),
    );
    assert.equal(wrongBearer.status, 401);
    await wrongBearer.body?.cancel();
    assert.ok(await passedAuth(t, { "x-api-key": API_KEY }));
    assert.ok(await passedAuth(t, { authorization: `Bearer ${API_KEY}` }));
    // The key also works from a non-loopback address.
    assert.ok(await passedAuth(t, { "x-api-key": API_KEY }, "203.0.113.9"));
    // Other /v1 routes are behind the same check.
    const usage = await t.request("/v1/usage");
    assert.equal(usage.status, 401);
    await usage.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a key created with POST /v2/keys works, is stored hashed, is never listed, and deleting it revokes it", async () => {
  const t = makeTestApp({ env: { API_KEY } });
  try {
    const token = await adminSession(t);
    const created = await t.request("/v2/keys", json({ label: "ci" }, { "x-session-token": token }));
    assert.equal(created.status, 201);
    const record = await created.json();
    assert.equal(typeof record.key, "string");
    assert.ok(record.key.length >= 32);
    assert.equal(record.label, "ci");
    assert.ok(record.key.startsWith(record.prefix));

    assert.ok(await passedAuth(t, { "x-api-key": record.key }));
    assert.ok(await passedAuth(t, { authorization: `Bearer ${record.key}` }));

    // Stored as a SHA-256 digest: the plain key is not a stored hash, its digest is.
    assert.equal(await t.store.clientKeys.findByHash(record.key), null);
    const stored = await t.store.clientKeys.findByHash(secretDigest(record.key));
    assert.equal(stored?.id, record.id);
    assert.notEqual(secretDigest(record.key), record.key);

    const listed = await t.request("/v2/keys", { headers: { "x-session-token": token } });
    assert.equal(listed.status, 200);
    const listText = await listed.text();
    assert.ok(!listText.includes(record.key), "the key must never be listed");
    const list = JSON.parse(listText).filter((k: { source: string }) => k.source === "store");
    assert.equal(list.length, 1);
    assert.equal(list[0].id, record.id);
    assert.equal(list[0].key, undefined);
    assert.equal(list[0].key_hash, undefined);

    const deleted = await t.request(`/v2/keys/${record.id}`, {
      method: "DELETE",
      headers: { "x-session-token": token },
    });
    assert.equal(deleted.status, 200);
    await deleted.body?.cancel();
    const after = await errorOf(await t.request("/v1/messages", json(message, { "x-api-key": record.key })));
    assert.deepEqual([after.status, after.type], [401, "authentication_error"]);
    const again = await t.request(`/v2/keys/${record.id}`, {
      method: "DELETE",
      headers: { "x-session-token": token },
    });
    assert.equal(again.status, 404);
    await again.body?.cancel();
    // The configured key is unaffected.
    assert.ok(await passedAuth(t, { "x-api-key": API_KEY }));
  } finally {
    await t.close();
  }
});

Deno.test("with no key configured: loopback clients are served, others get 403 permission_error", async () => {
  const t = makeTestApp();
  try {
    assert.ok(await passedAuth(t, {}, "127.0.0.1"));
    assert.ok(await passedAuth(t, {}, "::1"));
    assert.ok(await passedAuth(t, {}, "::ffff:127.0.0.1"));
    const remote = await errorOf(await t.request("/v1/messages", json(message), "203.0.113.9"));
    assert.deepEqual([remote.status, remote.type], [403, "permission_error"]);
    // A key presented from afar does not help when none is configured.
    const withKey = await t.request(
      "/v1/messages",
      json(message, { "x-api-key": "sk-anything-123" }),
      "203.0.113.9",
    );
    assert.equal(withKey.status, 403);
    await withKey.body?.cancel();
    // A spoofed X-Forwarded-For is ignored without TRUST_PROXY.
    const spoofed = await t.request(
      "/v1/messages",
      json(message, { "x-forwarded-for": "127.0.0.1" }),
      "203.0.113.9",
    );
    assert.equal(spoofed.status, 403);
    await spoofed.body?.cancel();
    // Once a key exists, loopback needs it too.
    await t.deps.clientKeys.create("first");
    const loopback = await errorOf(await t.request("/v1/messages", json(message), "127.0.0.1"));
    assert.deepEqual([loopback.status, loopback.type], [401, "authentication_error"]);
  } finally {
    await t.close();
  }
});

Deno.test("X-Account-ID is refused with a client key and honoured with an admin session", async () => {
  const t = makeTestApp({ env: { API_KEY } });
  try {
    const forced = await errorOf(
      await t.request(
        "/v1/messages",
        json(message, { "x-api-key": API_KEY, "x-account-id": "no-such-account" }),
      ),
    );
    assert.deepEqual([forced.status, forced.type], [403, "permission_error"]);
    assert.match(forced.message, /admin/);

    const token = await adminSession(t);
    const admin = await errorOf(
      await t.request(
        "/v1/messages",
        json(message, { "x-session-token": token, "x-account-id": "no-such-account" }),
      ),
    );
    // 404: the header got through auth and the gateway looked the account up.
    assert.deepEqual([admin.status, admin.type], [404, "not_found_error"]);
    assert.match(admin.message, /no-such-account/);
    // The session cookie authenticates /v1 as well (the console uses it).
    const viaCookie = await errorOf(
      await t.request(
        "/v1/messages",
        json(message, { cookie: `amq2api_session=${token}`, "x-account-id": "nope" }),
      ),
    );
    assert.equal(viaCookie.status, 404);
    // An invalid session token does not pass as an admin and falls back to key auth.
    const bogus = await t.request("/v1/messages", json(message, { "x-session-token": "bogus" }));
    assert.equal(bogus.status, 401);
    await bogus.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("with no key configured, a loopback socket carrying forwarding headers (a local reverse proxy) is refused", async () => {
  const t = makeTestApp();
  try {
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
      const response = await t.request("/v1/models", { headers: { [header]: "203.0.113.5" } }, "127.0.0.1");
      assert.equal(response.status, 403, header);
      assert.equal((await response.json()).error.type, "permission_error");
    }
  } finally {
    await t.close();
  }
});
