import assert from "node:assert/strict";
import { secretDigest } from "../../lib/admin/secret_digest.ts";
import { adminSession, json, makeTestApp, type TestApp } from "../_helpers/test_app.ts";

const USER = "admin";
const PASS = "correct-horse";

async function status(t: TestApp, remote?: string) {
  const response = await t.request("/api/admin/status", undefined, remote);
  assert.equal(response.status, 200);
  return await response.json() as { needSetup: boolean; locked: boolean; lockRemaining: number };
}

async function expectError(response: Response, status: number, type: string, fragment?: string) {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.equal(body.type, "error");
  assert.equal(body.error.type, type);
  if (fragment) assert.ok(body.error.message.includes(fragment), body.error.message);
  return body;
}

function setup(t: TestApp, username = USER, password = PASS, confirmPassword: string | undefined = password) {
  return t.request("/api/admin/setup", json({ username, password, confirmPassword }));
}

function login(t: TestApp, password = PASS, remote?: string, username = USER) {
  return t.request("/api/admin/login", json({ username, password }), remote);
}

Deno.test("status says needSetup until the first admin exists; setup validates and is first-come only", async () => {
  const t = makeTestApp();
  try {
    assert.deepEqual(await status(t), { needSetup: true, locked: false, lockRemaining: 0 });
    await expectError(await setup(t, "ab"), 400, "invalid_request_error", "username");
    await expectError(await setup(t, "x".repeat(51)), 400, "invalid_request_error", "username");
    await expectError(await setup(t, USER, "short"), 400, "invalid_request_error", "password");
    await expectError(
      await setup(t, USER, PASS, "something-else"),
      400,
      "invalid_request_error",
      "confirmPassword",
    );
    await expectError(
      await t.request("/api/admin/setup", json({ username: 42, password: PASS })),
      400,
      "invalid_request_error",
      "username",
    );
    await expectError(
      await t.request("/api/admin/setup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      }),
      400,
      "invalid_request_error",
    );
    assert.equal((await status(t)).needSetup, true);

    const first = await setup(t);
    assert.equal(first.status, 200);
    assert.equal((await first.json()).success, true);
    assert.equal((await status(t)).needSetup, false);
    await expectError(await setup(t, "another", "another-pass"), 409, "invalid_request_error");
    assert.equal(await t.store.admins.count(), 1);
  } finally {
    await t.close();
  }
});

Deno.test("two concurrent setups create exactly one admin", async () => {
  const t = makeTestApp();
  try {
    const responses = await Promise.all([
      setup(t, "alice", "alice-password"),
      setup(t, "bobby", "bobby-password"),
    ]);
    const statuses = responses.map((r) => r.status).sort();
    await Promise.all(responses.map((r) => r.body?.cancel()));
    assert.deepEqual(statuses, [200, 409]);
    assert.equal(await t.store.admins.count(), 1);
  } finally {
    await t.close();
  }
});

Deno.test("/v2 is 403 before setup and 401 without a session after it; wrong password is 401", async () => {
  const t = makeTestApp();
  try {
    await expectError(await t.request("/v2/accounts"), 403, "permission_error");
    await expectError(
      await t.request("/v2/config", { headers: { "x-session-token": "whatever" } }),
      403,
      "permission_error",
    );
    assert.equal((await setup(t)).status, 200);
    await expectError(await t.request("/v2/accounts"), 401, "authentication_error");
    await expectError(
      await t.request("/v2/accounts", { headers: { "x-session-token": "0".repeat(64) } }),
      401,
      "authentication_error",
    );
    await expectError(await login(t, "wrong-password"), 401, "authentication_error");
    await expectError(await login(t, PASS, undefined, "nobody"), 401, "authentication_error");
  } finally {
    await t.close();
  }
});

/** The `login_attempts` key of an address and username. */
function attemptKey(address: string, username = USER): string {
  return `${address}|${secretDigest(username.toLowerCase()).slice(0, 32)}`;
}

Deno.test("five failures lock the address and username (429 + retry-after, stored), other addresses still log in, the lock expires", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await setup(t)).status, 200);
    const attacker = "203.0.113.5";
    for (let i = 0; i < 5; i++) {
      await expectError(await login(t, "bad-password", attacker), 401, "authentication_error");
    }
    const locked = await login(t, PASS, attacker);
    assert.equal(locked.status, 429);
    const retryAfter = Number(locked.headers.get("retry-after"));
    assert.ok(retryAfter > 800 && retryAfter <= 900, `retry-after ${retryAfter}`);
    await expectError(locked, 429, "rate_limit_error");

    // The lock lives in the store (shared between instances, survives restarts).
    const stored = await t.store.loginAttempts.get(attemptKey(attacker));
    assert.ok(stored && stored.locked_until !== null && stored.locked_until > t.clock.now());
    // Five failures are far below the global slow-down.
    assert.equal((await status(t)).locked, false);

    // Another address is unaffected.
    const other = await login(t, PASS, "198.51.100.7");
    assert.equal(other.status, 200);
    await other.body?.cancel();

    t.clock.advance(15 * 60_000 + 1000);
    const after = await login(t, PASS, attacker);
    assert.equal(after.status, 200);
    await after.body?.cancel();
    // A success clears the failures and the lock.
    const cleared = await t.store.loginAttempts.get(attemptKey(attacker));
    assert.equal(cleared?.failures, 0);
    assert.equal(cleared?.locked_until, null);
  } finally {
    await t.close();
  }
});

