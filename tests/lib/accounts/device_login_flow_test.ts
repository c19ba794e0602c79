/**
 * The Amazon Q device-code login through the admin routes (issue 4), against a fake AWS SSO-OIDC server:
 * `authorization_pending`, `slow_down` (the interval grows by 5 s and polls wait for it), completion creating
 * a usable account, and expiry (by the clock and by the server's `expired_token`). Polls happen only when
 * an admin asks, at most once per interval, on the injected clock.
 */
import assert from "node:assert/strict";
import { adminSession, json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";

interface FakeOidc {
  url: string;
  polls: Array<Record<string, unknown>>;
  registrations: number;
  close(): Promise<void>;
}

/** `/client/register`, `/device_authorization` and `/token`; token polls answer from `answers` in order. */
function fakeOidc(answers: Array<[number, Record<string, unknown>]>, expiresIn = 600): FakeOidc {
  const polls: Array<Record<string, unknown>> = [];
  let registrations = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    const path = new URL(req.url).pathname;
    if (path === "/client/register") {
      registrations++;
      assert.deepEqual(body.scopes, [
        "codewhisperer:completions",
        "codewhisperer:analysis",
        "codewhisperer:conversations",
      ]);
      return Response.json({
        clientId: `client-${registrations}`,
        clientSecret: `secret-${registrations}`,
        clientSecretExpiresAt: 1_900_000_000,
      });
    }
    if (path === "/device_authorization") {
      assert.equal(body.clientId, `client-${registrations}`);
      return Response.json({
        deviceCode: `device-${registrations}`,
        userCode: "ABCD-EFGH",
        verificationUri: "https://device.sso.us-east-1.amazonaws.com/",
        verificationUriComplete: "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH",
        expiresIn,
        interval: 1,
      });
    }
    if (path === "/token") {
      polls.push(body);
      const [status, answer] = answers.shift() ?? [400, { error: "authorization_pending" }];
      return Response.json(answer, { status });
    }
    return Response.json({ error: "not_found" }, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    polls,
    get registrations() {
      return registrations;
    },
    close: () => server.shutdown(),
  };
}

async function call(t: TestApp, token: string, path: string, method = "GET", body?: unknown) {
  const init: RequestInit = body === undefined
    ? { method, headers: { "x-session-token": token } }
    : json(body, { "x-session-token": token }, method);
  const response = await t.request(path, init);
  return { status: response.status, body: await response.json() };
}

Deno.test("device login: pending, slow_down (interval + 5 s honoured), then a usable account", async () => {
  const oidc = fakeOidc([
    [400, { error: "authorization_pending", error_description: "pending" }],
    [400, { error: "slow_down" }],
    [400, { error: "authorization_pending" }],
    [200, { accessToken: "aoa-access", refreshToken: "aor-refresh", expiresIn: 3600, tokenType: "Bearer" }],
  ]);
  const t = makeTestApp({ env: { AMAZONQ_OIDC_ENDPOINT: oidc.url } });
  try {
    const token = await adminSession(t);
    const started = await call(t, token, "/v2/auth/start", "POST", { label: "builder-id" });
    assert.equal(started.status, 200);
    assert.equal(started.body.userCode, "ABCD-EFGH");
    assert.equal(started.body.interval, 1);
    assert.equal(started.body.expiresIn, 600);
    const id = started.body.authId;

    // Asked before the interval has passed: no poll.
    assert.equal((await call(t, token, `/v2/auth/status/${id}`)).body.status, "pending");
    assert.equal(oidc.polls.length, 0);

    t.clock.advance(1_000);
    assert.equal((await call(t, token, `/v2/auth/status/${id}`)).body.status, "pending");
    assert.equal(oidc.polls.length, 1);
    assert.equal(oidc.polls[0]!.grantType, "urn:ietf:params:oauth:grant-type:device_code");
    assert.equal(oidc.polls[0]!.deviceCode, "device-1");

    t.clock.advance(1_000);
    const slowed = await call(t, token, `/v2/auth/claim/${id}`, "POST");
    assert.equal(slowed.status, 202, "claim answers pending instead of holding the request");
    assert.equal(oidc.polls.length, 2, "this poll got slow_down");

    // The interval is now 6 s: asking after 1 s and 5 s does not poll.
    t.clock.advance(1_000);
    await call(t, token, `/v2/auth/status/${id}`);
    t.clock.advance(4_000);
    await call(t, token, `/v2/auth/claim/${id}`, "POST");
    assert.equal(oidc.polls.length, 2, "slow_down is honoured");
    t.clock.advance(1_000);
    await call(t, token, `/v2/auth/status/${id}`);
    assert.equal(oidc.polls.length, 3);

    t.clock.advance(6_000);
    const done = await call(t, token, `/v2/auth/claim/${id}`, "POST");
    assert.equal(done.status, 200);
    assert.equal(done.body.status, "completed");
    assert.equal(done.body.account.label, "builder-id");
    assert.equal(done.body.account.type, "amazonq");
    assert.equal(done.body.account.enabled, true);
    assert.notEqual(done.body.account.refreshToken, "aor-refresh", "secrets are masked in the answer");

    const account = (await t.store.accounts.get(done.body.account.id))!;
    assert.equal(account.clientId, "client-1");
    assert.equal(account.clientSecret, "secret-1");
    assert.equal(account.refreshToken, "aor-refresh");
    assert.equal(account.accessToken, "aoa-access");
    assert.equal(account.tokenExpiresAt, t.clock.now() + 3_600_000);
    assert.deepEqual((await t.deps.pool.usableAccounts()).map((a) => a.id), [account.id]);

    // Claiming again answers the same account and creates no second one.
    const again = await call(t, token, `/v2/auth/claim/${id}`, "POST");
    assert.equal(again.body.account.id, account.id);
    assert.equal((await t.store.accounts.list()).length, 1);
    assert.equal(oidc.polls.length, 4);
  } finally {
    await t.close();
    await oidc.close();
  }
});

Deno.test("device login: expiry by the clock and by expired_token answer 408; denial answers 502", async () => {
  const oidc = fakeOidc([
    [400, { error: "expired_token" }],
    [400, { error: "access_denied" }],
  ], 5);
  const t = makeTestApp({ env: { AMAZONQ_OIDC_ENDPOINT: oidc.url } });
  try {
    const token = await adminSession(t);
    // 1: the device code's lifetime passes without the user approving.
    const lapsed = (await call(t, token, "/v2/auth/start", "POST", {})).body.authId;
    t.clock.advance(5_000);
    const expired = await call(t, token, `/v2/auth/claim/${lapsed}`, "POST");
    assert.equal(expired.status, 408);
    assert.equal(expired.body.error.type, "invalid_request_error");
    assert.equal(oidc.polls.length, 0, "an expired session is not polled");
    assert.equal((await call(t, token, `/v2/auth/status/${lapsed}`)).body.status, "timeout");

    // 2: the server says the device code expired.
    const told = (await call(t, token, "/v2/auth/start", "POST", {})).body.authId;
    t.clock.advance(1_000);
    assert.equal((await call(t, token, `/v2/auth/claim/${told}`, "POST")).status, 408);

    // 3: the user denied the login.
    const denied = (await call(t, token, "/v2/auth/start", "POST", {})).body.authId;
    t.clock.advance(1_000);
    const refused = await call(t, token, `/v2/auth/claim/${denied}`, "POST");
    assert.equal(refused.status, 502);
    assert.match(refused.body.error.message, /denied/);

    assert.equal((await t.store.accounts.list()).length, 0);
    assert.equal((await call(t, token, "/v2/auth/status/no-such-id")).status, 404);
  } finally {
    await t.close();
    await oidc.close();
  }
});

Deno.test("device login routes need an admin session", async () => {
  const oidc = fakeOidc([]);
  const t = makeTestApp({ env: { AMAZONQ_OIDC_ENDPOINT: oidc.url } });
  try {
    await adminSession(t);
    const response = await t.request("/v2/auth/start", json({}));
    assert.equal(response.status, 401);
    await response.body?.cancel();
    assert.equal(oidc.registrations, 0);
  } finally {
    await t.close();
    await oidc.close();
  }
});
