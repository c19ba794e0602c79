import assert from "node:assert/strict";
import { customConnectionCheck } from "../../../lib/custom/custom_connection_check.ts";
import {
  API_KEY,
  customAccount,
  openAIError,
  startFakeUpstream,
} from "../../_helpers/fake_openai_upstream.ts";

Deno.test("customConnectionCheck reports success and a preview for an OpenAI-format upstream", async () => {
  const upstream = startFakeUpstream(() =>
    Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-2024-08-06",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Hello! How can I help?" },
        finish_reason: "length",
      }],
      usage: { prompt_tokens: 8, completion_tokens: 10, total_tokens: 18 },
    })
  );
  try {
    const result = await customConnectionCheck(
      customAccount({ api_base: `${upstream.url}/v1`, format: "openai", model: "gpt-4o" }),
      { fetch, timeoutMs: 5000 },
    );
    assert.deepEqual(result, { ok: true, status: 200, preview: "Hello! How can I help?" });
    const sent = upstream.requests[0]!;
    assert.equal(sent.path, "/v1/chat/completions");
    assert.equal(sent.headers.get("authorization"), `Bearer ${API_KEY}`);
    assert.deepEqual(sent.body, {
      model: "gpt-4o",
      max_tokens: 10,
      messages: [{ role: "user", content: "Hi" }],
    });
  } finally {
    await upstream.close();
  }
});

Deno.test("customConnectionCheck uses the Claude URL convention and headers for a Claude-format upstream", async () => {
  const upstream = startFakeUpstream(() =>
    Response.json({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-haiku-4-5",
      content: [{ type: "text", text: "Hi there" }],
      stop_reason: "max_tokens",
      stop_sequence: null,
      usage: { input_tokens: 8, output_tokens: 10 },
    })
  );
  try {
    const result = await customConnectionCheck(
      customAccount({ api_base: upstream.url, format: "claude", model: "claude-haiku-4-5" }),
      { fetch, timeoutMs: 5000 },
    );
    assert.deepEqual(result, { ok: true, status: 200, preview: "Hi there" });
    const sent = upstream.requests[0]!;
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers.get("x-api-key"), API_KEY);
    assert.equal(sent.headers.get("anthropic-version"), "2023-06-01");
    assert.equal(sent.body.max_tokens, 10);
  } finally {
    await upstream.close();
  }
});

Deno.test("customConnectionCheck reports an upstream error with its status and never the key", async () => {
  const upstream = startFakeUpstream(() =>
    openAIError(401, `Incorrect API key provided: ${API_KEY}.`, "invalid_request_error", "invalid_api_key")
  );
  try {
    const result = await customConnectionCheck(
      customAccount({ api_base: upstream.url, format: "openai", model: "o3-mini" }),
      { fetch, timeoutMs: 5000 },
    );
    assert.equal(result.ok, false);
    assert.equal(result.status, 401);
    assert.match(result.error!, /Incorrect API key provided: \*\*\*/);
    assert.ok(!JSON.stringify(result).includes(API_KEY));
    // A reasoning model is tested with max_completion_tokens.
    assert.equal(upstream.requests[0]!.body.max_completion_tokens, 10);
  } finally {
    await upstream.close();
  }
});

Deno.test("customConnectionCheck reports a timeout, an unreachable host and a misconfigured account", async () => {
  // Answers only once the client has given up, so the server can shut down afterwards.
  const stalled = startFakeUpstream(({ signal }) =>
    new Promise<Response>((resolve) => signal.addEventListener("abort", () => resolve(new Response("late"))))
  );
  try {
    const result = await customConnectionCheck(
      customAccount({ api_base: stalled.url, format: "openai" }),
      { fetch, timeoutMs: 100 },
    );
    assert.deepEqual(result, { ok: false, status: 504, error: "no answer within 100 ms" });
  } finally {
    await stalled.close();
  }
  const gone = startFakeUpstream(() => new Response());
  const url = gone.url;
  await gone.close();
  const unreachable = await customConnectionCheck(customAccount({ api_base: url, format: "openai" }), {
    fetch,
    timeoutMs: 2000,
  });
  assert.equal(unreachable.ok, false);
  assert.equal(unreachable.status, 502);
  const noBase = await customConnectionCheck(customAccount({ format: "openai" }), { fetch, timeoutMs: 1000 });
  assert.deepEqual(noBase, { ok: false, status: 400, error: "the account has no api_base" });
  const noKey = await customConnectionCheck(customAccount({ api_base: url }, null), {
    fetch,
    timeoutMs: 1000,
  });
  assert.deepEqual(noKey, { ok: false, status: 400, error: "the account has no API key" });
});
