/**
 * The forced-channel routes, `/v1/gemini/messages` and `/v1/custom_api/messages`: `/v1/messages`
 * served only by that channel, a Claude 404 naming the channel when it has no account for the model.
 */
import assert from "node:assert/strict";
import { adminSession } from "../_helpers/test_app.ts";
import { DIALECTS, type Json, parseSse, withHarness } from "../_helpers/e2e_harness.ts";

Deno.test("forced channel: /v1/gemini/messages without a gemini account is a Claude 404 naming the channel", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["Hi"]), async (h) => {
    const body = { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
    const res = await h.post("/v1/gemini/messages", body);
    assert.equal(res.status, 404);
    const error = await res.json();
    assert.equal(error.type, "error");
    assert.equal(error.error.type, "not_found_error");
    assert.match(error.error.message, /gemini/);
    assert.equal(h.upstream.calls.length, 0);
    // The same request on the unrestricted route is served by Amazon Q.
    const served = await h.post("/v1/messages", body);
    assert.equal(served.status, 200);
    await served.body?.cancel();
    // Validation is /v1/messages's.
    const bad = await h.post("/v1/custom_api/messages", { model: "m", messages: [] });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.type, "invalid_request_error");
  });
});

Deno.test("forced channel: /v1/custom_api/messages goes to the custom account even when Amazon Q serves the model", async () => {
  await withHarness(
    "amazonq",
    (call) =>
      call.path.includes("chat/completions")
        ? DIALECTS.openai.text(["From ", "custom"])
        : DIALECTS.amazonq.text(["From Q"]),
    async (h) => {
      await h.t.store.accounts.create({
        type: "custom_api",
        clientSecret: "sk-up",
        other: { api_base: `${h.upstream.url}/v1`, format: "openai", model: "gpt-upstream" },
      });
      const body = {
        model: "claude-sonnet-4-6",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      };
      for (let i = 0; i < 3; i++) {
        const res = await h.post("/v1/custom_api/messages", body);
        assert.equal(res.status, 200);
        const message: Json = await res.json();
        assert.equal(message.content[0].text, "From custom");
      }
      assert.ok(h.upstream.calls.every((c) => c.path.includes("chat/completions")));
      const streamed = await h.post("/v1/custom_api/messages", { ...body, stream: true });
      assert.match(await streamed.text(), /event: message_stop/);
      const usage = await h.usage();
      assert.ok(usage.every((u: Json) => u.channel === "custom_api"));
    },
  );
});

Deno.test("forced channel: /v1/gemini/messages is served by a Gemini account, streamed and not", async () => {
  await withHarness("gemini", () => DIALECTS.gemini.text(["Hi ", "there"]), async (h) => {
    const body = { model: "gemini-2.5-pro", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
    const res = await h.post("/v1/gemini/messages", body);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).content[0].text, "Hi there");
    const streamed = await h.post("/v1/gemini/messages", { ...body, stream: true });
    const frames = parseSse(await streamed.text());
    assert.equal(frames.at(-1)!.event, "message_stop");
    assert.equal(h.upstream.calls.length, 2);
    // A custom-only route has nothing to serve it here.
    const custom = await h.post("/v1/custom_api/messages", body);
    assert.equal(custom.status, 404);
    assert.match((await custom.json()).error.message, /custom_api/);
  });
});

Deno.test("forced channel: an admin's X-Account-ID of another channel is a 400 (fine on /v1/messages)", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["Hi"]), async (h) => {
    const token = await adminSession(h.t);
    const body = { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
    const headers = { "x-session-token": token, "x-account-id": h.accounts[0]!.id };
    const wrong = await h.post("/v1/custom_api/messages", body, headers);
    assert.equal(wrong.status, 400);
    assert.match((await wrong.json()).error.message, /is a amazonq account, not custom_api/);
    assert.equal(h.upstream.calls.length, 0);
    const served = await h.post("/v1/messages", body, headers);
    assert.equal(served.status, 200);
    await served.body?.cancel();
  });
});
