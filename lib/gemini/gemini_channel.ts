/**
 * `GeminiChannel`: serves a Claude request from a Gemini Code Assist (Antigravity) account.
 *
 * Converts the request (`claudeToGemini`), POSTs `{endpoint}/v1internal:streamGenerateContent?alt=sse` with
 * the account's bearer token through `upstreamCall` (time limits, no redirects, cut connections named as
 * such), and resolves only once the upstream has accepted the call: HTTP status checked and the first SSE
 * message read, so a 429, a 5xx, an expired token or an error chunk in a 200 becomes a classified
 * `UpstreamError` before the client has seen a byte and the pool can fail over. A 401 (or a 403 about the
 * token) is retried with the token the `TokenSource` gives for the refused one: never with a token already
 * refused, and never after a refreshed token was refused too. Then: bytes -> `TextDecoderStream` -> `EventSourceParserStream` ->
 * `GeminiToClaude`, composed with `pipeThrough` so a cancelled client stream cancels the upstream body.
 *
 * It does not retry on other errors, wait, touch the store or discover projects: the account must carry
 * `other.project` (the refresher can discover it as an `otherPatch`).
 */
import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";
import type { Channel, ChannelCall } from "../accounts/channel.ts";
import type { TokenSource } from "../accounts/token_source.ts";
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { Account } from "../store/types.ts";
import { UpstreamError } from "../errors.ts";
import { brokeOff } from "../upstream/broke_off.ts";
import { readErrorBody } from "../upstream/read_error_body.ts";
import { upstreamCall, type UpstreamTimeouts } from "../upstream/upstream_call.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";
import { classifyGoogleError } from "./google_error.ts";
import { GeminiToClaude } from "./gemini_to_claude.ts";
import { claudeToGemini, geminiSessionId } from "./request_converter.ts";

export interface GeminiChannelOptions {
  fetch: typeof fetch;
  tokens: TokenSource;
  /** Default Code Assist endpoint (`config.gemini.apiEndpoint`), used when `other.api_endpoint` is unset. */
  apiEndpoint: string;
  userAgent: string;
  now?: () => number;
  /**
   * Accepted for symmetry with the other channels; unused: this channel never waits between attempts
   * (failing over to another account is the pool's job).
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Per-account proxy clients (direct when absent). */
  clients?: UpstreamClients;
  /** Time limits of one upstream call (`upstreamCall` defaults). */
  timeouts?: Partial<UpstreamTimeouts>;
}

/** An SSE line longer than this is not Code Assist talking: fail instead of buffering without end. */
const MAX_SSE_BUFFER_CHARS = 16 * 1024 * 1024;
/** Refused tokens replaced before a refusal counts against the account. */
const MAX_TOKEN_RETRIES = 3;

/** True when a 403 is about the token rather than about the account or project. */
function isTokenRefusal(status: number, body: string): boolean {
  if (status === 401) return true;
  if (status !== 403) return false;
  return /UNAUTHENTICATED|access token|invalid (?:authentication )?credentials|token (?:has )?expired/i.test(
    body,
  );
}

export class GeminiChannel implements Channel {
  readonly type = "gemini" as const;
  #options: GeminiChannelOptions;

  constructor(options: GeminiChannelOptions) {
    this.#options = options;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  async open(call: ChannelCall): Promise<ReadableStream<ClaudeStreamEvent>> {
    const { account, signal } = call;
    const project = typeof account.other.project === "string" ? account.other.project : "";
    if (project === "") {
      throw new UpstreamError("auth", "gemini account has no Code Assist project (other.project)", {
        provider: "gemini",
      });
    }
    const endpoint =
      (typeof account.other.api_endpoint === "string" && account.other.api_endpoint
        ? account.other.api_endpoint
        : this.#options.apiEndpoint).replace(/\/+$/, "");
    const body = JSON.stringify(claudeToGemini(call.request, {
      model: call.upstreamModel,
      project,
      sessionId: geminiSessionId(call.conversationId),
      requestId: `agent-${crypto.randomUUID()}`,
    }));
    const url = `${endpoint}/v1internal:streamGenerateContent?alt=sse`;

    let token = await this.#options.tokens.accessToken(account, { signal });
    const refused = new Set<string>();
    let refreshed = false;
    let response = await this.#post(url, token, body, signal, account);
    while (!response.ok) {
      const text = await readErrorBody(response);
      if (refreshed || refused.size >= MAX_TOKEN_RETRIES || !isTokenRefusal(response.status, text)) {
        throw classifyGoogleError(response.status, text, { now: this.#now() });
      }
      // The token that was sent is declared stale. A refused token that a refresh produced means a refresh
      // does not fix the account; one a concurrent request renewed may simply have been revoked too.
      refused.add(token);
      const next = await this.#options.tokens.renew(account, token, signal);
      if (refused.has(next.token)) throw classifyGoogleError(response.status, text, { now: this.#now() });
      token = next.token;
      refreshed = next.refreshed;
      response = await this.#post(url, token, body, signal, account);
    }
    if (!response.body) {
      throw new UpstreamError("transient", "Gemini answered 200 without a body", {
        provider: "gemini",
        upstreamStatus: response.status,
      });
    }
    const messages = await this.#peekFirstMessage(response.body);
    return messages.pipeThrough(
      new GeminiToClaude({
        messageId: call.messageId,
        model: call.request.model,
        inputTokens: call.inputTokens,
        now: this.#options.now,
      }),
    );
  }

  #post(url: string, token: string, body: string, signal: AbortSignal, account: Account): Promise<Response> {
    return upstreamCall(url, {
      method: "POST",
      headers: {
        "authorization": `Bearer ${token}`,
        "content-type": "application/json",
        "accept": "text/event-stream",
        "user-agent": this.#options.userAgent,
      },
      body,
    }, {
      fetch: this.#options.fetch,
      provider: "gemini",
      signal,
      timeouts: this.#options.timeouts,
      client: this.#options.clients?.forAccount(account),
    });
  }

  /**
   * Reads the first SSE message before the call counts as accepted: an empty body or an error chunk is a
   * failure the pool can still fail over from. The message is then replayed in front of the rest; the
   * wrapper pulls on demand, so backpressure and cancellation still reach the upstream body.
   */
  async #peekFirstMessage(body: ReadableStream<Uint8Array>): Promise<ReadableStream<EventSourceMessage>> {
    const reader = body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_SSE_BUFFER_CHARS }))
      .getReader();
    const transient = (cause: unknown) =>
      cause instanceof UpstreamError
        ? cause
        : brokeOff("gemini", (cause as Error)?.message ?? String(cause), cause);
    let first: ReadableStreamReadResult<EventSourceMessage>;
    try {
      first = await reader.read();
    } catch (cause) {
      await reader.cancel().catch(() => {});
      throw transient(cause);
    }
    if (first.done) throw brokeOff("gemini", "Gemini closed the stream before any content");
    // Only a chunk that can be an error is parsed here; the stage parses every chunk once anyway.
    if (first.value.data.includes('"error"')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(first.value.data);
      } catch {
        parsed = undefined;
      }
      const error = (parsed as { error?: { code?: number } } | undefined)?.error;
      if (error && typeof error === "object") {
        await reader.cancel().catch(() => {});
        throw classifyGoogleError(Number(error.code ?? 0), parsed, { now: this.#now() });
      }
    }
    let pending: EventSourceMessage | undefined = first.value;
    return new ReadableStream<EventSourceMessage>({
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        try {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (cause) {
          controller.error(transient(cause));
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
}
