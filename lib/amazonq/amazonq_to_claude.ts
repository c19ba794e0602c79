/**
 * `AmazonQToClaude`: decoded Amazon Q event-stream frames -> Claude stream events.
 *
 * Handles the event union (text, thinking, tool calls, stop reason, usage) so that:
 * - `message_start` is sent first, always, from the options (not from `initial-response`, which the REST
 *   flavour never sends);
 * - tool calls are keyed by `toolUseId`: fragments of interleaved calls are buffered per id and each call is
 *   emitted as one complete `tool_use` block once its `stop` arrives, with its input checked to be a JSON
 *   object (anything else is a `ProtocolError`, never passed on); replays of a finished id are ignored;
 * - reasoning (`reasoningContentEvent`, or `<thinking>` text when thinking was requested) becomes thinking
 *   blocks, each closed with a `signature_delta` from `sign()`;
 * - exception / error frames and `invalidStateEvent` error the stream with a classified `UpstreamError`;
 * - `stop_sequences` and `max_tokens` (which Amazon Q ignores) are enforced here: text is cut, then
 *   `message_delta` / `message_stop` are written and the stream is terminated so the upstream body is cancelled.
 *
 * When is a normal end of the input a complete answer? The protocol has no end event. If any assistant
 * content arrived, the end of the body is the end of the answer. If none did, the answer counts as complete
 * (and empty) only when the upstream sent its closing bookkeeping frames (`metadataEvent`, `meteringEvent`,
 * `contextUsageEvent`), which it sends after a finished generation; a body that ends with no content and no
 * such frame (an empty 200, or only `initial-response`) is a cut connection (`brokeOff`), not an empty
 * success. A body cut inside a frame never reaches `flush`: the decoder errors first.
 *
 * Not here: pings and timeouts (the HTTP edge), logging, fetching, reading configuration.
 */
import { type ClaudeStreamEvent, messageStart, type StopReason, type Usage } from "../claude/events.ts";
import { BlockSequencer } from "../claude/block_sequencer.ts";
import { ProtocolError } from "../errors.ts";
import { brokeOff } from "../upstream/broke_off.ts";
import { classifyAmazonQError } from "./classify_amazonq_error.ts";
import type { EventStreamFrame, EventStreamHeaderValue } from "./event_stream_decoder.ts";
import { framePayload } from "./frame_payload.ts";
import { OutputBudget } from "./output_budget.ts";
import { StopSequenceMatcher } from "./stop_sequence_matcher.ts";
import { ThinkingTagParser } from "./thinking_tag_parser.ts";

export interface AmazonQToClaudeOptions {
  messageId: string;
  model: string;
  /** Local estimate of the request's input tokens, reported until the upstream says better. */
  inputTokens: number;
  /** Signature for a finished thinking block. */
  sign(thinking: string): string;
  /** Token count of a text; called once, at the end, when the upstream reports no output usage. */
  countTokens(text: string): number;
  stopSequences?: readonly string[];
  maxTokens: number;
  /** The client asked for thinking: parse leading `<thinking>` sections of the text into thinking blocks. */
  thinking?: boolean;
  /** Clock for quota reset times of in-stream errors (epoch ms). */
  now?: () => number;
  /** Context window used to turn `contextUsageEvent` percentages into tokens (default 200k). */
  contextWindowTokens?: number;
}

interface PendingTool {
  name: string;
  parts: string[];
}

