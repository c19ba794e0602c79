/**
 * `ClaudeToResponsesEvents`: Claude stream events -> OpenAI Responses API stream events (objects), for
 * `POST /v1/responses`.
 *
 * A stream stage, so streaming and non-streaming answers come from the same code: the SSE writer
 * (`responses_sse_body.ts`) frames its output, the collector (`responses_collector.ts`) keeps the final
 * `response` object. Every event carries a `sequence_number`. Each Claude text block becomes a `message`
 * output item with one `output_text` part, each thinking block a `reasoning` item whose summary is the
 * thinking text (with the thinking signature as `encrypted_content` when asked for, so it can be replayed),
 * each tool_use block a `function_call` item whose `call_id` is the Claude tool id. `message_stop` ends
 * the answer with `response.completed`, or `response.incomplete` for `max_tokens` (and refusals). On the
 * streaming path its input comes through `StreamIntegrity`, whose one Claude `error` event becomes `fail`'s
 * `error` and `response.failed` events, so a cut answer never ends as completed.
 */
import { type ClaudeStreamEvent, mergeDeltaUsage, type StopReason, type Usage } from "../claude/events.ts";
import type { GuardedEvent } from "../claude/stream_integrity.ts";
import { ApiError } from "../errors.ts";
import { openAIErrorBody } from "../openai/openai_error_body.ts";
import type { ResponsesEcho } from "./responses_request_to_claude.ts";

/** One Responses stream event: `type`, `sequence_number` and the event's fields. */
export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export interface ClaudeToResponsesOptions {
  /** The `resp_...` id. */
  id: string;
  /** The model name the client asked for. */
  model: string;
  /** Unix seconds for `created_at`. */
  createdAt: number;
  echo: ResponsesEcho;
  includeEncryptedReasoning: boolean;
}

type Item = Record<string, unknown> & { id: string; type: string };

interface OpenBlock {
  kind: "message" | "reasoning" | "function_call";
  outputIndex: number;
  item: Item;
  text: string;
  signature: string;
}

/** The Responses usage object for a Claude usage (input tokens include the cached ones on OpenAI's side). */
function responsesUsage(usage: Usage): Record<string, unknown> {
  const cached = usage.cache_read_input_tokens ?? 0;
  const input = usage.input_tokens + cached + (usage.cache_creation_input_tokens ?? 0);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: usage.output_tokens,
    // Claude counts thinking inside output_tokens and reports no separate figure.
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + usage.output_tokens,
  };
}

const INCOMPLETE_REASON: Partial<Record<StopReason, string>> = {
  max_tokens: "max_output_tokens",
  refusal: "content_filter",
};

export class ClaudeToResponsesEvents extends TransformStream<GuardedEvent, ResponsesEvent> {
  #options: ClaudeToResponsesOptions;
  #seq = 0;
  #output: Item[] = [];
  #blocks = new Map<number, OpenBlock>();
  #usage: Usage = { input_tokens: 0, output_tokens: 0 };
  #stopReason: StopReason = "end_turn";
  #started = false;
  #done = false;
  #itemCount = 0;

  constructor(options: ClaudeToResponsesOptions) {
    // The transformer needs the instance's state, which exists only after super() returns.
    const ref: { stage?: ClaudeToResponsesEvents } = {};
    super({
      transform(event, controller) {
        for (const out of ref.stage!.#handle(event)) controller.enqueue(out);
      },
    });
    ref.stage = this;
    this.#options = options;
  }

  /** True once `response.completed` or `response.incomplete` was produced. */
  get finished(): boolean {
    return this.#done;
  }

  /** The events that end a failed answer: `error`, then `response.failed` with what was produced so far. */
  fail(error: ApiError): ResponsesEvent[] {
    if (this.#done) return [];
    this.#done = true;
    const body = openAIErrorBody(error).body.error;
    const code = body.code ?? body.type;
    const out: ResponsesEvent[] = [];
    if (!this.#started) out.push(...this.#start());
    out.push(this.#event("error", { code, message: body.message, param: body.param }));
    // Items cut short keep what they had, marked incomplete.
    for (const open of this.#blocks.values()) {
      if (open.kind === "message") {
        open.item.content = [{ type: "output_text", text: open.text, annotations: [], logprobs: [] }];
      } else if (open.kind === "reasoning") open.item.summary = [{ type: "summary_text", text: open.text }];
      else open.item.arguments = open.text;
      if (open.kind !== "reasoning") open.item.status = "incomplete";
    }
    out.push(this.#event("response.failed", {
      response: this.#response("failed", { error: { code, message: body.message } }),
    }));
    return out;
  }

  #event(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, sequence_number: this.#seq++, ...fields };
  }

  #response(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const o = this.#options;
    return {
      id: o.id,
      object: "response",
      created_at: o.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      ...o.echo,
      model: o.model,
      output: structuredClone(this.#output),
      previous_response_id: null,
      // Nothing is kept, whatever the request asked.
      store: false,
      truncation: "disabled",
      usage: null,
      ...extra,
    };
  }

  #start(): ResponsesEvent[] {
    this.#started = true;
    return [
      this.#event("response.created", { response: this.#response("in_progress") }),
      this.#event("response.in_progress", { response: this.#response("in_progress") }),
    ];
  }

