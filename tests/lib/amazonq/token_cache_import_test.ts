import assert from "node:assert/strict";
import { importTokenCache } from "../../../lib/amazonq/token_cache_import.ts";
import { ApiError } from "../../../lib/errors.ts";

Deno.test("importTokenCache reads an AWS SSO cache token file", () => {
  const account = importTokenCache(JSON.stringify({
    accessToken: "aoa-token",
    refreshToken: "aor-token",
    expiresAt: "2026-05-17T13:00:00Z",
    clientId: "client-id",
    clientSecret: "client-secret",
    region: "us-east-1",
    startUrl: "https://view.awsapps.com/start",
  }));
  assert.deepEqual(account, {
    type: "amazonq",
    label: "Amazon Q",
    clientId: "client-id",
    clientSecret: "client-secret",
    refreshToken: "aor-token",
    accessToken: "aoa-token",
    tokenExpiresAt: Date.parse("2026-05-17T13:00:00Z"),
    other: {
      authType: "idc",
      importedFrom: "aws-sso-cache",
      region: "us-east-1",
      startUrl: "https://view.awsapps.com/start",
    },
  });
});

Deno.test("importTokenCache reads a Kiro social token file", () => {
  const account = importTokenCache(
    JSON.stringify({
      accessToken: "kiro-at",
      refreshToken: "kiro-rt",
      expiresAt: "2026-05-17T13:00:00.000Z",
      profileArn: "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK",
      authMethod: "social",
      provider: "Google",
    }),
    { label: "my kiro" },
  );
  assert.equal(account.label, "my kiro");
  assert.equal(account.clientId, null);
  assert.equal(account.clientSecret, null);
  assert.equal(account.refreshToken, "kiro-rt");
  assert.deepEqual(account.other, {
    authType: "social",
    importedFrom: "kiro",
    profileArn: "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK",
    provider: "Google",
  });
});

Deno.test("importTokenCache: a Kiro IdC file with its client registration becomes an idc account", () => {
  const token = JSON.stringify({
    accessToken: "a",
    refreshToken: "r",
    expiresAt: "2026-05-17T13:00:00Z",
    authMethod: "IdC",
    provider: "BuilderId",
    clientIdHash: "abc",
    region: "us-east-1",
  });
  assert.throws(() => importTokenCache(token), /client registration/);
  const account = importTokenCache(token, {
    clientRegistration: JSON.stringify({
      clientId: "cid",
      clientSecret: "cs",
      expiresAt: "2026-08-01T00:00:00Z",
    }),
  });
  assert.equal(account.clientId, "cid");
  assert.equal(account.clientSecret, "cs");
  assert.equal(account.other?.authType, "idc");
  assert.equal(account.other?.clientSecretExpiresAt, Date.parse("2026-08-01T00:00:00Z"));
});

Deno.test("importTokenCache rejects unknown shapes clearly, without echoing secrets", () => {
  for (
    const [text, pattern] of [
      ["not json", /not valid JSON/],
      ["[1,2]", /not a JSON object/],
      [JSON.stringify({ foo: "bar" }), /unrecognised token cache file/],
      [
        JSON.stringify({ clientId: "c", clientSecret: "secret-xyz", expiresAt: "2026" }),
        /client registration file/,
      ],
      [JSON.stringify({ accessToken: "a", refreshToken: "secret-rt" }), /no clientId and clientSecret/],
    ] as const
  ) {
    assert.throws(() => importTokenCache(text), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 400);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("secret"));
      return true;
    });
  }
});
