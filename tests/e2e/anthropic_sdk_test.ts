/**
 * The official Anthropic SDK against the served app, over every channel (Amazon Q, Gemini, custom
 * OpenAI-format, custom Claude-format): plain and streamed text, a tool round trip checked at the upstream
 * in its own wire format, thinking with signatures and their echo, and the raw SSE rules Claude
 * clients check.
 */
import assert from "node:assert/strict";
import type Anthropic from "@anthropic-ai/sdk";
import { assertWellFormed } from "../_helpers/amazonq_helpers.ts";
import {
  BASH_TOOL,
  CHANNELS,
  DIALECTS,
  type Json,
  parseSse,
  user,
  withHarness,
} from "../_helpers/e2e_harness.ts";

for (const channel of CHANNELS) {
  const dialect = DIALECTS[channel];

  Deno.test(`anthropic sdk / ${channel}: messages.create (stream:false) returns the text`, async () => {
    await withHarness(channel, () => dialect.text(["Hel", "lo ", "world"]), async (h) => {
      const message = await h.anthropic().messages.create({
        model: dialect.model,
        max_tokens: 256,
        messages: [user("Say hello")],
      });
      assert.match(message.id, /^msg_/);
      assert.equal(message.type, "message");
      assert.equal(message.role, "assistant");
      assert.equal(message.model, dialect.model);
      assert.deepEqual(message.content.map((b) => b.type), ["text"]);
      assert.equal((message.content[0] as Anthropic.TextBlock).text, "Hello world");
      assert.equal(message.stop_reason, "end_turn");
      assert.ok(message.usage.output_tokens > 0);
      assert.equal(h.upstream.calls.length, 1);
      assert.equal((await h.usage()).length, 1);
    });
  });

  Deno.test(`anthropic sdk / ${channel}: messages.stream with finalMessage`, async () => {
    await withHarness(channel, () => dialect.text(["One, ", "two, ", "three."]), async (h) => {
      const stream = h.anthropic().messages.stream({
        model: dialect.model,
        max_tokens: 256,
        messages: [user("Count")],
      });
      const pieces: string[] = [];
      stream.on("text", (delta) => pieces.push(delta));
      const message = await stream.finalMessage();
      assert.equal(pieces.join(""), "One, two, three.");
      assert.equal((message.content[0] as Anthropic.TextBlock).text, "One, two, three.");
      assert.equal(message.stop_reason, "end_turn");
      assert.match(message.id, /^msg_/);
      assert.ok(message.usage.output_tokens > 0);
    });
  });

  Deno.test(`anthropic sdk / ${channel}: tool call round trip`, async () => {
    await withHarness(
      channel,
      (_call, index) =>
        index === 0 ? dialect.tool("Bash", { command: "ls -la" }) : dialect.text(["Two files."]),
      async (h) => {
        const client = h.anthropic();
        const first = await client.messages.stream({
          model: dialect.model,
          max_tokens: 512,
          tools: [BASH_TOOL],
          messages: [user("List the files")],
        }).finalMessage();
        assert.equal(first.stop_reason, "tool_use");
        const toolUse = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
        assert.ok(toolUse, JSON.stringify(first.content));
        assert.equal(toolUse.name, "Bash");
        assert.deepEqual(toolUse.input, { command: "ls -la" });
        assert.match(toolUse.id, /^[A-Za-z0-9_-]+$/);

        const second = await client.messages.create({
          model: dialect.model,
          max_tokens: 512,
          tools: [BASH_TOOL],
          messages: [
            user("List the files"),
            { role: "assistant", content: first.content as unknown as Anthropic.ContentBlockParam[] },
            {
              role: "user",
              content: [{ type: "tool_result", tool_use_id: toolUse.id, content: "file-list: a.txt b.txt" }],
            },
          ],
        });
        assert.equal((second.content[0] as Anthropic.TextBlock).text, "Two files.");
        assert.equal(h.upstream.calls.length, 2);
        const received = dialect.toolResult(h.upstream.calls[1]!.body);
        assert.ok(received, `no tool result upstream: ${JSON.stringify(h.upstream.calls[1]!.body)}`);
        assert.match(received.content, /file-list: a\.txt b\.txt/);
        const upstreamBody: Json = h.upstream.calls[1]!.body;
        if (channel === "amazonq") assert.equal(received.id, toolUse.id);
        if (channel === "openai") assert.equal(received.id, "call_oa1");
        if (channel === "claude") assert.equal(received.id, "toolu_up1");
        if (channel === "gemini") {
          assert.equal(received.name, "Bash");
          // The thought signature of the call rode inside the tool id and is back on the functionCall part.
          const modelTurn: Json[] = upstreamBody.request.contents[1].parts;
          const call = modelTurn.find((p) => p.functionCall);
          assert.equal(call.functionCall.name, "Bash");
          assert.deepEqual(call.functionCall.args, { command: "ls -la" });
          assert.equal(call.thoughtSignature, "SIG_CALL");
          assert.equal(received.id, call.functionCall.id);
        }
      },
    );
  });

  Deno.test(`anthropic sdk / ${channel}: thinking block is signed and its echo is accepted`, async () => {
    await withHarness(
      channel,
      (_call, index) =>
        index === 0 ? dialect.thinking("Two plus two is four.", "4") : dialect.text(["Sure."]),
      async (h) => {
        const client = h.anthropic();
        const params = {
          model: dialect.model,
          max_tokens: 4096,
          ...dialect.thinkingRequest,
          messages: [user("What is 2+2?")],
        } as Anthropic.MessageCreateParamsNonStreaming;
        const first = await client.messages.stream(params).finalMessage();
        const thinking = first.content.find((b): b is Anthropic.ThinkingBlock => b.type === "thinking");
        assert.ok(thinking, JSON.stringify(first.content));
        assert.equal(thinking.thinking, "Two plus two is four.");
        assert.ok(thinking.signature.length > 0, "thinking block without signature");
        const textBlock = first.content.find((b): b is Anthropic.TextBlock => b.type === "text");
        assert.equal(textBlock?.text, "4");

        const second = await client.messages.create({
          ...params,
          messages: [
            user("What is 2+2?"),
            { role: "assistant", content: first.content as unknown as Anthropic.ContentBlockParam[] },
            user("And 3+3?"),
          ],
        });
        assert.equal((second.content.find((b) => b.type === "text") as Anthropic.TextBlock).text, "Sure.");
        const sent = JSON.stringify(h.upstream.calls[1]!.body);
        if (channel === "gemini") {
          const parts: Json[] = h.upstream.calls[1]!.body.request.contents[1].parts;
          const thought = parts.find((p) => p.thought === true);
          assert.equal(thought?.thoughtSignature, "SIG_THOUGHT");
        }
        if (channel === "amazonq") assert.match(sent, /<thinking>Two plus two is four\.<\/thinking>/);
      },
    );
  });

  Deno.test(`anthropic sdk / ${channel}: the raw SSE stream follows the Messages stream rules`, async () => {
    await withHarness(channel, () => dialect.tool("Bash", { command: "pwd" }), async (h) => {
      const response = await h.post("/v1/messages?beta=true", {
        model: dialect.model,
        max_tokens: 256,
        stream: true,
        tools: [BASH_TOOL],
        messages: [user("Where am I?")],
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      const frames = parseSse(await response.text());
      for (const frame of frames) assert.equal(frame.event, frame.data.type, JSON.stringify(frame));
      const events = frames.map((f) => f.data).filter((e) => e.type !== "ping");
      assertWellFormed(events);
      const start = events[0];
      assert.match(start.message.id, /^msg_/);
      assert.equal(start.message.type, "message");
      assert.equal(start.message.role, "assistant");
      assert.deepEqual(start.message.content, []);
      assert.equal(typeof start.message.usage.input_tokens, "number");
      const delta = events.find((e) => e.type === "message_delta");
      assert.equal(delta.delta.stop_reason, "tool_use");
      assert.ok(delta.usage.output_tokens > 0);
      const toolStart = events.find((e) =>
        e.type === "content_block_start" && e.content_block.type === "tool_use"
      );
      const json = events
        .filter((e) => e.type === "content_block_delta" && e.index === toolStart.index)
        .map((e) => e.delta.partial_json)
        .join("");
      assert.deepEqual(JSON.parse(json), { command: "pwd" });
    });
  });
}
