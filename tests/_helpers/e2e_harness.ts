/**
 * End-to-end harness: the real app (real backends, `:memory:` store) served on 127.0.0.1:0, one fake
 * upstream on 127.0.0.1:0 that also plays the token endpoint, and per-channel "dialects" that write answers
 * in each upstream's own wire format (AWS event-stream frames, Code Assist SSE, OpenAI chunks, Claude SSE)
 * and read what the proxy sent upstream. Official SDK clients (`@anthropic-ai/sdk`, `openai`) talk to the
 * served app exactly as users' tools do.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { eventFrame, exceptionFrame, text as qText } from "./amazonq_helpers.ts";
import { chunk as geminiChunk, sse as geminiSse } from "./gemini_helpers.ts";
import { chunkedBody, claudeEvent, openAIChunk, openAIUsageChunk } from "./fake_openai_upstream.ts";
import { makeTestApp, type TestApp } from "./test_app.ts";
import type { Account, NewAccount } from "../../lib/store/types.ts";

export { exceptionFrame };

/** The client key the served app accepts (`API_KEY`). */
export const CLIENT_KEY = "sk-e2e-client-key-0123456789";

export type ChannelName = "amazonq" | "gemini" | "openai" | "claude";
export const CHANNELS: ChannelName[] = ["amazonq", "gemini", "openai", "claude"];

// deno-lint-ignore no-explicit-any
export type Json = any;

export interface UpstreamCall {
  path: string;
  headers: Headers;
  body: Json;
  /** Fires when the proxy abandons the upstream request. */
  signal: AbortSignal;
}

export type UpstreamHandler = (call: UpstreamCall, index: number) => Response | Promise<Response>;

export interface BodyOptions {
  /** Milliseconds between chunks, so each arrives in its own read. */
  delayMs?: number;
  /** Break the connection after the last chunk instead of ending cleanly. */
  breakAfter?: boolean;
}

/** How one upstream speaks: answers in its wire format, and where a request carries what. */
export interface Dialect {
  name: ChannelName;
  /** Model name the client sends. */
  model: string;
  /** A streamed text answer made of these pieces. */
  text(parts: string[], options?: BodyOptions): Response;
  /** An answer that calls one tool (input sent in two fragments). */
  tool(name: string, input: Record<string, unknown>): Response;
  /** An answer with reasoning, then text. */
  thinking(thought: string, answer: string): Response;
  /** Asserts-friendly view of the tool result the upstream received: `{id?, name?, content}`. */
  toolResult(body: Json): { id?: string; name?: string; content: string } | null;
  /** Request fields that ask for thinking on this channel. */
  thinkingRequest: Record<string, unknown>;
}

function body(chunks: Array<string | Uint8Array>, contentType: string, options: BodyOptions = {}): Response {
  return new Response(
    chunkedBody(chunks, {
      ...(options.delayMs ? { delayMs: options.delayMs } : {}),
      ...(options.breakAfter ? { breakAfter: true } : {}),
    }),
    { headers: { "content-type": contentType, "cache-control": "no-cache" } },
  );
}

export const EVENT_STREAM = "application/vnd.amazon.eventstream";

/** An Amazon Q answer from raw frames. */
export function amazonQResponse(frames: Uint8Array[], options: BodyOptions = {}): Response {
  return body(frames, EVENT_STREAM, options);
}

/** Two text frames, then an `InternalServerException` frame: an Amazon Q stream that fails after it began. */
export function amazonQFailsMidStream(): Response {
  return amazonQResponse(
    [qText("Once upon "), qText("a time"), exceptionFrame("InternalServerException", { message: "boom" })],
    { delayMs: 20 },
  );
}

const amazonq: Dialect = {
  name: "amazonq",
  model: "claude-sonnet-4-6",
  text: (parts, options) =>
    amazonQResponse([
      ...parts.map((p) => qText(p)),
      eventFrame("metadataEvent", { tokenUsage: { outputTokens: parts.length + 1 } }),
    ], options),
  tool: (name, input) => {
    const json = JSON.stringify(input);
    const cut = Math.floor(json.length / 2);
    return amazonQResponse([
      qText("Let me check."),
      eventFrame("toolUseEvent", { toolUseId: "tooluse_q1", name, input: json.slice(0, cut) }),
      eventFrame("toolUseEvent", { toolUseId: "tooluse_q1", name, input: json.slice(cut), stop: true }),
    ]);
  },
  thinking: (thought, answer) =>
    amazonQResponse([qText(`<thinking>${thought}`), qText(`</thinking>${answer}`)]),
  toolResult: (b) => {
    const r = b?.conversationState?.currentMessage?.userInputMessage?.userInputMessageContext?.toolResults
      ?.[0];
    return r ? { id: r.toolUseId, content: JSON.stringify(r.content) } : null;
  },
  thinkingRequest: { thinking: { type: "enabled", budget_tokens: 2048 } },
};

