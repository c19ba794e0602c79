import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../_helpers/test_app.ts";

/** A small seeded PRNG (mulberry32): the same "random" bodies on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/**
 * ~30 malformed bodies: broken bytes, odd JSON, wrong types everywhere, deep nesting, big strings. Every
 * object carries an invalid `type`, so none of them is a valid account either (account bodies are loose).
 */
function malformedBodies(): Array<{ name: string; body: BodyInit }> {
  const random = prng(20261125);
  const big = "x".repeat(2 * 1024 * 1024);
  const bodies: Array<{ name: string; body: BodyInit }> = [];
  for (let i = 0; i < 8; i++) {
    bodies.push({ name: `random bytes ${i}`, body: randomBytes(random, 1 + Math.floor(random() * 4096)) });
  }
  bodies.push(
    { name: "empty", body: "" },
    { name: "whitespace", body: "   \n\t " },
    { name: "null", body: "null" },
    { name: "true", body: "true" },
    { name: "number", body: "1e999" },
    { name: "string", body: '"hello"' },
    { name: "array", body: "[]" },
    { name: "truncated", body: '{"model": "claude", "messages": [' },
    { name: "trailing garbage", body: '{"a": 1} {"b": 2}' },
    { name: "lone surrogate", body: '{"type": "\\ud800", "model": "\\ud800", "messages": "\\udfff"}' },
    { name: "NUL bytes", body: '{"type":"a\u0000b","model":"a\u0000b","max_tokens":"\u0000"}' },
    { name: "deep arrays", body: nested(50_000, "[", "]") },
    { name: "deep objects", body: '{"type":null,"a":' + nested(20_000, '{"a":', "}") + "}" },
    {
      name: "deep inside a field",
      body: `{"type":0,"model":"m","max_tokens":1,"messages":${nested(5_000, "[", "]", "{}")}}`,
    },
    { name: "deep other", body: `{"type":"nope","other":${nested(5_000, '{"a":', "}")}}` },
    {
      name: "wrong types everywhere",
      body: JSON.stringify({
        model: 42,
        max_tokens: "lots",
        messages: { role: "user" },
        stream: "yes",
        system: 7,
        tools: "all",
        type: ["amazonq"],
        label: { x: 1 },
        weight: "heavy",
        other: [1, 2],
        enabled: "on",
        username: 1,
        password: null,
        enable_model_mapping: "yes",
        supported_models: [1, "a"],
      }),
    },
    {
      name: "types wrong one level down",
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        messages: [{ role: "wizard", content: [{ type: "text", text: 5 }] }],
        type: "custom_api",
        clientSecret: 12,
        other: { api_base: 5 },
        username: ["a"],
        password: { p: 1 },
        model_mapping: { a: ["b"] },
      }),
    },
    {
      name: "prototype keys",
      body: '{"type":{},"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
    },
    {
      name: "huge string field",
      body: JSON.stringify({
        model: big,
        max_tokens: "x",
        messages: [],
        label: 5,
        username: big,
        password: 1,
      }),
    },
    { name: "huge key", body: `{"type":false,"${big}": 1}` },
    { name: "huge number", body: `{"max_tokens": 1${"0".repeat(400)}, "weight": 1e308, "type": 3}` },
    {
      name: "many keys",
      body: JSON.stringify({
        type: -1,
        ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
      }),
    },
    { name: "not JSON at all", body: "<xml>hello</xml>" },
  );
  return bodies;
}

Deno.test("malformed bodies get 4xx Claude errors on every endpoint; the server keeps serving and nothing changes", async () => {
  const t = makeTestApp({ env: { BODY_LIMIT_MB: "4" } });
  try {
    const token = await adminSession(t);
    const keep = await t.store.accounts.create({ type: "gemini", label: "keep me", other: { project: "p" } });
    await t.deps.routing.seedDefaults();
    const accountsBefore = await t.store.accounts.list();
    const configBefore = await t.store.config.getAll();

    const targets: Array<{ method: string; path: string; session: boolean }> = [
      { method: "POST", path: "/v1/messages", session: false },
      { method: "POST", path: "/v1/messages/count_tokens", session: false },
      { method: "POST", path: "/v2/accounts", session: true },
      { method: "PATCH", path: `/v2/accounts/${keep.id}`, session: true },
      { method: "PUT", path: "/v2/config", session: true },
      { method: "POST", path: "/api/admin/login", session: false },
      { method: "POST", path: "/api/admin/setup", session: false },
    ];
    const bodies = malformedBodies();
    assert.ok(bodies.length >= 30);
    for (const target of targets) {
      for (const { name, body } of bodies) {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (target.session) headers["x-session-token"] = token;
        const response = await t.request(target.path, { method: target.method, headers, body });
        const where = `${target.method} ${target.path} with ${name}`;
        assert.ok(response.status >= 400 && response.status < 500, `${where}: status ${response.status}`);
        assert.match(response.headers.get("content-type") ?? "", /application\/json/, where);
        const json = await response.json();
        assert.equal(json.type, "error", where);
        assert.equal(typeof json.error?.type, "string", where);
        assert.equal(typeof json.error?.message, "string", where);
        assert.ok(json.error.message.length < 10_000, `${where}: the error message echoes the input`);
      }
    }

    assert.equal((await t.request("/health")).status, 200);
    assert.deepEqual(await t.store.accounts.list(), accountsBefore);
    assert.deepEqual(await t.store.config.getAll(), configBefore);
    assert.equal(await t.store.admins.count(), 1);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // The admin session still works (a burst of malformed logins does not lock the loopback address).
    const list = await t.request("/v2/accounts", { headers: { "x-session-token": token } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).length, 1);
  } finally {
    await t.close();
  }
});
