import assert from "node:assert/strict";
import { ClientAddress } from "../../lib/admin/client_address.ts";
import { parseConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { adminSession, json, makeTestApp, serveTestApp, type TestApp } from "../_helpers/test_app.ts";

const PASS = "correct-horse";

function headers(map: Record<string, string>) {
  return (name: string) => map[name.toLowerCase()];
}

async function errorOf(response: Response): Promise<{ status: number; type: string; message: string }> {
  const body = await response.json();
  return { status: response.status, type: body.error?.type, message: body.error?.message };
}

Deno.test("ClientAddress: TRUST_PROXY=true takes the rightmost hop, a hop count the n-th from the right", () => {
  const one = new ClientAddress(1, []);
  const forwarded = headers({ "x-forwarded-for": "127.0.0.1, 198.51.100.7" });
  assert.equal(one.resolve("10.0.0.1", forwarded).address, "198.51.100.7");
  assert.equal(one.resolve("10.0.0.1", headers({})).address, "10.0.0.1");
  const two = new ClientAddress(2, []);
  assert.equal(
    two.resolve("10.0.0.1", headers({ "x-forwarded-for": "127.0.0.1, 198.51.100.7, 10.0.0.2" })).address,
    "198.51.100.7",
  );
  // Only the proxies wrote the list: its leftmost entry is still one of theirs.
  assert.equal(
    two.resolve("10.0.0.1", headers({ "x-forwarded-for": "198.51.100.7" })).address,
    "198.51.100.7",
  );
  const off = new ClientAddress(0, []);
  assert.deepEqual(off.resolve("203.0.113.9", forwarded), {
    address: "203.0.113.9",
    forwarded: false,
    tls: false,
  });
});

Deno.test("ClientAddress: TRUSTED_PROXIES walks from the right past listed proxies, and only from a listed peer", () => {
  const list = new ClientAddress(0, ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
  const chain = headers({
    "x-forwarded-for": "127.0.0.1, 198.51.100.7, 10.1.2.3",
    "x-forwarded-proto": "https",
  });
  assert.deepEqual(list.resolve("10.9.9.9", chain), { address: "198.51.100.7", forwarded: true, tls: true });
  assert.equal(list.resolve("fd12::1", chain).address, "198.51.100.7");
  assert.equal(list.resolve("::ffff:10.0.0.5", chain).address, "198.51.100.7");
  // A peer that is not a listed proxy speaks for itself, whatever it sends.
  assert.deepEqual(list.resolve("203.0.113.9", chain), {
    address: "203.0.113.9",
    forwarded: false,
    tls: false,
  });
  // Ports and brackets are stripped.
  assert.equal(
    list.resolve("10.0.0.1", headers({ "x-forwarded-for": "[2001:db8::1]:443" })).address,
    "2001:db8::1",
  );
});

Deno.test("config: TRUST_PROXY takes true/false or a hop count; TRUSTED_PROXIES takes addresses and CIDRs", () => {
  const parse = (env: Record<string, string>) => parseConfig((name) => env[name]);
  assert.equal(parse({}).trustProxy, 0);
  assert.equal(parse({ TRUST_PROXY: "true" }).trustProxy, 1);
  assert.equal(parse({ TRUST_PROXY: "2" }).trustProxy, 2);
  assert.equal(parse({ TRUST_PROXY: "off" }).trustProxy, 0);
  assert.throws(() => parse({ TRUST_PROXY: "maybe" }), ConfigError);
  assert.deepEqual(parse({ TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,::1" }).trustedProxies, [
    "127.0.0.1",
    "10.0.0.0/8",
    "::1",
  ]);
  assert.throws(() => parse({ TRUSTED_PROXIES: "proxy.local" }), /TRUSTED_PROXIES/);
  assert.throws(() => parse({ TRUSTED_PROXIES: "10.0.0.0/33" }), /TRUSTED_PROXIES/);
  // Admin-set upstream URLs in the environment follow the rule of the API: http(s), no credentials.
  assert.throws(
    () => parse({ GEMINI_API_ENDPOINT: "https://u:p@g.example" }),
    /GEMINI_API_ENDPOINT.*credentials/,
  );
  assert.throws(() => parse({ GEMINI_API_ENDPOINT: "file:///etc/passwd" }), /GEMINI_API_ENDPOINT/);
});

Deno.test("behind TRUST_PROXY a spoofed leftmost 127.0.0.1 neither passes the loopback check nor creates the first admin", async () => {
  const t = makeTestApp({ env: { TRUST_PROXY: "true" } });
  try {
    const spoof = { "x-forwarded-for": "127.0.0.1, 203.0.113.9" };
    const setup = await t.request(
      "/api/admin/setup",
      json({ username: "admin", password: PASS }, spoof),
      "127.0.0.1",
    );
    assert.equal((await errorOf(setup)).status, 403);
    assert.equal(await t.store.admins.count(), 0);
    const api = await t.request("/v1/models", { headers: spoof }, "127.0.0.1");
    assert.deepEqual([(await errorOf(api)).status], [403]);
    // The proxy forwarding a request that really came from its own machine is local.
    const local = await t.request(
      "/api/admin/setup",
      json({ username: "admin", password: PASS }, { "x-forwarded-for": "127.0.0.1" }),
      "127.0.0.1",
    );
    assert.equal(local.status, 200);
    await local.body?.cancel();
  } finally {
    await t.close();
  }
});

async function cookieOf(t: TestApp): Promise<string> {
  return `amq2api_session=${await adminSession(t)}`;
}

Deno.test("cookie-authenticated requests: cross-site Sec-Fetch-Site or a foreign Origin is 403, text/plain is 415", async () => {
  const t = makeTestApp({ env: { API_KEY: "sk-test-key-123" } });
  try {
    const cookie = await cookieOf(t);
    const create = (extra: Record<string, string>, contentType = "application/json") =>
      t.request("/v2/keys", {
        method: "POST",
        headers: { cookie, "content-type": contentType, ...extra },
        body: JSON.stringify({ label: "x" }),
      });
    for (const extra of [{ "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }]) {
      const refused = await errorOf(await create(extra));
      assert.deepEqual([refused.status, refused.type], [403, "permission_error"], JSON.stringify(extra));
    }
    for (const origin of ["http://evil.example", "null", "http://localhost.evil.example"]) {
      const refused = await errorOf(await create({ origin }));
      assert.equal(refused.status, 403, origin);
      assert.match(refused.message, /Origin/);
    }
    const plain = await errorOf(await create({}, "text/plain"));
    assert.deepEqual([plain.status, plain.type], [415, "invalid_request_error"]);
    assert.equal((await t.store.clientKeys.list()).length, 0);
    // Reading with the cookie from a cross-site page is refused as well.
    const read = await t.request("/v2/accounts", { headers: { cookie, "sec-fetch-site": "cross-site" } });
    assert.equal(read.status, 403);
    await read.body?.cancel();
    // The console itself: same origin, JSON.
    const sameOrigin: Array<Record<string, string>> = [
      {},
      { "sec-fetch-site": "same-origin", origin: "http://localhost" },
      { "sec-fetch-site": "none" },
    ];
    for (const extra of sameOrigin) {
      const ok = await create(extra);
      assert.equal(ok.status, 201, JSON.stringify(extra));
      await ok.body?.cancel();
    }
    // /v1 with the cookie follows the same rule.
    const message = {
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    };
    const v1 = await t.request("/v1/messages", {
      method: "POST",
      headers: { cookie, "content-type": "text/plain" },
      body: JSON.stringify(message),
    });
    assert.equal(v1.status, 415);
    await v1.body?.cancel();
    // A client key from a non-browser client is unaffected by the content type.
    const keyed = await t.request("/v1/models", {
      headers: { "x-api-key": "sk-test-key-123", origin: "http://evil.example" },
    });
    assert.equal(keyed.status, 200);
    await keyed.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("key-less loopback mode: cross-site pages, text/plain bodies and rebound Host names are refused", async () => {
  const t = makeTestApp();
  try {
    const message = {
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    };
    const cross = await errorOf(
      await t.request("/v1/messages", json(message, { "sec-fetch-site": "cross-site" })),
    );
    assert.deepEqual([cross.status, cross.type], [403, "permission_error"]);
    const origin = await errorOf(
      await t.request("/v1/messages", json(message, { origin: "https://evil.example" })),
    );
    assert.equal(origin.status, 403);
    const plain = await errorOf(
      await t.request("/v1/messages", {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(message),
      }),
    );
    assert.equal(plain.status, 415);
    const rebound = await errorOf(await t.request("http://evil.example:8080/v1/models"));
    assert.deepEqual([rebound.status, rebound.type], [403, "permission_error"]);
    assert.match(rebound.message, /Host/);
    for (const host of ["http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"]) {
      const ok = await t.request(`${host}/v1/models`);
      assert.equal(ok.status, 200, host);
      await ok.body?.cancel();
    }
    // The first admin cannot be created by a rebound name or a cross-site form either.
    const setupRebound = await t.request(
      "http://evil.example/api/admin/setup",
      json({ username: "admin", password: PASS }),
    );
    assert.equal(setupRebound.status, 403);
    await setupRebound.body?.cancel();
    const setupForm = await t.request("/api/admin/setup", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ username: "admin", password: PASS }),
    });
    assert.equal(setupForm.status, 415);
    await setupForm.body?.cancel();
    assert.equal(await t.store.admins.count(), 0);
  } finally {
    await t.close();
  }
  // BASE_URL's host is this server's own name.
  const named = makeTestApp({ env: { BASE_URL: "http://amq.internal:8080" } });
  try {
    const ok = await named.request("http://amq.internal:8080/v1/models", {
      headers: { origin: "http://amq.internal:8080" },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await named.close();
  }
});

function loginWith(t: TestApp, extra: Record<string, string>, remote = "127.0.0.1") {
  return t.request("/api/admin/login", json({ username: "admin", password: PASS }, extra), remote);
}

Deno.test("the session cookie is Secure whenever the client spoke https (trusted proxy or BASE_URL)", async () => {
  const proxied = makeTestApp({ env: { TRUSTED_PROXIES: "10.0.0.1" } });
  try {
    await adminSession(proxied);
    const viaTls = await loginWith(proxied, {
      "x-forwarded-for": "198.51.100.7",
      "x-forwarded-proto": "https",
    }, "10.0.0.1");
    assert.equal(viaTls.status, 200);
    assert.match(viaTls.headers.get("set-cookie") ?? "", /;\s*Secure/i);
    await viaTls.body?.cancel();
    // The same header from a peer that is not the proxy proves nothing.
    const direct = await loginWith(proxied, { "x-forwarded-proto": "https" }, "198.51.100.8");
    assert.equal(direct.status, 200);
    assert.doesNotMatch(direct.headers.get("set-cookie") ?? "", /Secure/i);
    await direct.body?.cancel();
  } finally {
    await proxied.close();
  }
  const based = makeTestApp({ env: { BASE_URL: "https://amq.example.com" } });
  try {
    await adminSession(based);
    const response = await loginWith(based, {});
    assert.match(response.headers.get("set-cookie") ?? "", /;\s*Secure/i);
    await response.body?.cancel();
  } finally {
    await based.close();
  }
});

Deno.test("over a real socket: a POST without a body passes with the cookie, text/plain and foreign Origins do not", async () => {
  const t = makeTestApp();
  const server = serveTestApp(t);
  try {
    const cookie = await cookieOf(t);
    const post = (path: string, init: RequestInit) =>
      fetch(`${server.url}${path}`, { method: "POST", ...init, headers: { cookie, ...init.headers } });
    const empty = await post("/v2/accounts/refresh-all", {});
    assert.equal(empty.status, 200);
    await empty.body?.cancel();
    const plain = await post("/v2/keys", {
      headers: { "content-type": "text/plain" },
      body: '{"label":"x"}',
    });
    assert.equal(plain.status, 415);
    await plain.body?.cancel();
    const foreign = await post("/v2/keys", {
      headers: { "content-type": "application/json", origin: "http://attacker.example" },
      body: '{"label":"x"}',
    });
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    const own = await post("/v2/keys", {
      headers: { "content-type": "application/json", origin: server.url, "sec-fetch-site": "same-origin" },
      body: '{"label":"x"}',
    });
    assert.equal(own.status, 201);
    await own.body?.cancel();
  } finally {
    await server.stop();
    await t.close();
  }
});

Deno.test("behind a trusted proxy that rewrites Host, the console's Origin matches X-Forwarded-Host", async () => {
  const t = makeTestApp({ env: { TRUSTED_PROXIES: "10.0.0.1", API_KEY: "sk-test-key-123" } });
  try {
    const cookie = await cookieOf(t);
    const viaProxy = (remote: string) =>
      t.request("http://127.0.0.1:8080/v2/keys", {
        method: "POST",
        headers: {
          cookie,
          "content-type": "application/json",
          origin: "https://amq.example.com",
          "x-forwarded-host": "amq.example.com",
          "x-forwarded-for": "198.51.100.7",
        },
        body: JSON.stringify({ label: "x" }),
      }, remote);
    const ok = await viaProxy("10.0.0.1");
    assert.equal(ok.status, 201);
    await ok.body?.cancel();
    // The same header from anyone else proves nothing.
    const direct = await viaProxy("198.51.100.9");
    assert.equal(direct.status, 403);
    await direct.body?.cancel();
  } finally {
    await t.close();
  }
});
