import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../_helpers/test_app.ts";
import { openAIError, startFakeUpstream } from "../_helpers/fake_openai_upstream.ts";

Deno.test("POST /v2/accounts/{id}/test reports status and a preview for a custom account, and never the key", async () => {
  let fail = false;
  const upstream = startFakeUpstream(() =>
    fail
      ? openAIError(401, "Incorrect API key provided: sk-sec***", "invalid_request_error", "invalid_api_key")
      : Response.json({
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, finish_reason: "stop" }],
      })
  );
  const t = makeTestApp();
  try {
    const headers = { "x-session-token": await adminSession(t) };
    const account = await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-secret-upstream-key-123456",
      other: { api_base: `${upstream.url}/v1`, format: "openai", model: "m" },
    });
    const ok = await t.request(`/v2/accounts/${account.id}/test`, { method: "POST", headers });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true, status: 200, preview: "Hi there" });
    // The test is a call on the account: "Last used" shows it (it stayed null before).
    const viewed = await (await t.request(`/v2/accounts/${account.id}`, { headers })).json();
    assert.equal(viewed.last_used_at, t.clock.now());
    fail = true;
    const bad = await t.request(`/v2/accounts/${account.id}/test`, { method: "POST", headers });
    const text = await bad.text();
    assert.equal(JSON.parse(text).ok, false);
    assert.equal(JSON.parse(text).status, 401);
    assert.ok(!text.includes("sk-secret-upstream-key-123456"));
    const stats = await (await t.request(`/v2/accounts/${account.id}/stats`, { headers })).json();
    assert.equal(stats.total_calls, 2);
    assert.deepEqual(stats.failures_by_class, { auth: 1 });
    // Only custom accounts have this test; a client key cannot reach it at all.
    const q = await t.store.accounts.create({ type: "amazonq", refreshToken: "r" });
    const wrong = await t.request(`/v2/accounts/${q.id}/test`, { method: "POST", headers });
    assert.equal(wrong.status, 400);
    await wrong.body?.cancel();
    const anonymous = await t.request(`/v2/accounts/${account.id}/test`, { method: "POST" });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await t.close();
    await upstream.close();
  }
});
