/**
 * Test helpers for the OpenAI-compatible inbound side: a scripted Claude event stream and a tiny server
 * read by the official `openai` SDK client.
 */
import OpenAI from "openai";
import type { ClaudeStreamEvent } from "../../lib/claude/events.ts";
import { messageStart } from "../../lib/claude/events.ts";

/** Thinking, text, two tool calls, usage with a cache hit. */
export const EVENTS: ClaudeStreamEvent[] = [
  messageStart("msg_1", "claude-sonnet-4-6", {
    input_tokens: 100,
    output_tokens: 1,
    cache_read_input_tokens: 900,
  }),
  { type: "ping" },
  { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Need the file." } },
  { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } },
  { type: "content_block_stop", index: 0 },
  { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Reading " } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "both ✓" } },
  { type: "content_block_stop", index: 1 },
  {
    type: "content_block_start",
    index: 2,
    content_block: { type: "tool_use", id: "toolu_a", name: "Read", input: {} },
  },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"path":' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"a.txt"}' } },
  { type: "content_block_stop", index: 2 },
  {
    type: "content_block_start",
    index: 3,
    content_block: { type: "tool_use", id: "toolu_b", name: "Read", input: {} },
  },
  {
    type: "content_block_delta",
    index: 3,
    delta: { type: "input_json_delta", partial_json: '{"path":"b.txt"}' },
  },
  { type: "content_block_stop", index: 3 },
  {
    type: "message_delta",
    delta: { stop_reason: "tool_use", stop_sequence: null },
    usage: { input_tokens: 100, output_tokens: 42, cache_read_input_tokens: 900 },
  },
  { type: "message_stop" },
];

/** Serves `respond` on 127.0.0.1:0 and hands an SDK client pointed at it to `use`. */
export async function withServer(
  respond: (body: Record<string, unknown>) => Response,
  use: (client: OpenAI) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => respond(await req.json()),
  );
  try {
    const client = new OpenAI({
      baseURL: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: "test",
      maxRetries: 0,
    });
    await use(client);
  } finally {
    await server.shutdown();
  }
}
