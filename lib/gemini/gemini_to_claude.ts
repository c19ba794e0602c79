/**
 * `GeminiToClaude`: Code Assist SSE messages (`{response:{candidates,usageMetadata}}`) -> Claude stream events.
 *
 * Input comes from `EventSourceParserStream` (so CRLF, LF and split chunks are the parser's business). It keeps the
 * rules of a Messages stream that Claude clients check: `message_start` first; block order kept by `BlockSequencer`; thought text -> thinking with the real `thoughtSignature` as
 * `signature_delta`; a thinking block that got none ends with `SKIP_THOUGHT_SIGNATURE`, so every thinking block
 * is signed and replays cleanly; a `functionCall` (they arrive whole) -> one `tool_use` block with its args as
 * one JSON delta, its signature encoded into the id (`thought_signature.ts`); `finishReason` -> `stop_reason`
 * (a safety-type stop is a `refusal` with a short note); usage from `usageMetadata` (thoughts are output,
 * cached prompt tokens are cache reads, not input).
 *
 * It is not forgiving about endings: a stream without a finish reason errors with a transient
 * `UpstreamError` (never a made-up `end_turn`), an `error` object in a chunk errors with its classification,
 * and a chunk that is not JSON is a `ProtocolError`. The final `message_delta` waits for the end of the stream,
 * because Code Assist may send usage after the chunk with the finish reason. No I/O, no clock, no logging.
 */
import type { EventSourceMessage } from "eventsource-parser/stream";
import { BlockSequencer } from "../claude/block_sequencer.ts";
import { type ClaudeStreamEvent, messageStart, type StopReason, type Usage } from "../claude/events.ts";
import { ProtocolError, UpstreamError } from "../errors.ts";
import { brokeOff } from "../upstream/broke_off.ts";
import { classifyGoogleError } from "./google_error.ts";
import { encodeToolUseId, SKIP_THOUGHT_SIGNATURE } from "./thought_signature.ts";

export interface GeminiToClaudeOptions {
  /** The `msg_...` id for `message_start`; also seeds generated tool ids. */
  messageId: string;
  /** The model name reported to the client. */
  model: string;
  /** Local estimate for `message_start`, replaced by `promptTokenCount` at the end. */
  inputTokens: number;
  /** Clock for turning an in-stream quota error's reset delay into a time (default `Date.now`). */
  now?: () => number;
}

interface GeminiStreamPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: unknown };
}

interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
}

interface GeminiStreamChunk {
  candidates?: Array<{ content?: { parts?: GeminiStreamPart[] }; finishReason?: string }>;
  usageMetadata?: GeminiUsageMetadata;
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
}

