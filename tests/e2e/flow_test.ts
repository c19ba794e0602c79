/**
 * Request flow through the whole server with the Anthropic SDK: token accounting (count_tokens agrees with
 * `message_start`, usage recorded once), one token refresh for 50 concurrent requests on an expired
 * account, a client abort reaching the upstream, and `GET /v1/models` in both list shapes.
 */
import assert from "node:assert/strict";
import type Anthropic from "@anthropic-ai/sdk";
import { text as qText } from "../_helpers/amazonq_helpers.ts";
import { chunk as geminiChunk, sse as geminiSse } from "../_helpers/gemini_helpers.ts";
import { claudeEvent, openAIChunk, sseResponse } from "../_helpers/fake_openai_upstream.ts";
import {
  amazonQResponse,
  BASH_TOOL,
  type ChannelName,
  CHANNELS,
  DIALECTS,
  type Json,
  parseSse,
  user,
  withHarness,
} from "../_helpers/e2e_harness.ts";

const ACCOUNTING_REQUEST = {
  max_tokens: 512,
  system: [{ type: "text" as const, text: "You are a careful assistant. ".repeat(40) }],
  tools: [BASH_TOOL],
  messages: [
    user("List the files in the current directory, then summarise them."),
    { role: "assistant" as const, content: "Sure, one moment." },
    user("Go ahead."),
  ],
};

for (const channel of ["amazonq", "gemini", "openai"] as ChannelName[]) {
  Deno.test(`accounting / ${channel}: count_tokens equals message_start input, usage recorded once`, async () => {
    const dialect = DIALECTS[channel];
    await withHarness(channel, () => dialect.text(["Here ", "they ", "are."]), async (h) => {
      const counted = await h.anthropic().messages.countTokens({
        model: dialect.model,
        ...ACCOUNTING_REQUEST,
      });
      assert.ok(counted.input_tokens > 300, `input_tokens ${counted.input_tokens}`);
      const response = await h.post("/v1/messages", {
        model: dialect.model,
        stream: true,
        ...ACCOUNTING_REQUEST,
      });
      const events = parseSse(await response.text()).map((f) => f.data);
      const start = events.find((e) => e.type === "message_start");
      assert.equal(start.message.usage.input_tokens, counted.input_tokens);
      const deltas = events.filter((e) => e.type === "message_delta");
      assert.equal(deltas.length, 1);
      assert.ok(deltas[0].usage.output_tokens > 0);
      const usage = await h.usage();
      assert.equal(usage.length, 1, JSON.stringify(usage));
      assert.equal(usage[0].account_id, h.accounts[0]!.id);
      assert.ok(usage[0].output_tokens > 0);
      assert.ok(usage[0].input_tokens > 0);
    });
  });
}

Deno.test("accounting: usage is recorded once per request over several requests, a failed one as a failure", async () => {
  await withHarness(
    "amazonq",
    (_c, index) => index === 1 ? new Response("boom", { status: 400 }) : DIALECTS.amazonq.text(["ok"]),
    async (h) => {
      const client = h.anthropic();
      await client.messages.create({ model: h.dialect.model, max_tokens: 64, messages: [user("a")] });
      await client.messages.create({ model: h.dialect.model, max_tokens: 64, messages: [user("b")] }).catch(
        () => {},
      );
      await client.messages.stream({ model: h.dialect.model, max_tokens: 64, messages: [user("c")] })
        .finalMessage();
      const records = await h.usage();
      assert.deepEqual(records.map((r: Json) => r.outcome === "success"), [true, false, true]);
    },
  );
});

Deno.test("count_tokens answers for long runs of one character (js-tiktoken's merge is quadratic in one run)", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["ok"]), async (h) => {
    // The counter is linear (tests/lib/usage/cl100k_counter_test.ts); here the route answers with a count in
    // the range such text has: at least one token per 16 characters, at most one per character.
    const text = "a".repeat(50_000) + " " + "=".repeat(20_000) + " ".repeat(20_000) + "é".repeat(5_000);
    const counted = await h.anthropic().messages.countTokens({
      model: h.dialect.model,
      messages: [user(text)],
    });
    assert.ok(counted.input_tokens > text.length / 16, String(counted.input_tokens));
    assert.ok(counted.input_tokens < text.length, String(counted.input_tokens));
  });
});

Deno.test("50 concurrent streams on one expired Amazon Q account: one token refresh, all succeed", async () => {
  await withHarness(
    "amazonq",
    (call) => {
      if (call.headers.get("authorization") !== "Bearer fresh-0") {
        return new Response(JSON.stringify({ __type: "AccessDeniedException", message: "bad token" }), {
          status: 403,
          headers: { "content-type": "application/x-amz-json-1.0" },
        });
      }
      return amazonQResponse([
        qText("pong "),
        qText(String(call.body.conversationState.currentMessage.userInputMessage.content.length)),
      ]);
    },
    async (h) => {
      const client = h.anthropic();
      const results = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) =>
            client.messages.stream({ model: h.dialect.model, max_tokens: 64, messages: [user(`ping ${i}`)] })
              .finalMessage(),
        ),
      );
      assert.equal(results.length, 50);
      for (const message of results) {
        assert.equal(message.stop_reason, "end_turn");
        assert.match((message.content[0] as Anthropic.TextBlock).text, /^pong \d+$/);
      }
      assert.equal(h.upstream.tokenCalls, 1);
      assert.equal(h.upstream.calls.length, 50);
      const stored = await h.t.store.accounts.get(h.accounts[0]!.id);
      assert.equal(stored!.accessToken, "fresh-0");
      assert.equal((await h.usage()).length, 50);
    },
    { accountOverrides: { tokenExpiresAt: Date.now() - 60_000, accessToken: "expired" } },
  );
});

