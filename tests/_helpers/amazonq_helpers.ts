/**
 * Test helpers for the Amazon Q backend: authentic AWS event-stream frames built with the official
 * `@smithy/eventstream-codec`, chunk splitting, stream collection, and a fake upstream on port 0.
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import type { Account } from "../../lib/store/types.ts";
import type { AccessTokenOptions, RenewedToken, TokenSource } from "../../lib/accounts/token_source.ts";
import type { ClaudeStreamEvent } from "../../lib/claude/events.ts";
import type { ClaudeRequest } from "../../lib/claude/request_schema.ts";
import type { ChannelCall } from "../../lib/accounts/channel.ts";
import { accountFixture } from "./account_fixture.ts";

function codec(): EventStreamCodec {
  return new EventStreamCodec(toUtf8, fromUtf8);
}

const json = (value: unknown) => fromUtf8(JSON.stringify(value));

/** An `event` frame with the headers Amazon Q sends. */
export function eventFrame(eventType: string, payload: unknown): Uint8Array {
  return codec().encode({
    headers: {
      ":event-type": { type: "string", value: eventType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: json(payload),
  });
}

/** A modelled `exception` frame (`{message, reason?}` payload). */
export function exceptionFrame(exceptionType: string, payload: unknown): Uint8Array {
  return codec().encode({
    headers: {
      ":exception-type": { type: "string", value: exceptionType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: json(payload),
  });
}

/** An unmodelled `error` frame. */
export function errorFrame(code: string, message: string): Uint8Array {
  return codec().encode({
    headers: {
      ":error-code": { type: "string", value: code },
      ":error-message": { type: "string", value: message },
      ":message-type": { type: "string", value: "error" },
    },
    body: new Uint8Array(0),
  });
}

export function text(content: string): Uint8Array {
  return eventFrame("assistantResponseEvent", { content });
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `bytes` cut into pieces at the given offsets. */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let last = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(bytes.subarray(last, cut));
    last = cut;
  }
  out.push(bytes.subarray(last));
  return out;
}

/** `bytes` in pieces of `size`. */
export function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** A deterministic PRNG (mulberry32) for seeded random splits. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSplit(bytes: Uint8Array, random: () => number, pieces: number): Uint8Array[] {
  const cuts = new Set<number>();
  for (let i = 0; i < pieces; i++) cuts.add(Math.floor(random() * bytes.length));
  return splitAt(bytes, [...cuts]);
}

export function streamOf<T>(items: T[]): ReadableStream<T> {
  return ReadableStream.from(items);
}

export async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

export function account(overrides: Partial<Account> = {}): Account {
  return accountFixture(overrides);
}

/** A TokenSource that counts calls; a forced refresh hands out the next token of the list. */
export class CountingTokens implements TokenSource {
  calls = 0;
  forced = 0;
  #tokens: string[];
  #index = 0;
  constructor(tokens: string[] = ["token-1", "token-2", "token-3"]) {
    this.#tokens = tokens;
  }
  /** The tokens reported as refused, in order. */
  stale: string[] = [];
  accessToken(_account: Account, options?: AccessTokenOptions): Promise<string> {
    this.calls++;
    if (options?.staleToken !== undefined) this.stale.push(options.staleToken);
    if (options?.forceRefresh || options?.staleToken !== undefined) {
      this.forced++;
      this.#index = Math.min(this.#index + 1, this.#tokens.length - 1);
    }
    return Promise.resolve(this.#tokens[this.#index]!);
  }
  /** Every renewal is a refresh here (the next token of the list). */
  async renew(account: Account, staleToken: string): Promise<RenewedToken> {
    return { token: await this.accessToken(account, { staleToken }), refreshed: true };
  }
}

export interface FakeServer {
  url: string;
  requests: Array<{ path: string; headers: Headers; body: string }>;
  shutdown(): Promise<void>;
}

/** A fake upstream on 127.0.0.1:0; `handler` gets the request index (0-based) and the parsed request. */
export function fakeServer(
  handler: (index: number, request: Request, body: string) => Response | Promise<Response>,
): FakeServer {
  const requests: FakeServer["requests"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.text();
    const index = requests.length;
    requests.push({ path: new URL(request.url).pathname, headers: request.headers, body });
    return await handler(index, request, body);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    requests,
    shutdown: () => server.shutdown(),
  };
}

/** A 200 event-stream answer whose body is the given frames, optionally sent in small pieces. */
export function eventStreamResponse(frames: Uint8Array[], pieceSize = 0): Response {
  const bytes = concat(frames);
  const pieces = pieceSize > 0 ? chunked(bytes, pieceSize) : [bytes];
  return new Response(ReadableStream.from(pieces), {
    headers: { "content-type": "application/vnd.amazon.eventstream" },
  });
}

/** Checks the rules of a correct, completed Claude stream, as Claude clients check it. */
export function assertWellFormed(stream: readonly ClaudeStreamEvent[]): void {
  const events = stream as unknown as Array<{ type: string; [k: string]: unknown }>;
  const fail = (why: string) => {
    throw new Error(`malformed stream: ${why}\n${JSON.stringify(events, null, 1)}`);
  };
  if (events[0]?.type !== "message_start") fail("message_start is not first");
  if (events.filter((e) => e.type === "message_start").length !== 1) fail("message_start not exactly once");
  if (events.filter((e) => e.type === "message_delta").length !== 1) fail("message_delta not exactly once");
  if (events.at(-1)?.type !== "message_stop" || events.at(-2)?.type !== "message_delta") {
    fail("does not end with message_delta, message_stop");
  }
  let open: { index: number; type: string; signed: boolean } | null = null;
  let next = 0;
  for (const e of events) {
    if (e.type === "content_block_start") {
      if (open) fail(`block ${e.index} started while ${open.index} is open`);
      if (e.index !== next) fail(`block index ${e.index}, expected ${next}`);
      const block = e.content_block as { type: string; input?: unknown };
      if (block.type === "tool_use" && JSON.stringify(block.input) !== "{}") {
        fail("tool_use start without input {}");
      }
      open = { index: next, type: block.type, signed: false };
      next++;
    } else if (e.type === "content_block_delta") {
      if (!open || open.index !== e.index) fail(`delta for block ${e.index} that is not open`);
      const d = (e.delta as { type: string }).type;
      const ok = (open!.type === "text" && d === "text_delta") ||
        (open!.type === "thinking" && (d === "thinking_delta" || d === "signature_delta")) ||
        (open!.type === "tool_use" && d === "input_json_delta");
      if (!ok) fail(`${d} in a ${open!.type} block`);
      if (d === "signature_delta") open!.signed = true;
    } else if (e.type === "content_block_stop") {
      if (!open || open.index !== e.index) fail(`stop for block ${e.index} that is not open`);
      if (open!.type === "thinking" && !open!.signed) fail("thinking block without signature");
      open = null;
    }
  }
  if (open) fail("a block is still open at the end");
}

/** `Deno.test` with the op and resource sanitizers on (they are off by default in recent Deno). */
export function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });
}

/** A normalized Claude request with defaults. */
export function claudeRequest(overrides: Partial<ClaudeRequest> = {}): ClaudeRequest {
  return {
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
    system: [],
    stream: true,
    extra: {},
    ...overrides,
  };
}

export function channelCall(overrides: Partial<ChannelCall> = {}): ChannelCall {
  return {
    request: claudeRequest(),
    upstreamModel: "claude-sonnet-4.5",
    account: account(),
    messageId: "msg_01",
    conversationId: "11111111-2222-3333-4444-555555555555",
    inputTokens: 9,
    clientHeaders: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}