const gemini: Dialect = {
  name: "gemini",
  model: "gemini-2.5-pro",
  text: (parts, options) =>
    body(
      parts.map((p, i) =>
        geminiSse(geminiChunk(
          [{ text: p }],
          i === parts.length - 1
            ? {
              finishReason: "STOP",
              usageMetadata: { promptTokenCount: 12, candidatesTokenCount: parts.length },
            }
            : {},
        ))
      ),
      "text/event-stream",
      options,
    ),
  tool: (name, input) =>
    body([
      geminiSse(geminiChunk([{ text: "Let me check." }])),
      geminiSse(geminiChunk([{ functionCall: { name, args: input }, thoughtSignature: "SIG_CALL" }], {
        finishReason: "STOP",
        usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 7 },
      })),
    ], "text/event-stream"),
  thinking: (thought, answer) =>
    body([
      geminiSse(geminiChunk([{ text: thought, thought: true, thoughtSignature: "SIG_THOUGHT" }])),
      geminiSse(geminiChunk([{ text: answer }], {
        finishReason: "STOP",
        usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 4 },
      })),
    ], "text/event-stream"),
  toolResult: (b) => {
    const parts: Json[] = b?.request?.contents?.at(-1)?.parts ?? [];
    const r = parts.find((p) => p.functionResponse)?.functionResponse;
    return r ? { id: r.id, name: r.name, content: JSON.stringify(r.response) } : null;
  },
  thinkingRequest: { thinking: { type: "enabled", budget_tokens: 2048 } },
};

const openai: Dialect = {
  name: "openai",
  model: "gpt-e2e",
  text: (parts, options) =>
    body(
      [
        ...parts.map((p, i) => openAIChunk(i === 0 ? { role: "assistant", content: p } : { content: p })),
        openAIChunk({}, "stop"),
        openAIUsageChunk(11, parts.length),
        "data: [DONE]\n\n",
      ],
      "text/event-stream",
      options,
    ),
  tool: (name, input) => {
    const json = JSON.stringify(input);
    const cut = Math.floor(json.length / 2);
    return body([
      openAIChunk({ role: "assistant", content: "Let me check." }),
      openAIChunk({
        tool_calls: [{ index: 0, id: "call_oa1", type: "function", function: { name, arguments: "" } }],
      }),
      openAIChunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(0, cut) } }] }),
      openAIChunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(cut) } }] }),
      openAIChunk({}, "tool_calls"),
      openAIUsageChunk(11, 9),
      "data: [DONE]\n\n",
    ], "text/event-stream");
  },
  thinking: (thought, answer) =>
    body([
      openAIChunk({ role: "assistant", reasoning_content: thought }),
      openAIChunk({ content: answer }),
      openAIChunk({}, "stop"),
      openAIUsageChunk(11, 5),
      "data: [DONE]\n\n",
    ], "text/event-stream"),
  toolResult: (b) => {
    const m = (b?.messages as Json[] | undefined)?.find((x) => x.role === "tool");
    return m
      ? { id: m.tool_call_id, content: typeof m.content === "string" ? m.content : JSON.stringify(m.content) }
      : null;
  },
  thinkingRequest: { thinking: { type: "enabled", budget_tokens: 2048 } },
};

function claudeStart(): string {
  return claudeEvent({
    type: "message_start",
    message: {
      id: "msg_upstream01",
      type: "message",
      role: "assistant",
      model: "claude-upstream",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 1 },
    },
  });
}

function claudeEnd(stopReason: string, outputTokens: number): string[] {
  return [
    claudeEvent({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    }),
    claudeEvent({ type: "message_stop" }),
  ];
}