/** A long, slow answer in each upstream's format (bounded: 200 pieces, 25 ms apart). */
function slowAnswer(channel: ChannelName): Response {
  const pieces = Array.from({ length: 200 }, (_, i) => `word${i} `);
  switch (channel) {
    case "amazonq":
      return amazonQResponse(pieces.map((p) => qText(p)), { delayMs: 25 });
    case "gemini":
      return sseResponse(pieces.map((p) => geminiSse(geminiChunk([{ text: p }]))), { delayMs: 25 });
    case "openai":
      return sseResponse(pieces.map((p) => openAIChunk({ content: p })), { delayMs: 25 });
    case "claude":
      return sseResponse([
        claudeEvent({
          type: "message_start",
          message: {
            id: "msg_up",
            type: "message",
            role: "assistant",
            model: "m",
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 3, output_tokens: 1 },
          },
        }),
        claudeEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
        ...pieces.map((p) =>
          claudeEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } })
        ),
      ], { delayMs: 25 });
  }
}

for (const channel of CHANNELS) {
  Deno.test(`abort / ${channel}: aborting the SDK stream cancels the upstream request`, async () => {
    await withHarness(channel, () => slowAnswer(channel), async (h) => {
      const controller = new AbortController();
      const stream = h.anthropic().messages.stream(
        { model: h.dialect.model, max_tokens: 4096, messages: [user("Write a long essay")] },
        { signal: controller.signal },
      );
      let seen = "";
      const firstText = new Promise<void>((resolve) =>
        stream.on("text", (delta) => {
          seen += delta;
          if (seen.includes("word2 ")) resolve();
        })
      );
      const ended = stream.finalMessage().then(() => "completed", () => "aborted");
      await firstText;
      controller.abort();
      assert.equal(await ended, "aborted");
      const upstreamSignal = h.upstream.calls[0]!.signal;
      const started = performance.now();
      const observed = await new Promise<boolean>((resolve) => {
        if (upstreamSignal.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), 3_000);
        upstreamSignal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(true);
        }, { once: true });
      });
      assert.ok(observed, "the upstream request was not aborted within 3 s");
      assert.ok(performance.now() - started < 3_000);
      assert.ok(!seen.includes("word150"), "the whole answer streamed despite the abort");
      // A cancelled request is recorded, but not as a completed one.
      const records = await h.usage();
      assert.ok(records.every((r: Json) => r.outcome === "client_closed"), JSON.stringify(records));
    });
  });
}

Deno.test("GET /v1/models: Anthropic list shape to the Anthropic SDK, OpenAI's to the OpenAI SDK", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["ok"]), async (h) => {
    const anthropicModels: Anthropic.ModelInfo[] = [];
    for await (const model of h.anthropic().models.list()) anthropicModels.push(model);
    assert.ok(anthropicModels.length > 0);
    const sonnet = anthropicModels.find((m) => m.id === "claude-sonnet-4-6");
    assert.ok(sonnet, JSON.stringify(anthropicModels.map((m) => m.id)));
    assert.equal(sonnet.type, "model");
    assert.equal(typeof sonnet.display_name, "string");
    assert.ok(!Number.isNaN(Date.parse(sonnet.created_at)));

    const openAIModels: Json[] = [];
    for await (const model of h.openai().models.list()) openAIModels.push(model);
    assert.deepEqual(openAIModels.map((m) => m.id).sort(), anthropicModels.map((m) => m.id).sort());
    const oa = openAIModels.find((m) => m.id === "claude-sonnet-4-6");
    assert.equal(oa.object, "model");
    assert.equal(typeof oa.created, "number");
    assert.equal(typeof oa.owned_by, "string");
  });
});

Deno.test("keep-alive pings during a silent upstream keep the stream well-formed for the SDK", async () => {
  await withHarness(
    "amazonq",
    () => amazonQResponse([qText("thinking hard"), qText(", done")], { delayMs: 120 }),
    async (h) => {
      const response = await h.post("/v1/messages", {
        model: h.dialect.model,
        max_tokens: 64,
        stream: true,
        messages: [user("slow")],
      });
      const frames = parseSse(await response.text());
      for (const frame of frames) assert.equal(frame.event, frame.data.type);
      const pings = frames.filter((f) => f.event === "ping");
      assert.ok(pings.length >= 1, "no ping while the upstream was silent");
      assert.equal(frames[0]!.event, "message_start");
      assert.equal(frames.at(-1)!.event, "message_stop");
      const message = await h.anthropic().messages.stream({
        model: h.dialect.model,
        max_tokens: 64,
        messages: [user("slow")],
      }).finalMessage();
      assert.equal((message.content[0] as Anthropic.TextBlock).text, "thinking hard, done");
    },
    { pingIntervalMs: 30 },
  );
});
