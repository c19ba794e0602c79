/**
 * The contract between the account pool and an upstream backend (Amazon Q, Gemini, custom API).
 *
 * The pool chooses an account and calls `open()`. A channel converts the request, calls its upstream and
 * resolves with a stream of Claude events once the upstream has accepted the call; any failure before
 * that rejects with a classified `UpstreamError`, so the pool can cool down, park or disable the account and
 * try another one before the client has seen a byte. Failures after that error the event stream (the edge
 * turns that into one SSE `error` event). Channels never touch the store; they get tokens from a
 * `TokenSource` and report nothing else.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { ClaudeRequest } from "../claude/request_schema.ts";
import type { Account, AccountType } from "../store/types.ts";

export interface ChannelCall {
  /** The validated, normalized client request. */
  readonly request: ClaudeRequest;
  /** The model name to send upstream (already mapped by the routing rules). */
  readonly upstreamModel: string;
  readonly account: Account;
  /** The `msg_...` id the stream's `message_start` must carry. */
  readonly messageId: string;
  /** Stable per client conversation (sticky session); Amazon Q `conversationId`, Gemini `sessionId`. */
  readonly conversationId: string;
  /** Local estimate of the request's input tokens, for `message_start` until the upstream reports better. */
  readonly inputTokens: number;
  /** Client headers a passthrough upstream needs (`anthropic-version`, `anthropic-beta`), lower-case names. */
  readonly clientHeaders: Readonly<Record<string, string>>;
  /** Aborted when the client goes away or the server shuts down: cancel the upstream request. */
  readonly signal: AbortSignal;
}

export interface Channel {
  readonly type: AccountType;
  /**
   * True when this channel must serve the request whatever the model routing says, because only it
   * implements something the request needs (Amazon Q answers Claude's `web_search` server tool).
   */
  claims?(request: ClaudeRequest): boolean;
  /**
   * True when this account's upstream reports real prompt-cache numbers (a Claude-format API): its usage is
   * passed through untouched instead of simulated.
   */
  reportsCacheUsage?(account: Account): boolean;
  /**
   * Opens the upstream call. Resolves when the upstream accepted it (HTTP status checked); rejects with an
   * `UpstreamError` otherwise. The returned stream starts with `message_start` and, if it completes,
   * ends with `message_delta` and `message_stop`; on a failure it errors instead of ending.
   */
  open(call: ChannelCall): Promise<ReadableStream<ClaudeStreamEvent>>;
}
