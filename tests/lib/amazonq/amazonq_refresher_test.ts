import assert from "node:assert/strict";
import { AmazonQRefresher } from "../../../lib/amazonq/amazonq_refresher.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { account, fakeServer, test } from "../../_helpers/amazonq_helpers.ts";

const NOW = 1_800_000_000_000;

function refresher(url: string) {
  return new AmazonQRefresher({
    fetch: (input, init) => fetch(input, init),
    tokenEndpoint: `${url}token`,
    kiroRefreshEndpoint: `${url}refreshToken`,
    now: () => NOW,
  });
}

test("AmazonQRefresher refreshes an SSO-OIDC account and returns the rotated refresh token", async () => {
  const server = fakeServer(() =>
    Response.json({ accessToken: "new-at", tokenType: "Bearer", expiresIn: 3600, refreshToken: "new-rt" })
  );
  try {
    const tokens = await refresher(server.url).refresh(account({ refreshToken: "old-rt" }));
    assert.deepEqual(tokens, { accessToken: "new-at", refreshToken: "new-rt", expiresAt: NOW + 3_600_000 });
    assert.equal(server.requests[0]!.path, "/token");
    assert.deepEqual(JSON.parse(server.requests[0]!.body), {
      grantType: "refresh_token",
      refreshToken: "old-rt",
      clientId: "cid",
      clientSecret: "csecret",
    });
  } finally {
    await server.shutdown();
  }
});

test("AmazonQRefresher uses the Kiro social refresh for social accounts", async () => {
  const server = fakeServer(() =>
    Response.json({
      accessToken: "kiro-at",
      expiresIn: 1800,
      profileArn: "arn:aws:codewhisperer:us-east-1:9:profile/K",
    })
  );
  try {
    const social = account({
      clientId: null,
      clientSecret: null,
      refreshToken: "social-rt",
      other: { authType: "social" },
    });
    const tokens = await refresher(server.url).refresh(social);
    assert.deepEqual(tokens, {
      accessToken: "kiro-at",
      expiresAt: NOW + 1_800_000,
      otherPatch: { profileArn: "arn:aws:codewhisperer:us-east-1:9:profile/K" },
    });
    assert.equal(server.requests[0]!.path, "/refreshToken");
    assert.deepEqual(JSON.parse(server.requests[0]!.body), { refreshToken: "social-rt" });
  } finally {
    await server.shutdown();
  }
});

test("AmazonQRefresher: invalid_grant is an invalid_grant UpstreamError without secrets", async () => {
  const server = fakeServer(() =>
    Response.json({ error: "invalid_grant", error_description: "Invalid refresh token provided" }, {
      status: 400,
    })
  );
  try {
    const error = await refresher(server.url).refresh(account({ refreshToken: "secret-rt-value" })).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.kind, "invalid_grant");
    assert.equal(error.upstreamStatus, 400);
    assert.ok(!error.message.includes("secret-rt-value"));
    assert.ok(!error.message.includes("csecret"));
  } finally {
    await server.shutdown();
  }
});

test("AmazonQRefresher: a refused client ID or secret is an auth (configuration) error, not a dead grant", async () => {
  for (const code of ["invalid_client", "unauthorized_client"]) {
    const server = fakeServer(() =>
      Response.json({ error: code, error_description: "Invalid client" }, { status: 401 })
    );
    try {
      const error = await refresher(server.url).refresh(account({})).then(() => null, (e) => e);
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "auth", code);
      assert.match(error.message, new RegExp(`${code}.*client ID or client secret`));
      assert.ok(!error.message.includes("csecret"));
    } finally {
      await server.shutdown();
    }
  }
});

test("AmazonQRefresher: 5xx and network failures are transient; a missing refresh token is invalid_grant", async () => {
  const server = fakeServer(() => new Response("upstream down", { status: 503 }));
  try {
    const error = await refresher(server.url).refresh(account()).then(() => null, (e) => e);
    assert.equal((error as UpstreamError).kind, "transient");
  } finally {
    await server.shutdown();
  }
  const offline = new AmazonQRefresher({
    fetch: () => Promise.reject(new TypeError("connection refused")),
    tokenEndpoint: "http://127.0.0.1:9/token",
    kiroRefreshEndpoint: "http://127.0.0.1:9/refreshToken",
    now: () => NOW,
  });
  assert.equal(
    ((await offline.refresh(account()).then(() => null, (e) => e)) as UpstreamError).kind,
    "transient",
  );
  const missing = await offline.refresh(account({ refreshToken: null })).then(() => null, (e) => e);
  assert.equal((missing as UpstreamError).kind, "invalid_grant");
});