const claude: Dialect = {
  name: "claude",
  model: "claude-sonnet-4-6",
  text: (parts, options) =>
    body(
      [
        claudeStart(),
        claudeEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
        claudeEvent({ type: "ping" }),
        ...parts.map((p) =>
          claudeEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } })
        ),
        claudeEvent({ type: "content_block_stop", index: 0 }),
        ...claudeEnd("end_turn", parts.length),
      ],
      "text/event-stream",
      options,
    ),
  tool: (name, input) => {
    const json = JSON.stringify(input);
    const cut = Math.floor(json.length / 2);
    return body([
      claudeStart(),
      claudeEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      claudeEvent({
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: "Let me check." },
      }),
      claudeEvent({ type: "content_block_stop", index: 0 }),
      claudeEvent({
        type: "content_block_start",
        index: 1,
        content_block: { type: "tool_use", id: "toolu_up1", name, input: {} },
      }),
      claudeEvent({
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: json.slice(0, cut) },
      }),
      claudeEvent({
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: json.slice(cut) },
      }),
      claudeEvent({ type: "content_block_stop", index: 1 }),
      ...claudeEnd("tool_use", 9),
    ], "text/event-stream");
  },
  thinking: (thought, answer) =>
    body([
      claudeStart(),
      claudeEvent({
        type: "content_block_start",
        index: 0,
        content_block: { type: "thinking", thinking: "", signature: "" },
      }),
      claudeEvent({
        type: "content_block_delta",
        index: 0,
        delta: { type: "thinking_delta", thinking: thought },
      }),
      claudeEvent({
        type: "content_block_delta",
        index: 0,
        delta: { type: "signature_delta", signature: "UPSTREAM_SIG" },
      }),
      claudeEvent({ type: "content_block_stop", index: 0 }),
      claudeEvent({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }),
      claudeEvent({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: answer } }),
      claudeEvent({ type: "content_block_stop", index: 1 }),
      ...claudeEnd("end_turn", 7),
    ], "text/event-stream"),
  toolResult: (b) => {
    const blocks: Json[] = b?.messages?.at(-1)?.content ?? [];
    const r = Array.isArray(blocks) ? blocks.find((x) => x.type === "tool_result") : undefined;
    return r ? { id: r.tool_use_id, content: JSON.stringify(r.content) } : null;
  },
  thinkingRequest: { thinking: { type: "enabled", budget_tokens: 2048 } },
};

export const DIALECTS: Record<ChannelName, Dialect> = { amazonq, gemini, openai, claude };

/** A fake upstream on 127.0.0.1:0: `/token` answers token refreshes, every other path goes to `handler`. */
export class FakeUpstream {
  readonly calls: UpstreamCall[] = [];
  tokenCalls = 0;
  #server: Deno.HttpServer<Deno.NetAddr>;
  handler: UpstreamHandler;
  /** Answers a refresh; the default hands out a fresh token after a short delay. */
  tokenHandler: (index: number) => Response | Promise<Response> = async (index) => {
    await new Promise((r) => setTimeout(r, 50));
    return Response.json({
      accessToken: `fresh-${index}`,
      access_token: `fresh-${index}`,
      expiresIn: 3600,
      expires_in: 3600,
    });
  };

  constructor(handler: UpstreamHandler) {
    this.handler = handler;
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const url = new URL(req.url);
      const text = await req.text();
      if (url.pathname === "/token") return await this.tokenHandler(this.tokenCalls++);
      let parsed: Json = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { raw: text };
      }
      const call: UpstreamCall = {
        path: url.pathname + url.search,
        headers: req.headers,
        body: parsed,
        signal: req.signal,
      };
      const index = this.calls.length;
      this.calls.push(call);
      return await this.handler(call, index);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

export interface HarnessOptions {
  /** Accounts to create (default 1); each gets `accountOverrides`. */
  accounts?: number;
  accountOverrides?: Partial<NewAccount>;
  pingIntervalMs?: number;
}

/** The served app with one channel's account(s) pointed at a fake upstream. */
export class Harness {
  readonly dialect: Dialect;
  readonly upstream: FakeUpstream;
  readonly t: TestApp;
  readonly url: string;
  readonly accounts: Account[] = [];
  #stop: () => Promise<void>;

  private constructor(
    dialect: Dialect,
    upstream: FakeUpstream,
    t: TestApp,
    url: string,
    stop: () => Promise<void>,
  ) {
    this.dialect = dialect;
    this.upstream = upstream;
    this.t = t;
    this.url = url;
    this.#stop = stop;
  }

