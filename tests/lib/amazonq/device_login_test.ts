import assert from "node:assert/strict";
import { DeviceLogin } from "../../../lib/amazonq/device_login.ts";
import { fakeServer, test } from "../../_helpers/amazonq_helpers.ts";

test("DeviceLogin runs register, device authorization, then pending / slow_down / completed polls", async () => {
  let now = 1_000_000;
  const polls = [
    () => Response.json({ error: "authorization_pending" }, { status: 400 }),
    () => Response.json({ error: "slow_down" }, { status: 400 }),
    () => Response.json({ accessToken: "at", refreshToken: "rt", expiresIn: 3600, tokenType: "Bearer" }),
  ];
  let poll = 0;
  const server = fakeServer((_i, request) => {
    const path = new URL(request.url).pathname;
    if (path === "/client/register") {
      return Response.json({ clientId: "cid", clientSecret: "csec", clientSecretExpiresAt: 2_000_000 });
    }
    if (path === "/device_authorization") {
      return Response.json({
        deviceCode: "dev",
        userCode: "ABCD-EFGH",
        verificationUri: "https://device.sso.example/",
        verificationUriComplete: "https://device.sso.example/?user_code=ABCD-EFGH",
        expiresIn: 600,
        interval: 1,
      });
    }
    return polls[poll++]!();
  });
  try {
    const login = new DeviceLogin({
      fetch: (input, init) => fetch(input, init),
      oidcEndpoint: server.url,
      startUrl: "https://view.awsapps.com/start",
      now: () => now,
    });
    const session = await login.start();
    assert.deepEqual(session, {
      clientId: "cid",
      clientSecret: "csec",
      clientSecretExpiresAt: 2_000_000_000,
      deviceCode: "dev",
      userCode: "ABCD-EFGH",
      verificationUri: "https://device.sso.example/",
      verificationUriComplete: "https://device.sso.example/?user_code=ABCD-EFGH",
      interval: 1,
      expiresAt: 1_000_000 + 600_000,
    });
    assert.deepEqual(JSON.parse(server.requests[0]!.body), {
      clientName: "Amazon Q Developer for command line",
      clientType: "public",
      scopes: ["codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"],
    });
    assert.deepEqual(JSON.parse(server.requests[1]!.body), {
      clientId: "cid",
      clientSecret: "csec",
      startUrl: "https://view.awsapps.com/start",
    });
    assert.deepEqual(await login.poll(session), { status: "pending" });
    assert.deepEqual(await login.poll(session), { status: "slow_down", interval: 6 });
    now += 5000;
    const done = await login.poll(session);
    assert.deepEqual(done, {
      status: "completed",
      tokens: { accessToken: "at", refreshToken: "rt", expiresAt: now + 3_600_000 },
    });
    assert.deepEqual(JSON.parse(server.requests[2]!.body), {
      clientId: "cid",
      clientSecret: "csec",
      deviceCode: "dev",
      grantType: "urn:ietf:params:oauth:grant-type:device_code",
    });
    assert.equal(server.requests.length, 5, "one request per poll");
    if (done.status === "completed") {
      const created = DeviceLogin.account(session, done.tokens, "mine");
      assert.equal(created.type, "amazonq");
      assert.equal(created.refreshToken, "rt");
      assert.equal(created.clientSecret, "csec");
      assert.equal(created.other?.authType, "idc");
    }
  } finally {
    await server.shutdown();
  }
});

test("DeviceLogin reports expiry and errors", async () => {
  let now = 0;
  const server = fakeServer((i) =>
    i === 0
      ? Response.json({ error: "expired_token" }, { status: 400 })
      : Response.json({ error: "access_denied" }, { status: 400 })
  );
  try {
    const login = new DeviceLogin({
      fetch: (input, init) => fetch(input, init),
      oidcEndpoint: server.url,
      startUrl: "https://view.awsapps.com/start",
      now: () => now,
    });
    const session = {
      clientId: "c",
      clientSecret: "s",
      clientSecretExpiresAt: null,
      deviceCode: "d",
      userCode: "U",
      verificationUri: "",
      verificationUriComplete: "",
      interval: 1,
      expiresAt: 10_000,
    };
    assert.deepEqual(await login.poll(session), { status: "expired" });
    const denied = await login.poll(session);
    assert.equal(denied.status, "error");
    now = 10_000;
    assert.deepEqual(await login.poll(session), { status: "expired" }, "past the deadline: no request");
    assert.equal(server.requests.length, 2);
  } finally {
    await server.shutdown();
  }
});