  #newItem(kind: OpenBlock["kind"], fields: Record<string, unknown>): OpenBlock {
    const prefix = kind === "message" ? "msg" : kind === "reasoning" ? "rs" : "fc";
    const item: Item = {
      id: `${prefix}_${this.#options.id.slice(5)}_${this.#itemCount++}`,
      type: kind,
      ...fields,
    };
    this.#output.push(item);
    return { kind, outputIndex: this.#output.length - 1, item, text: "", signature: "" };
  }

  *#handle(event: GuardedEvent): Generator<ResponsesEvent> {
    if (this.#done) return;
    switch (event.type) {
      case "error":
        yield* this.fail(new ApiError(event.error.type, event.error.message));
        return;
      case "message_start":
        this.#usage = { ...event.message.usage };
        if (!this.#started) yield* this.#start();
        return;
      case "content_block_start":
        yield* this.#blockStart(event.index, event.content_block);
        return;
      case "content_block_delta":
        yield* this.#blockDelta(event.index, event.delta);
        return;
      case "content_block_stop":
        yield* this.#blockStop(event.index);
        return;
      case "message_delta":
        this.#stopReason = event.delta.stop_reason;
        this.#usage = mergeDeltaUsage(this.#usage, event.usage);
        return;
      case "message_stop": {
        this.#done = true;
        const reason = INCOMPLETE_REASON[this.#stopReason];
        const usage = responsesUsage(this.#usage);
        if (reason) {
          yield this.#event("response.incomplete", {
            response: this.#response("incomplete", { incomplete_details: { reason }, usage }),
          });
        } else {
          yield this.#event("response.completed", { response: this.#response("completed", { usage }) });
        }
        return;
      }
      default:
        return;
    }
  }

  *#blockStart(
    index: number,
    block: Extract<ClaudeStreamEvent, { type: "content_block_start" }>["content_block"],
  ): Generator<ResponsesEvent> {
    let open: OpenBlock;
    if (block.type === "text") {
      open = this.#newItem("message", { status: "in_progress", role: "assistant", content: [] });
    } else if (block.type === "thinking") {
      open = this.#newItem("reasoning", { summary: [] });
    } else if (block.type === "tool_use") {
      open = this.#newItem("function_call", {
        status: "in_progress",
        arguments: "",
        call_id: block.id,
        name: block.name,
      });
    } else {
      // Redacted thinking and server tools (web search) have no Responses form for a function-tool client.
      return;
    }
    this.#blocks.set(index, open);
    const where = { output_index: open.outputIndex, item_id: open.item.id };
    yield this.#event("response.output_item.added", {
      output_index: open.outputIndex,
      item: structuredClone(open.item),
    });
    if (open.kind === "message") {
      yield this.#event("response.content_part.added", {
        ...where,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
    } else if (open.kind === "reasoning") {
      yield this.#event("response.reasoning_summary_part.added", {
        ...where,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
  }

  *#blockDelta(
    index: number,
    delta: Extract<ClaudeStreamEvent, { type: "content_block_delta" }>["delta"],
  ): Generator<ResponsesEvent> {
    const open = this.#blocks.get(index);
    if (!open) return;
    const where = { item_id: open.item.id, output_index: open.outputIndex };
    if (delta.type === "text_delta" && open.kind === "message") {
      open.text += delta.text;
      yield this.#event("response.output_text.delta", {
        ...where,
        content_index: 0,
        delta: delta.text,
        logprobs: [],
      });
    } else if (delta.type === "thinking_delta" && open.kind === "reasoning") {
      open.text += delta.thinking;
      yield this.#event("response.reasoning_summary_text.delta", {
        ...where,
        summary_index: 0,
        delta: delta.thinking,
      });
    } else if (delta.type === "signature_delta" && open.kind === "reasoning") {
      open.signature = delta.signature;
    } else if (delta.type === "input_json_delta" && open.kind === "function_call") {
      open.text += delta.partial_json;
      yield this.#event("response.function_call_arguments.delta", { ...where, delta: delta.partial_json });
    }
  }

  *#blockStop(index: number): Generator<ResponsesEvent> {
    const open = this.#blocks.get(index);
    if (!open) return;
    this.#blocks.delete(index);
    const item = open.item;
    const where = { item_id: item.id, output_index: open.outputIndex };
    if (open.kind === "message") {
      const part = { type: "output_text", text: open.text, annotations: [], logprobs: [] };
      yield this.#event("response.output_text.done", {
        ...where,
        content_index: 0,
        text: open.text,
        logprobs: [],
      });
      yield this.#event("response.content_part.done", { ...where, content_index: 0, part });
      item.content = [part];
      item.status = "completed";
    } else if (open.kind === "reasoning") {
      const part = { type: "summary_text", text: open.text };
      yield this.#event("response.reasoning_summary_text.done", {
        ...where,
        summary_index: 0,
        text: open.text,
      });
      yield this.#event("response.reasoning_summary_part.done", { ...where, summary_index: 0, part });
      item.summary = [part];
      if (this.#options.includeEncryptedReasoning && open.signature) item.encrypted_content = open.signature;
    } else {
      const args = open.text.trim() === "" ? "{}" : open.text;
      yield this.#event("response.function_call_arguments.done", {
        ...where,
        name: item.name,
        arguments: args,
      });
      item.arguments = args;
      item.status = "completed";
    }
    yield this.#event("response.output_item.done", {
      output_index: open.outputIndex,
      item: structuredClone(item),
    });
  }
}