  static async start(
    channel: ChannelName,
    handler: UpstreamHandler,
    options: HarnessOptions = {},
  ): Promise<Harness> {
    const upstream = new FakeUpstream(handler);
    const t = makeTestApp({
      realClock: true,
      ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
      env: {
        API_KEY: CLIENT_KEY,
        AMAZONQ_API_ENDPOINT: `${upstream.url}/`,
        AMAZONQ_TOKEN_ENDPOINT: `${upstream.url}/token`,
        GEMINI_API_ENDPOINT: upstream.url,
        GEMINI_TOKEN_ENDPOINT: `${upstream.url}/token`,
        GEMINI_CLIENT_ID: "gemini-client-id",
        GEMINI_CLIENT_SECRET: "gemini-client-secret",
      },
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request, info) => t.app.fetch(request, { remoteAddr: info.remoteAddr }),
    );
    const h = new Harness(
      DIALECTS[channel],
      upstream,
      t,
      `http://127.0.0.1:${server.addr.port}`,
      () => server.shutdown(),
    );
    for (let i = 0; i < (options.accounts ?? 1); i++) {
      h.accounts.push(
        await t.store.accounts.create({
          ...accountInput(channel, upstream.url, i),
          ...options.accountOverrides,
        }),
      );
    }
    return h;
  }

  anthropic(options: { maxRetries?: number } = {}): Anthropic {
    return new Anthropic({ baseURL: this.url, apiKey: CLIENT_KEY, maxRetries: options.maxRetries ?? 0 });
  }

  openai(): OpenAI {
    return new OpenAI({ baseURL: `${this.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  }

  /** Raw POST of a Messages body. */
  post(path: string, payload: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url + path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": CLIENT_KEY,
        "anthropic-version": "2023-06-01",
        ...headers,
      },
      body: JSON.stringify(payload),
    });
  }

  /** Usage rows, after giving the fire-and-forget recording a moment. */
  async usage(): Promise<Json[]> {
    await new Promise((r) => setTimeout(r, 30));
    return await this.t.store.usage.recent(100);
  }

  async close(): Promise<void> {
    await this.#stop();
    await this.upstream.close();
    await this.t.close();
  }
}

function accountInput(channel: ChannelName, upstreamUrl: string, i: number): NewAccount {
  const common = { label: `${channel}-${i}`, rate_limit_per_hour: 0, weight: 50 };
  const fresh = Date.now() + 3_600_000;
  switch (channel) {
    case "amazonq":
      return {
        ...common,
        type: "amazonq",
        clientId: "cid",
        clientSecret: "csecret",
        refreshToken: `rt-${i}`,
        accessToken: `at-${i}`,
        tokenExpiresAt: fresh,
      };
    case "gemini":
      return {
        ...common,
        type: "gemini",
        refreshToken: `rt-${i}`,
        accessToken: `at-${i}`,
        tokenExpiresAt: fresh,
        other: { project: "p" },
      };
    case "openai":
      return {
        ...common,
        type: "custom_api",
        clientSecret: `sk-up-${i}`,
        other: { api_base: `${upstreamUrl}/v1`, format: "openai", model: "gpt-upstream" },
      };
    case "claude":
      return {
        ...common,
        type: "custom_api",
        clientSecret: `sk-up-${i}`,
        other: { api_base: `${upstreamUrl}/v1`, format: "claude" },
      };
  }
}

/** Runs `fn` with a harness and always shuts it down. */
export async function withHarness(
  channel: ChannelName,
  handler: UpstreamHandler,
  fn: (h: Harness) => Promise<void>,
  options: HarnessOptions = {},
): Promise<void> {
  const h = await Harness.start(channel, handler, options);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

export interface SseFrame {
  event: string | null;
  data: Json;
}

/** Parses an SSE body into frames (`event:` name and parsed `data:`). */
export function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.replaceAll("\r\n", "\n").split("\n\n")) {
    if (!block.trim()) continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length === 0) continue;
    const raw = data.join("\n");
    frames.push({ event, data: raw === "[DONE]" ? raw : JSON.parse(raw) });
  }
  return frames;
}

/** A user message, in Anthropic SDK form. */
export function user(content: string): { role: "user"; content: string } {
  return { role: "user", content };
}

export const BASH_TOOL = {
  name: "Bash",
  description: "Runs a shell command.",
  input_schema: {
    type: "object" as const,
    properties: { command: { type: "string" } },
    required: ["command"],
  },
};
