/**
 * `CustomChannel`: the `custom_api` backend, a user-configured upstream speaking OpenAI Chat Completions
 * (`format:"openai"`) or the Anthropic Messages API (`format:"claude"`).
 *
 * It implements the pool's `Channel` contract (`lib/accounts/channel.ts`): build the upstream request, call
 * it through `upstreamCall` (the client's abort signal, time limits, no redirects: the URL is admin-set and
 * a followed 307 would re-send the conversation elsewhere), check the status, and resolve with a stream of
 * Claude events only once the upstream accepted the call. Every HTTP failure rejects with a classified
 * `UpstreamError` (`upstream_error.ts`) before the client has seen a byte, never an empty successful
 * message. URL rules are in `custom_upstream_url.ts`, the Claude-format body and Azure rules in
 * `claude_passthrough_body.ts`. It holds no state between calls and never logs; the API
 * key goes only into the upstream request headers.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { EventSourceMessage } from "eventsource-parser/stream";
import type { Channel, ChannelCall } from "../accounts/channel.ts";
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { Account } from "../store/types.ts";
import { UpstreamError } from "../errors.ts";
import { readErrorBody } from "../upstream/read_error_body.ts";
import { upstreamCall, type UpstreamTimeouts } from "../upstream/upstream_call.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";
import { ClaudePassthrough } from "./claude_passthrough.ts";
import { claudePassthroughBody } from "./claude_passthrough_body.ts";
import { claudeToOpenAIRequest } from "./claude_to_openai_request.ts";
import { type CustomAccountSettings, customAccountSettings } from "./custom_account_settings.ts";
import { customUpstreamUrl } from "./custom_upstream_url.ts";
import { OpenAIToClaude } from "./openai_to_claude.ts";
import type { OpenAIChatChunk } from "../openai/openai_types.ts";
import { upstreamError } from "./upstream_error.ts";

export interface CustomChannelOptions {
  /** The HTTP client (the runtime's `fetch` in production, a fake in tests). */
  fetch: typeof fetch;
  /** Signs thinking text this server emits (`ThinkingSigner.sign`). */
  sign(thinking: string): string;
  /** Clock for `retry-after` dates. @default Date.now */
  now?: () => number;
  /** Time limits of one upstream call (`upstreamCall` defaults). */
  timeouts?: Partial<UpstreamTimeouts>;
  /** Per-account proxy clients (direct when absent). */
  clients?: UpstreamClients;
}

/** Longest SSE event buffered before the stream is failed, so a broken upstream cannot exhaust memory. */
const MAX_SSE_BUFFER = 8 * 1024 * 1024;

const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

export class CustomChannel implements Channel {
  readonly type = "custom_api" as const;
  #fetch: typeof fetch;
  #sign: (thinking: string) => string;
  #now: () => number;
  #timeouts: Partial<UpstreamTimeouts> | undefined;
  #clients: UpstreamClients | undefined;

  constructor(options: CustomChannelOptions) {
    this.#fetch = options.fetch;
    this.#timeouts = options.timeouts;
    this.#clients = options.clients;
    this.#sign = options.sign;
    this.#now = options.now ?? Date.now;
  }

  reportsCacheUsage(account: Account): boolean {
    const settings = customAccountSettings(account);
    return !("error" in settings) && settings.format === "claude";
  }

