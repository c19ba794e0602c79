import assert from "node:assert/strict";
import { adminSession, json, makeTestApp } from "../_helpers/test_app.ts";

Deno.test("POST /v2/accounts/import-token-cache creates an Amazon Q account from a Kiro token file, secrets masked", async () => {
  const t = makeTestApp();
  try {
    const headers = { "x-session-token": await adminSession(t) };
    const content = JSON.stringify({
      accessToken: "kiro-access-token-0123456789",
      refreshToken: "kiro-refresh-token-0123456789",
      expiresAt: "2026-12-01T00:00:00.000Z",
      profileArn: "arn:aws:codewhisperer:us-east-1:000000000000:profile/TEST",
      authMethod: "social",
      provider: "Github",
    });
    const response = await t.request(
      "/v2/accounts/import-token-cache",
      json({ content, label: "laptop kiro" }, headers),
    );
    const text = await response.text();
    assert.equal(response.status, 201, text);
    assert.ok(
      !text.includes("kiro-refresh-token-0123456789") && !text.includes("kiro-access-token-0123456789"),
    );
    const view = JSON.parse(text);
    assert.equal(view.type, "amazonq");
    assert.equal(view.label, "laptop kiro");
    const stored = (await t.store.accounts.get(view.id))!;
    assert.equal(stored.refreshToken, "kiro-refresh-token-0123456789");
    assert.equal(stored.other.authType, "social");
    assert.equal(stored.other.profileArn, "arn:aws:codewhisperer:us-east-1:000000000000:profile/TEST");
    assert.equal(stored.tokenExpiresAt, Date.parse("2026-12-01T00:00:00.000Z"));

    // Not a token file: a 400 that does not echo the content.
    const bad = await t.request(
      "/v2/accounts/import-token-cache",
      json({ content: JSON.stringify({ hello: "secret-looking-value" }) }, headers),
    );
    const badText = await bad.text();
    assert.equal(bad.status, 400);
    assert.ok(!badText.includes("secret-looking-value"));
    // Admin only.
    const anonymous = await t.request("/v2/accounts/import-token-cache", json({ content }));
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await t.close();
  }
});
