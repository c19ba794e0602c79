/**
 * Test helpers: a scripted fake upstream on 127.0.0.1:0 (OpenAI- or Claude-format), SSE body builders that
 * send chosen byte chunks (optionally breaking the connection), and account / call builders.
 */
import type { ChannelCall } from "../../lib/accounts/channel.ts";
import type { ClaudeStreamEvent } from "../../lib/claude/events.ts";
import { normalizeClaudeRequest } from "../../lib/claude/normalize_request.ts";
import { messagesRequestSchema } from "../../lib/claude/request_schema.ts";
import type { ClaudeRequest } from "../../lib/claude/request_schema.ts";
import type { Account } from "../../lib/store/types.ts";
import { accountFixture } from "./account_fixture.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface FakeUpstream {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a fake upstream; the handler sees the parsed JSON body. */
export function startFakeUpstream(
  handler: (request: RecordedRequest) => Response | Promise<Response>,
): FakeUpstream {
  const requests: RecordedRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const text = await req.text();
    const recorded: RecordedRequest = {
      method: req.method,
      path: new URL(req.url).pathname,
      headers: req.headers,
      body: text ? JSON.parse(text) : {},
      signal: req.signal,
    };
    requests.push(recorded);
    return await handler(recorded);
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    async close() {
      await server.shutdown();
    },
  };
}

export interface SseBodyOptions {
  /** Break the connection after the last chunk instead of ending it cleanly. */
  breakAfter?: boolean;
  /** Milliseconds between chunks, so each arrives in its own read. */
  delayMs?: number;
  /** Called when the client cancels the body. */
  onCancel?: () => void;
  /** Never end (after the chunks): a stalled upstream. */
  stall?: boolean;
}

const encoder = new TextEncoder();

/** A response body that sends exactly these chunks. */
export function chunkedBody(
  chunks: Array<string | Uint8Array>,
  options: SseBodyOptions = {},
): ReadableStream<Uint8Array> {
  let i = 0;
  let cancelled = false;
  // The pending delay, so a cancel (the proxy dropping the upstream) ends it instead of leaving a timer behind.
  let pending: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((wake) => {
      pending = { timer: setTimeout(() => (pending = null, wake()), ms), wake };
    });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < chunks.length) {
        if (i > 0 && options.delayMs) await sleep(options.delayMs);
        if (cancelled) return;
        const chunk = chunks[i++]!;
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
        return;
      }
      if (options.stall) return await new Promise(() => {});
      if (options.breakAfter) {
        await sleep(10);
        if (cancelled) return;
        controller.error(new Error("connection reset by fake upstream"));
      } else controller.close();
    },
    cancel() {
      cancelled = true;
      if (pending) {
        clearTimeout(pending.timer);
        pending.wake();
        pending = null;
      }
      options.onCancel?.();
    },
  });
}

export function sseResponse(chunks: Array<string | Uint8Array>, options: SseBodyOptions = {}): Response {
  return new Response(chunkedBody(chunks, options), {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** One `data:` line of an OpenAI chunk. */
export function openAIChunk(
  delta: Record<string, unknown>,
  finishReason: string | null = null,
  extra: Record<string, unknown> = {},
): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: 1700000000,
      model: "gpt-fake",
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      usage: null,
      ...extra,
    })
  }\n\n`;
}

/** The final usage chunk that `stream_options.include_usage` adds. */
export function openAIUsageChunk(prompt: number, completion: number, cached = 0): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: 1700000000,
      model: "gpt-fake",
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: cached },
      },
    })
  }\n\n`;
}

/** One Claude SSE event. */
export function claudeEvent(data: Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function openAIError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers = {},
): Response {
  return new Response(JSON.stringify({ error: { message, type, param: null, code } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export const API_KEY = "sk-test-secret-key-0123456789";

export function customAccount(other: Record<string, unknown>, key: string | null = API_KEY): Account {
  return accountFixture({
    label: "custom",
    type: "custom_api",
    clientId: null,
    clientSecret: key,
    refreshToken: null,
    accessToken: null,
    other,
    rate_limit_per_hour: 0,
  });
}

/** Validates and normalizes a Claude request body, as the route does. */
export function claudeRequest(body: Record<string, unknown>): ClaudeRequest {
  return normalizeClaudeRequest(
    messagesRequestSchema.parse({ model: "claude-sonnet-4-6", max_tokens: 1024, ...body }),
  );
}

export function channelCall(account: Account, overrides: Partial<ChannelCall> = {}): ChannelCall {
  return {
    request: claudeRequest({ messages: [{ role: "user", content: "Hi" }] }),
    upstreamModel: "gpt-4o",
    account,
    messageId: "msg_test0001",
    conversationId: "conv-1",
    inputTokens: 7,
    clientHeaders: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

export function fakeSign(thinking: string): string {
  return `sig:${thinking.length}`;
}

export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  return await Array.fromAsync(stream);
}

/** Reads a stream and returns the error it failed with (or throws if it ended normally). */
export async function streamError(stream: ReadableStream<ClaudeStreamEvent>): Promise<unknown> {
  try {
    for await (const _ of stream) { /* drain */ }
  } catch (error) {
    return error;
  }
  throw new Error("stream ended without an error");
}
