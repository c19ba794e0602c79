/**
 * The same upstream faults on every channel: a connection that breaks off mid-stream errors the event
 * stream with the same "upstream broke off" wording on Amazon Q, Gemini, custom OpenAI and Claude
 * passthrough; a 307 from a custom `api_base` or a Gemini endpoint is not followed (the target receives
 * nothing) and the error names the target's host.
 */
import assert from "node:assert/strict";
import type { Channel, ChannelCall } from "../../../lib/accounts/channel.ts";
import { AmazonQChannel } from "../../../lib/amazonq/amazonq_channel.ts";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { GeminiChannel } from "../../../lib/gemini/gemini_channel.ts";
import type { Account } from "../../../lib/store/types.ts";
import { CustomChannel } from "../../../lib/custom/custom_channel.ts";
import { estimator, TEST_SIGNER } from "../../_helpers/test_app.ts";
import { account, claudeRequest, CountingTokens, eventFrame } from "../../_helpers/amazonq_helpers.ts";
import { chunk, geminiAccount, sse } from "../../_helpers/gemini_helpers.ts";
import { customAccount } from "../../_helpers/fake_openai_upstream.ts";
import type { UpstreamTimeouts } from "../../../lib/upstream/upstream_call.ts";
import { chunkedHead, neverAnswer, rawServer, serveFake, stallAfter } from "./_servers.ts";

function call(target: Account): ChannelCall {
  return {
    request: claudeRequest(),
    upstreamModel: "model-x",
    account: target,
    messageId: "msg_faults",
    conversationId: "conv-1",
    inputTokens: 3,
    clientHeaders: {},
    signal: new AbortController().signal,
  };
}

/** Opens the channel and reads until the stream errors; returns the events before it and the error. */
async function readUntilError(channel: Channel, target: Account) {
  const events: ClaudeStreamEvent[] = [];
  try {
    for await (const event of await channel.open(call(target))) events.push(event);
  } catch (error) {
    return { events, error };
  }
  assert.fail(`the stream completed: ${JSON.stringify(events)}`);
}

const OPENAI_FIRST = `data: ${
  JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant", content: "Hel" } }] })
}\n\n`;
const CLAUDE_FIRST = [
  `event: message_start\ndata: ${
    JSON.stringify({
      type: "message_start",
      message: {
        id: "msg_up",
        type: "message",
        role: "assistant",
        model: "claude-x",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 0 },
      },
    })
  }\n\n`,
  `event: content_block_start\ndata: ${
    JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
  }\n\n`,
  `event: content_block_delta\ndata: ${
    JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } })
  }\n\n`,
].join("");

const cases: Array<
  {
    name: string;
    body: Uint8Array | string;
    type: string;
    make(url: string, timeouts?: Partial<UpstreamTimeouts>): [Channel, Account];
  }
> = [
  {
    name: "Amazon Q",
    body: eventFrame("assistantResponseEvent", { content: "Hel" }),
    type: "application/vnd.amazon.eventstream",
    make: (url, timeouts) => [
      new AmazonQChannel({
        fetch,
        tokens: new CountingTokens(),
        apiEndpoint: `${url}/`,
        signer: TEST_SIGNER,
        estimator: estimator(),
        sleep: () => Promise.resolve(),
        ...(timeouts ? { timeouts } : {}),
      }),
      account(),
    ],
  },
  {
    name: "Gemini",
    body: sse(chunk([{ text: "Hel" }])),
    type: "text/event-stream",
    make: (url, timeouts) => [
      new GeminiChannel({
        fetch,
        tokens: new CountingTokens(),
        apiEndpoint: url,
        userAgent: "test",
        ...(timeouts ? { timeouts } : {}),
      }),
      geminiAccount({ api_endpoint: url }),
    ],
  },
  {
    name: "custom OpenAI",
    body: OPENAI_FIRST,
    type: "text/event-stream",
    make: (url, timeouts) => [
      new CustomChannel({ fetch, sign: (t) => t, ...(timeouts ? { timeouts } : {}) }),
      customAccount({ api_base: `${url}/v1`, format: "openai", model: "gpt-x" }),
    ],
  },
  {
    name: "Claude passthrough",
    body: CLAUDE_FIRST,
    type: "text/event-stream",
    make: (url, timeouts) => [
      new CustomChannel({ fetch, sign: (t) => t, ...(timeouts ? { timeouts } : {}) }),
      customAccount({ api_base: `${url}/v1`, format: "claude", model: "claude-x" }),
    ],
  },
];

for (const c of cases) {
  Deno.test(`${c.name}: a connection that breaks off mid-stream ends with 'upstream broke off'`, async () => {
    const server = rawServer(chunkedHead(c.type, c.body));
    try {
      const [channel, target] = c.make(server.url);
      const { events, error } = await readUntilError(channel, target);
      assert.equal(events[0]?.type, "message_start");
      assert.ok(!events.some((e) => e.type === "message_stop"));
      assert.ok(error instanceof UpstreamError, `got ${error}`);
      assert.equal(error.kind, "transient");
      assert.match(error.message, /^upstream broke off: /);
    } finally {
      await server.stop();
    }
  });
}

for (const c of cases.filter((c) => c.name !== "Amazon Q")) {
  Deno.test(`${c.name}: a 307 from the admin-set URL is not followed and names the host`, async () => {
    const target = serveFake(() => new Response("stolen conversation"));
    const redirector = serveFake(() =>
      new Response(null, { status: 307, headers: { location: `${target.url}/elsewhere` } })
    );
    try {
      const [channel, acc] = c.make(redirector.url);
      await assert.rejects(channel.open(call(acc)), (error: unknown) => {
        assert.ok(error instanceof UpstreamError);
        assert.match(error.message, new RegExp(`redirected to ${new URL(target.url).host} \\(HTTP 307\\)`));
        return true;
      });
      assert.equal(redirector.hits, 1);
      assert.equal(target.hits, 0, "the redirect target received nothing");
    } finally {
      await redirector.stop();
      await target.stop();
    }
  });
}

// Amazon Q has no end-of-answer frame: a clean end after content is the end of the answer there.
for (const c of cases.filter((c) => c.name !== "Amazon Q")) {
  Deno.test(`${c.name}: a stream that ends cleanly before its end marker ends with 'upstream broke off'`, async () => {
    const server = serveFake(() => new Response(String(c.body), { headers: { "content-type": c.type } }));
    try {
      const [channel, target] = c.make(server.url);
      const { events, error } = await readUntilError(channel, target);
      assert.ok(!events.some((e) => e.type === "message_stop"));
      assert.ok(error instanceof UpstreamError, `got ${error}`);
      assert.equal(error.kind, "transient");
      assert.match(error.message, /^upstream broke off: the stream ended/);
    } finally {
      await server.stop();
    }
  });
}

for (const c of cases) {
  Deno.test(`${c.name}: the channel applies its time limits (headers, then idle)`, async () => {
    const silent = serveFake((request) => neverAnswer(request));
    const stalling = serveFake(() => stallAfter(c.body, c.type));
    const limits = { headersMs: 200, idleMs: 200, totalMs: 5_000 };
    try {
      const [first, firstAccount] = c.make(silent.url, limits);
      await assert.rejects(first.open(call(firstAccount)), /upstream sent no response headers within 0\.2 s/);
      const [second, secondAccount] = c.make(stalling.url, limits);
      const { error } = await readUntilError(second, secondAccount);
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.message, "upstream stalled: no data for 0.2 s");
    } finally {
      await silent.stop();
      await stalling.stop();
    }
  });
}