/** Events after which the upstream considers its answer finished (sent after the generation). */
const TRAILER_EVENTS = new Set(["metadataEvent", "meteringEvent", "contextUsageEvent"]);
/** Events whose payload this stage reads; others are skipped without parsing. */
const PARSED_EVENTS = new Set([
  "assistantResponseEvent",
  "codeEvent",
  "toolUseEvent",
  "reasoningContentEvent",
  "metadataEvent",
  "contextUsageEvent",
  "invalidStateEvent",
  "error",
]);

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function headerText(value: EventStreamHeaderValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

class Translator {
  readonly #o: AmazonQToClaudeOptions;
  readonly #enqueue: (event: ClaudeStreamEvent) => void;
  readonly #terminate: () => void;
  readonly #seq: BlockSequencer;
  readonly #parser: ThinkingTagParser | null;
  readonly #utf8 = new TextDecoder();
  readonly #stops: StopSequenceMatcher;
  readonly #budget: OutputBudget;
  readonly #tools = new Map<string, PendingTool>();
  readonly #finishedTools = new Set<string>();
  /** Everything emitted as output (text, thinking, tool JSON), counted once at the end. */
  readonly #output: string[] = [];
  #thinkingParts: string[] = [];
  #done = false;
  /** Inside `end()`: the input is finished, there is nothing upstream left to cancel. */
  #ending = false;
  #sawContent = false;
  #sawTrailer = false;
  #inputTokens: number | undefined;
  #outputTokens: number | undefined;
  #cacheRead: number | undefined;
  #cacheWrite: number | undefined;
  #contextPercent: number | undefined;

  constructor(
    options: AmazonQToClaudeOptions,
    enqueue: (event: ClaudeStreamEvent) => void,
    terminate: () => void,
  ) {
    this.#o = options;
    this.#enqueue = enqueue;
    this.#terminate = terminate;
    this.#seq = new BlockSequencer(enqueue);
    this.#stops = new StopSequenceMatcher(options.stopSequences ?? []);
    this.#budget = new OutputBudget(options.maxTokens);
    this.#parser = options.thinking
      ? new ThinkingTagParser({
        text: (t) => this.#answerText(t),
        thinking: (t) => this.#thinkingText(t),
        thinkingEnd: () => this.#closeThinking(),
      }, { mode: "leading" })
      : null;
  }

  start(): void {
    this.#enqueue(messageStart(this.#o.messageId, this.#o.model, {
      input_tokens: this.#o.inputTokens,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    }));
  }

  frame(frame: EventStreamFrame): void {
    if (this.#done) return;
    const headers = frame.headers;
    const messageType = headerText(headers[":message-type"]) ?? "event";
    if (messageType === "exception") {
      const body = framePayload(frame, this.#utf8);
      throw classifyAmazonQError({
        type: headerText(headers[":exception-type"]) ?? "exception",
        message: str(body.message) ?? str(body.Message),
        reason: str(body.reason),
        now: this.#o.now?.(),
      });
    }
    if (messageType === "error") {
      throw classifyAmazonQError({
        type: headerText(headers[":error-code"]) ?? "error",
        message: headerText(headers[":error-message"]),
        now: this.#o.now?.(),
      });
    }
    if (messageType !== "event") return;
    const eventType = headerText(headers[":event-type"]) ?? "";
    if (TRAILER_EVENTS.has(eventType)) this.#sawTrailer = true;
    if (!PARSED_EVENTS.has(eventType)) return;
    const payload = framePayload(frame, this.#utf8);
    switch (eventType) {
      case "assistantResponseEvent":
      case "codeEvent": {
        const content = str(payload.content);
        if (content === undefined) return;
        this.#sawContent = true;
        if (this.#parser) this.#parser.push(content);
        else this.#answerText(content);
        return;
      }
      case "toolUseEvent":
        this.#toolEvent(payload);
        return;
      case "reasoningContentEvent":
        this.#reasoning(payload);
        return;
      case "metadataEvent": {
        const usage = payload.tokenUsage as Record<string, unknown> | undefined;
        if (usage && typeof usage === "object") {
          this.#inputTokens = num(usage.uncachedInputTokens) ?? this.#inputTokens;
          this.#outputTokens = num(usage.outputTokens) ?? this.#outputTokens;
          this.#cacheRead = num(usage.cacheReadInputTokens) ?? this.#cacheRead;
          this.#cacheWrite = num(usage.cacheWriteInputTokens) ?? this.#cacheWrite;
          this.#contextPercent = num(usage.contextUsagePercentage) ?? this.#contextPercent;
        }
        return;
      }
      case "contextUsageEvent":
        this.#contextPercent = num(payload.contextUsagePercentage) ?? this.#contextPercent;
        return;
      case "invalidStateEvent":
      case "error":
        throw classifyAmazonQError({
          type: eventType === "error" ? "InternalServerException" : "InvalidStateException",
          message: str(payload.message),
          reason: str(payload.reason),
          now: this.#o.now?.(),
        });
    }
  }

  /** The upstream body ended normally. */
  end(): void {
    if (this.#done) return;
    this.#ending = true;
    if (!this.#sawContent && !this.#sawTrailer) {
      // A connection closed before anything arrived: a cut, not bad data, so the pool fails over.
      throw brokeOff("amazonq", "Amazon Q closed the stream before any content");
    }
    this.#parser?.end();
    if (this.#done) return; // the flushed text hit a stop sequence or the token limit
    this.#flushHold();
    if (this.#done) return;
    // A call whose `stop` never came: emit it if its input is complete JSON (the body ended normally),
    // otherwise `#emitTool` throws rather than hand a client a broken call.
    for (const [id, tool] of [...this.#tools]) {
      this.#tools.delete(id);
      this.#emitTool(id, tool);
    }
    this.#finish(null, null);
  }

  /** Answer text after thinking extraction: stop sequences, then the token budget. */
  #answerText(text: string): void {
    if (this.#done || text.length === 0) return;
    this.#closeThinking();
    if (!this.#stops.active) {
      this.#emitText(text);
      return;
    }
    const { text: before, matched } = this.#stops.push(text);
    this.#emitText(before);
    if (matched !== null) {
      if (!this.#done) this.#finish("stop_sequence", matched);
      return;
    }
    // Text cut by the token limit ends the answer: what was held back is dropped with it.
    if (this.#done) this.#stops.takeHeld();
  }

  #flushHold(): void {
    const held = this.#stops.takeHeld();
    if (held.length > 0) this.#emitText(held);
  }

  #emitText(text: string): void {
    const allowed = this.#budget.fit(text);
    if (allowed.length > 0) {
      this.#seq.text(allowed);
      this.#output.push(allowed);
    }
    if (allowed.length < text.length) this.#finish("max_tokens", null);
  }

  #thinkingText(text: string): void {
    if (this.#done || text.length === 0) return;
    this.#flushHold();
    if (this.#done) return;
    const allowed = this.#budget.fit(text);
    if (allowed.length > 0) {
      this.#seq.thinking(allowed);
      this.#thinkingParts.push(allowed);
      this.#output.push(allowed);
    }
    if (allowed.length < text.length) this.#finish("max_tokens", null);
  }

  #closeThinking(): void {
    if (!this.#seq.thinkingNeedsSignature) return;
    const thinking = this.#thinkingParts.join("");
    this.#thinkingParts = [];
    this.#seq.signature(this.#o.sign(thinking));
  }

  /** Brings text held by the thinking parser and the stop-sequence matcher out before another block. */
  #flushPending(): void {
    this.#parser?.end();
    if (!this.#done) this.#flushHold();
    if (!this.#done) this.#closeThinking();
  }

  #toolEvent(payload: Record<string, unknown>): void {
    const id = str(payload.toolUseId);
    if (!id) throw new ProtocolError("toolUseEvent without a toolUseId");
    this.#sawContent = true;
    // A replayed event for a call already emitted would duplicate the block (the upstream sometimes repeats a finished call's events).
    if (this.#finishedTools.has(id)) return;
    let tool = this.#tools.get(id);
    if (!tool) {
      tool = { name: str(payload.name) ?? "", parts: [] };
      this.#tools.set(id, tool);
    } else if (!tool.name) {
      tool.name = str(payload.name) ?? "";
    }
    const input = payload.input;
    if (typeof input === "string") tool.parts.push(input);
    else if (input && typeof input === "object") tool.parts.push(JSON.stringify(input));
    if (payload.stop === true) {
      this.#tools.delete(id);
      this.#emitTool(id, tool);
    }
  }

  #emitTool(id: string, tool: PendingTool): void {
    this.#finishedTools.add(id);
    const json = tool.parts.length === 0 ? "{}" : tool.parts.join("");
    let parsed: unknown;
    try {
      parsed = json.trim().length === 0 ? {} : JSON.parse(json);
    } catch (cause) {
      throw new ProtocolError(`tool call ${id} has an input that is not valid JSON`, { cause });
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ProtocolError(`tool call ${id} has an input that is not a JSON object`);
    }
    if (!tool.name) throw new ProtocolError(`tool call ${id} has no name`);
    if (this.#done) return;
    this.#flushPending();
    if (this.#done) return;
    const input = json.trim().length === 0 ? "{}" : json;
    this.#seq.startToolUse(id, tool.name);
    this.#seq.toolInput(input);
    this.#seq.close();
    this.#output.push(input);
    // Tool calls are never cut (a truncated call is useless), but they use up the budget.
    this.#budget.charge(input);
  }

  #reasoning(payload: Record<string, unknown>): void {
    const text = str(payload.text);
    const redacted = str(payload.redactedContent);
    if (text !== undefined || redacted !== undefined) this.#sawContent = true;
    if (text) {
      // Reasoning arrives before the answer; text held by the tag parser belongs before it.
      if (this.#parser && !this.#parser.inThinking) this.#parser.end();
      this.#thinkingText(text);
    }
    if (redacted) {
      this.#flushPending();
      if (this.#done) return;
      this.#seq.whole({ type: "redacted_thinking", data: redacted });
    }
  }

  #finish(reason: StopReason | null, stopSequence: string | null): void {
    if (this.#done) return;
    this.#closeThinking();
    this.#seq.close();
    this.#done = true;
    const stopReason: StopReason = reason ?? (this.#seq.hasStarted("tool_use") ? "tool_use" : "end_turn");
    const outputTokens = this.#outputTokens ?? this.#o.countTokens(this.#output.join(""));
    let inputTokens = this.#inputTokens;
    if (inputTokens === undefined && this.#contextPercent !== undefined) {
      const total = Math.round((this.#contextPercent / 100) * (this.#o.contextWindowTokens ?? 200_000));
      inputTokens = Math.max(0, total - outputTokens) || undefined;
    }
    const usage: Usage = {
      input_tokens: inputTokens ?? this.#o.inputTokens,
      output_tokens: outputTokens,
      cache_creation_input_tokens: this.#cacheWrite ?? 0,
      cache_read_input_tokens: this.#cacheRead ?? 0,
    };
    this.#enqueue({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: stopSequence },
      usage,
    });
    this.#enqueue({ type: "message_stop" });
    // A cut answer needs no more upstream bytes: terminating errors our writable side, which cancels the
    // pipe behind it and so the upstream body.
    if ((reason === "max_tokens" || reason === "stop_sequence") && !this.#ending) this.#terminate();
  }
}

export class AmazonQToClaude extends TransformStream<EventStreamFrame, ClaudeStreamEvent> {
  constructor(options: AmazonQToClaudeOptions) {
    super(AmazonQToClaude.transformer(options));
  }

  /** The translation as a transformer, to run in a `StageChain`. */
  static transformer(options: AmazonQToClaudeOptions): Transformer<EventStreamFrame, ClaudeStreamEvent> {
    let translator: Translator;
    return {
      start(controller) {
        translator = new Translator(
          options,
          (event) => controller.enqueue(event),
          () => controller.terminate(),
        );
        translator.start();
      },
      transform: (frame) => translator.frame(frame),
      flush: () => translator.end(),
    };
  }
}