/** Finish reasons that mean "the content was withheld": a Claude `refusal`. */
const REFUSAL_REASONS = new Set([
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

const SAFE_CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

class GeminiStreamState {
  #options: GeminiToClaudeOptions;
  #blocks: BlockSequencer;
  #toolCount = 0;
  #usage: GeminiUsageMetadata | undefined;
  #finishReason: string | undefined;
  #blockReason: string | undefined;
  #idStem: string;

  constructor(options: GeminiToClaudeOptions, emit: (event: ClaudeStreamEvent) => void) {
    this.#options = options;
    this.#blocks = new BlockSequencer(emit);
    this.#idStem = options.messageId.replace(/^msg_/, "").replace(/[^A-Za-z0-9]/g, "") || "gemini";
  }

  onMessage(message: EventSourceMessage): void {
    const data = message.data.trim();
    if (data.length === 0 || data === "[DONE]") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (cause) {
      throw new ProtocolError(`Cannot parse Gemini stream chunk as JSON: ${data.slice(0, 80)}`, { cause });
    }
    if (typeof parsed !== "object" || parsed === null) {
      throw new ProtocolError("Gemini stream chunk is not a JSON object");
    }
    const wrapper = parsed as { response?: unknown; error?: { code?: number } };
    if (wrapper.error !== undefined) {
      // An error inside a 200 stream (the upstream failed after it started answering).
      throw classifyGoogleError(Number(wrapper.error?.code ?? 0), parsed, {
        now: (this.#options.now ?? Date.now)(),
      });
    }
    const chunk = (wrapper.response ?? parsed) as GeminiStreamChunk;
    if (chunk.usageMetadata) this.#usage = chunk.usageMetadata;
    const blockReason = chunk.promptFeedback?.blockReason;
    if (blockReason && blockReason !== "BLOCKED_REASON_UNSPECIFIED") this.#blockReason = blockReason;
    const candidate = chunk.candidates?.[0];
    if (!candidate) return;
    for (const part of candidate.content?.parts ?? []) this.#onPart(part);
    const reason = candidate.finishReason;
    if (reason && reason !== "FINISH_REASON_UNSPECIFIED") this.#finishReason = reason;
  }

  #onPart(part: GeminiStreamPart): void {
    const blocks = this.#blocks;
    const signature = typeof part.thoughtSignature === "string" && part.thoughtSignature.length > 0
      ? part.thoughtSignature
      : undefined;
    if (part.functionCall) {
      this.#sealThinking();
      const call = part.functionCall;
      const base = typeof call.id === "string" && SAFE_CALL_ID.test(call.id) && !call.id.includes("_gsig_")
        ? call.id
        : `toolu_${this.#idStem}_${this.#toolCount}`;
      this.#toolCount += 1;
      blocks.startToolUse(encodeToolUseId(base, signature), String(call.name ?? ""));
      const args = call.args && typeof call.args === "object" && !Array.isArray(call.args) ? call.args : {};
      blocks.toolInput(JSON.stringify(args));
      blocks.close();
      return;
    }
    const text = typeof part.text === "string" ? part.text : "";
    if (part.thought === true) {
      blocks.thinking(text);
      if (signature) blocks.signature(signature);
      return;
    }
    // A signature on a text part goes onto the open thinking block, or on an empty one placed just before.
    if (signature) blocks.signature(signature);
    else if (text.length > 0) this.#sealThinking();
    blocks.text(text);
  }

  /** Every thinking block ends with a signature; one Gemini did not sign gets the skip value. */
  #sealThinking(): void {
    if (this.#blocks.thinkingNeedsSignature) this.#blocks.signature(SKIP_THOUGHT_SIGNATURE);
  }

  start(emit: (event: ClaudeStreamEvent) => void): void {
    emit(messageStart(this.#options.messageId, this.#options.model, {
      input_tokens: this.#options.inputTokens,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    }));
  }

  finish(emit: (event: ClaudeStreamEvent) => void): void {
    const reason = this.#finishReason ?? (this.#blockReason ? "PROMPT_BLOCKED" : undefined);
    if (reason === undefined) {
      throw brokeOff("gemini", "the stream ended without a finish reason");
    }
    this.#sealThinking();
    let stopReason: StopReason;
    if (reason === "PROMPT_BLOCKED" || REFUSAL_REASONS.has(reason)) {
      const why = this.#blockReason && reason === "PROMPT_BLOCKED"
        ? `the prompt was blocked by the upstream (${this.#blockReason})`
        : `the upstream model stopped for ${reason}`;
      const separator = this.#blocks.openKind === "text" ? "\n\n" : "";
      this.#blocks.text(`${separator}[No further answer: ${why}.]`);
      stopReason = "refusal";
    } else if (reason === "MAX_TOKENS") {
      stopReason = "max_tokens";
    } else if (this.#blocks.hasStarted("tool_use")) {
      stopReason = "tool_use";
    } else if (reason === "STOP") {
      stopReason = "end_turn";
    } else if (this.#blocks.blockCount === 0) {
      // MALFORMED_FUNCTION_CALL, OTHER, ... with nothing to show: a failure, not an empty answer.
      throw new UpstreamError("transient", `Gemini stream finished with ${reason} and no content`, {
        provider: "gemini",
      });
    } else {
      stopReason = "end_turn";
    }
    this.#blocks.close();
    emit({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: this.#finalUsage(),
    });
    emit({ type: "message_stop" });
  }

  #finalUsage(): Usage {
    const u = this.#usage;
    const cached = u?.cachedContentTokenCount ?? 0;
    const prompt = u?.promptTokenCount;
    return {
      // Claude's input_tokens excludes cache reads; Gemini's promptTokenCount includes cached content.
      input_tokens: prompt === undefined ? this.#options.inputTokens : Math.max(0, prompt - cached),
      output_tokens: (u?.candidatesTokenCount ?? 0) + (u?.thoughtsTokenCount ?? 0),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: cached,
    };
  }
}

export class GeminiToClaude extends TransformStream<EventSourceMessage, ClaudeStreamEvent> {
  constructor(options: GeminiToClaudeOptions) {
    let state: GeminiStreamState | undefined;
    super({
      start(controller) {
        state = new GeminiStreamState(options, (event) => controller.enqueue(event));
        state.start((event) => controller.enqueue(event));
      },
      transform(message) {
        state!.onMessage(message);
      },
      flush(controller) {
        state!.finish((event) => controller.enqueue(event));
      },
    });
  }
}