Deno.test("failures under other usernames from the admin's own address do not lock the admin out", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await setup(t)).status, 200);
    const shared = "192.0.2.44";
    for (const name of ["root", "administrator", "test", "guest", "user", "admin1", "operator"]) {
      await expectError(await login(t, "bad-password", shared, name), 401, "authentication_error");
    }
    const admin = await login(t, PASS, shared);
    assert.equal(admin.status, 200);
    await admin.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("failed logins across many addresses meet a global, exponentially growing slow-down", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await setup(t)).status, 200);
    // 20 failures from 20 addresses (one each, so no per-address lock) are the free allowance.
    for (let i = 0; i < 20; i++) {
      await expectError(await login(t, "bad-password", `198.18.0.${i + 1}`), 401, "authentication_error");
    }
    await expectError(await login(t, "bad-password", "198.18.1.1"), 401, "authentication_error");
    // The 21st failure imposes a 1 s wait on everyone, the next 2 s, then 4 s...
    const slowed = await login(t, PASS, "198.18.1.2");
    await expectError(slowed, 429, "rate_limit_error", "on this server");
    assert.equal(slowed.headers.get("retry-after"), "1");
    assert.equal((await status(t)).locked, true);
    t.clock.advance(1000);
    await expectError(await login(t, "bad-password", "198.18.1.3"), 401, "authentication_error");
    const slower = await login(t, PASS, "198.18.1.4");
    assert.equal(slower.headers.get("retry-after"), "2");
    await slower.body?.cancel();
    t.clock.advance(2000);
    await expectError(await login(t, "bad-password", "198.18.1.5"), 401, "authentication_error");
    const slowest = await login(t, PASS, "198.18.1.6");
    assert.equal(slowest.headers.get("retry-after"), "4");
    await slowest.body?.cancel();
    // The real admin only waits: once the delay is over, the right password gets in.
    t.clock.advance(4000);
    const admin = await login(t, PASS, "192.0.2.1");
    assert.equal(admin.status, 200);
    await admin.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("more than 10 attempts per minute from one address are 429 even when they succeed", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await setup(t)).status, 200);
    for (let i = 0; i < 10; i++) {
      // Failures in between stay under the lockout threshold because each success resets them.
      const response = await login(t, i % 3 === 2 ? "bad-password" : PASS);
      assert.equal(response.status, i % 3 === 2 ? 401 : 200, `attempt ${i}`);
      await response.body?.cancel();
    }
    const limited = await login(t);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    await expectError(limited, 429, "rate_limit_error", "too many login attempts");
    // Another address has its own window.
    const other = await login(t, PASS, "198.51.100.8");
    assert.equal(other.status, 200);
    await other.body?.cancel();
    t.clock.advance(60_000);
    const later = await login(t);
    assert.equal(later.status, 200);
    await later.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("with TRUST_PROXY the login limits follow the hop the proxy appended, not the client's", async () => {
  const t = makeTestApp({ env: { TRUST_PROXY: "true" } });
  try {
    assert.equal((await setup(t)).status, 200);
    const via = (xff: string, password: string) =>
      t.request(
        "/api/admin/login",
        json({ username: USER, password }, { "x-forwarded-for": xff }),
        "10.0.0.1",
      );
    // The client rotates a made-up first hop; the proxy appends the real address on the right.
    for (let i = 0; i < 5; i++) {
      await expectError(await via(`192.0.2.${i}, 203.0.113.1`, "nope-nope"), 401, "authentication_error");
    }
    await expectError(await via("192.0.2.99, 203.0.113.1", PASS), 429, "rate_limit_error");
    const other = await via("203.0.113.1, 203.0.113.2", PASS);
    assert.equal(other.status, 200);
    await other.body?.cancel();
    assert.ok((await t.store.loginAttempts.get(attemptKey("203.0.113.1")))?.locked_until);
  } finally {
    await t.close();
  }
});