  async open(call: ChannelCall): Promise<ReadableStream<ClaudeStreamEvent>> {
    const settings = customAccountSettings(call.account);
    if ("error" in settings) {
      // A misconfigured account cannot serve anything: let the pool move on to another one.
      throw new UpstreamError("auth", settings.error, { provider: "custom_api" });
    }
    const provider = settings.format;
    const response = await this.#send(call, settings);
    if (!response.ok) {
      throw upstreamError({
        provider,
        status: response.status,
        body: await readErrorBody(response),
        headers: response.headers,
        now: this.#now(),
      });
    }
    if (!response.body) {
      throw new UpstreamError("transient", "upstream answered without a body", {
        provider,
        upstreamStatus: response.status,
      });
    }
    if (settings.format === "openai" && isJson(response)) return await this.#fromCompletion(call, response);
    const messages = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_SSE_BUFFER }));
    if (settings.format === "claude") {
      return messages.pipeThrough(
        new ClaudePassthrough({ messageId: call.messageId, model: call.request.model }),
      );
    }
    return messages.pipeThrough(this.#openAIStage(call));
  }

  #openAIStage(call: ChannelCall): OpenAIToClaude {
    return new OpenAIToClaude({
      messageId: call.messageId,
      model: call.request.model,
      inputTokens: call.inputTokens,
      sign: this.#sign,
    });
  }

  async #send(call: ChannelCall, settings: CustomAccountSettings): Promise<Response> {
    const headers = new Headers({ "content-type": "application/json", accept: "text/event-stream" });
    let body: unknown;
    if (settings.format === "openai") {
      headers.set("authorization", `Bearer ${settings.apiKey}`);
      body = claudeToOpenAIRequest(call.request, {
        model: call.upstreamModel,
        useMaxCompletionTokens: settings.useMaxCompletionTokens,
        supportsReasoningEffort: settings.supportsReasoningEffort,
      });
    } else {
      const azure = settings.provider === "azure";
      headers.set("x-api-key", settings.apiKey);
      // Azure AI Foundry also accepts the key as a bearer token; some of its gateways require that form.
      if (azure) headers.set("authorization", `Bearer ${settings.apiKey}`);
      headers.set("anthropic-version", call.clientHeaders["anthropic-version"] ?? DEFAULT_ANTHROPIC_VERSION);
      const beta = betaHeader(call.clientHeaders["anthropic-beta"], azure);
      if (beta) headers.set("anthropic-beta", beta);
      body = claudePassthroughBody(call.request, { model: call.upstreamModel, azure });
    }
    return await upstreamCall(customUpstreamUrl(settings.apiBase, settings.format), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    }, {
      fetch: this.#fetch,
      provider: settings.format,
      signal: call.signal,
      timeouts: this.#timeouts,
      client: this.#clients?.forAccount(call.account),
    });
  }

  /** Some OpenAI-compatible servers ignore `stream:true` and answer one JSON completion. */
  async #fromCompletion(call: ChannelCall, response: Response): Promise<ReadableStream<ClaudeStreamEvent>> {
    let completion: Record<string, unknown>;
    try {
      completion = await response.json();
    } catch (cause) {
      if (call.signal.aborted) throw call.signal.reason ?? cause;
      if (cause instanceof UpstreamError) throw cause;
      throw new UpstreamError("transient", "upstream answered invalid JSON", { provider: "openai", cause });
    }
    if (completion?.error) throw upstreamError({ provider: "openai", body: completion });
    const message: EventSourceMessage = { data: JSON.stringify(completionAsChunk(completion)) };
    return ReadableStream.from([message]).pipeThrough(this.#openAIStage(call));
  }
}

function isJson(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().includes("application/json");
}

/**
 * The client's `anthropic-beta` list, forwarded (betas such as extended context change what the upstream accepts). Azure gets no
 * `context-management-*` beta because its cleaner removes `context_management` from the body.
 */
function betaHeader(value: string | undefined, azure: boolean): string {
  if (!value) return "";
  const betas = value.split(",").map((beta) => beta.trim()).filter(Boolean);
  return (azure ? betas.filter((beta) => !beta.startsWith("context-management")) : betas).join(",");
}

/** A `chat.completion` as the one chunk that would have carried all of it. */
function completionAsChunk(completion: Record<string, unknown>): OpenAIChatChunk {
  const choices = Array.isArray(completion.choices) ? completion.choices : [];
  const choice = (choices[0] ?? {}) as { message?: Record<string, unknown>; finish_reason?: unknown };
  const message = choice.message ?? {};
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return {
    id: String(completion.id ?? ""),
    object: "chat.completion.chunk",
    created: Number(completion.created ?? 0),
    model: String(completion.model ?? ""),
    choices: [{
      index: 0,
      delta: {
        content: typeof message.content === "string" ? message.content : null,
        reasoning_content: typeof message.reasoning_content === "string"
          ? message.reasoning_content
          : typeof message.reasoning === "string"
          ? message.reasoning
          : null,
        tool_calls: toolCalls.map((call: Record<string, unknown>, index: number) => ({ ...call, index })),
      },
      finish_reason: (choice.finish_reason ?? "stop") as OpenAIChatChunk["choices"][0]["finish_reason"],
    }],
    usage: (completion.usage ?? null) as OpenAIChatChunk["usage"],
  };
}