Deno.test("a session works by header and by HttpOnly SameSite=Strict cookie, is stored hashed, expires after 24 h", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await setup(t)).status, 200);
    const response = await login(t);
    assert.equal(response.status, 200);
    const cookie = response.headers.get("set-cookie") ?? "";
    const body = await response.json();
    const token: string = body.token;
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.match(cookie, /amq2api_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\//);
    assert.ok(cookie.includes(token));

    const byHeader = await t.request("/v2/accounts", { headers: { "x-session-token": token } });
    assert.equal(byHeader.status, 200);
    assert.deepEqual(await byHeader.json(), []);
    const byCookie = await t.request("/v2/accounts", { headers: { cookie: `amq2api_session=${token}` } });
    assert.equal(byCookie.status, 200);
    await byCookie.body?.cancel();

    // Only the digest is stored.
    assert.equal(await t.store.sessions.get(token), null);
    const session = await t.store.sessions.get(secretDigest(token));
    assert.ok(session);
    assert.equal(session.expires_at - t.clock.now(), 24 * 3_600_000);

    t.clock.advance(24 * 3_600_000 - 1000);
    const late = await t.request("/v2/accounts", { headers: { "x-session-token": token } });
    assert.equal(late.status, 200);
    await late.body?.cancel();
    t.clock.advance(2000);
    await expectError(
      await t.request("/v2/accounts", { headers: { "x-session-token": token } }),
      401,
      "authentication_error",
      "expired",
    );
    // Expired sessions are deleted on sight.
    assert.equal(await t.store.sessions.get(secretDigest(token)), null);
  } finally {
    await t.close();
  }
});

Deno.test("logout ends the session (header or cookie) and clears the cookie", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t, USER, PASS);
    const other = await adminSession(t, USER, PASS);
    await expectError(await t.request("/api/admin/logout", { method: "POST" }), 401, "authentication_error");
    const out = await t.request("/api/admin/logout", {
      method: "POST",
      headers: { "x-session-token": token },
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /amq2api_session=;.*Max-Age=0/i);
    await out.body?.cancel();
    await expectError(
      await t.request("/v2/accounts", { headers: { "x-session-token": token } }),
      401,
      "authentication_error",
    );
    // Other sessions live on; logging out by cookie works too.
    const still = await t.request("/v2/accounts", { headers: { "x-session-token": other } });
    assert.equal(still.status, 200);
    await still.body?.cancel();
    const byCookie = await t.request("/api/admin/logout", {
      method: "POST",
      headers: { cookie: `amq2api_session=${other}` },
    });
    assert.equal(byCookie.status, 200);
    await byCookie.body?.cancel();
    await expectError(
      await t.request("/v2/accounts", { headers: { "x-session-token": other } }),
      401,
      "authentication_error",
    );
  } finally {
    await t.close();
  }
});

Deno.test("ADMIN_USERNAME/ADMIN_PASSWORD create the first admin headlessly, once", async () => {
  const t = makeTestApp({ env: { ADMIN_USERNAME: "ops-admin", ADMIN_PASSWORD: "ops-password-1" } });
  try {
    const { adminUsername, adminPassword } = t.deps.config;
    assert.equal(await t.deps.admin.ensureInitialAdmin(adminUsername!, adminPassword!), true);
    assert.equal(await t.deps.admin.ensureInitialAdmin(adminUsername!, adminPassword!), false);
    assert.equal(await t.deps.admin.ensureInitialAdmin("someone-else", "other-password"), false);
    assert.equal(await t.store.admins.count(), 1);
    assert.equal((await status(t)).needSetup, false);
    await expectError(await setup(t), 409, "invalid_request_error");
    const ok = await login(t, "ops-password-1", undefined, "ops-admin");
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("the first admin can only be set up from the server itself, not through a proxy or the network", async () => {
  const t = makeTestApp();
  try {
    const body = { username: "admin", password: "correct-horse", confirmPassword: "correct-horse" };
    const remote = await t.request("/api/admin/setup", json(body), "203.0.113.7");
    assert.equal(remote.status, 403);
    assert.equal((await remote.json()).error.type, "permission_error");
    const proxied = await t.request(
      "/api/admin/setup",
      json(body, { "x-forwarded-for": "203.0.113.7" }),
      "127.0.0.1",
    );
    assert.equal(proxied.status, 403);
    await proxied.body?.cancel();
    assert.equal(await t.store.admins.count(), 0);
    const local = await t.request("/api/admin/setup", json(body), "127.0.0.1");
    assert.equal(local.status, 200);
    await local.body?.cancel();
  } finally {
    await t.close();
  }
});
