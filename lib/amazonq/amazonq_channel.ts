/**
 * `AmazonQChannel`: the Amazon Q / Kiro backend behind the `Channel` contract.
 *
 * An AWS JSON 1.0 RPC call (`X-Amz-Target`, `application/x-amz-json-1.0`, bearer token) made through
 * `upstreamCall` (time limits, no redirects, cut connections named as such); web search goes through `/mcp`.
 * The upstream call, its retries and its classification all happen before `open()` resolves, so the pool
 * can fail over before the client has seen a byte. A 401/403 that looks like a stale token is retried with
 * the token the `TokenSource` gives for the refused one (refreshed once per account, or already replaced by
 * a concurrent request), never with a token already refused, and never after a refreshed token was refused
 * too; 5xx and network failures get a few short retries; everything else becomes a classified
 * `UpstreamError`. The body is then piped through `EventStreamDecoder` and `AmazonQToClaude`;
 * `call.signal` cancels the upstream request when the client leaves.
 *
 * Not here: account selection, cooldowns and disabling (the pool acts on the error class), token storage
 * (`TokenSource`), pings (the HTTP edge). Error messages carry the upstream's short error text, never tokens.
 */
import type { Channel, ChannelCall } from "../accounts/channel.ts";
import type { TokenSource } from "../accounts/token_source.ts";
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { ClaudeRequest } from "../claude/request_schema.ts";
import type { ThinkingSigner } from "../claude/thinking_signer.ts";
import { UpstreamError } from "../errors.ts";
import type { Account } from "../store/types.ts";
import { abortableSleep } from "../upstream/abortable_sleep.ts";
import { backoff } from "../upstream/backoff.ts";
import { readErrorBody } from "../upstream/read_error_body.ts";
import { retryAfterMs } from "../upstream/retry_after.ts";
import { upstreamCall, type UpstreamTimeouts } from "../upstream/upstream_call.ts";
import type { UpstreamClients } from "../upstream/upstream_clients.ts";
import type { TokenEstimator } from "../usage/token_estimator.ts";
import { StageChain } from "../stage_chain.ts";
import { AmazonQToClaude } from "./amazonq_to_claude.ts";
import { classifyAmazonQError, isStaleTokenAnswer } from "./classify_amazonq_error.ts";
import { EventStreamDecoder } from "./event_stream_decoder.ts";
import { claudeToAmazonQ, thinkingRequested } from "./request_converter.ts";
import { WebSearch } from "./web_search.ts";

export interface AmazonQChannelOptions {
  fetch: typeof fetch;
  tokens: TokenSource;
  /** `https://q.us-east-1.amazonaws.com/` (RPC flavour). */
  apiEndpoint: string;
  /** Default profile ARN for accounts without `other.profileArn` (Identity Center accounts need one). */
  profileArn?: string;
  signer: ThinkingSigner;
  estimator: TokenEstimator;
  /** MCP endpoint for web search (default: `/mcp` on the API endpoint's host). */
  mcpEndpoint?: string;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Retries after a 5xx or network failure (default 2). */
  maxServerRetries?: number;
  /** Time limits of one upstream call (`upstreamCall` defaults). */
  timeouts?: Partial<UpstreamTimeouts>;
  /** Randomness for backoff jitter (default `Math.random`). */
  random?: () => number;
  /** Per-account proxy clients (direct when absent). */
  clients?: UpstreamClients;
}

/** Refused tokens replaced before a refusal counts against the account. */
const MAX_TOKEN_RETRIES = 3;
const TARGET = "AmazonCodeWhispererStreamingService.GenerateAssistantResponse";
/** The Q CLI's identity; the upstream serves CLI-origin requests from the CLI quota pool. */
const USER_AGENT =
  "aws-sdk-rust/1.3.9 ua/2.1 api/codewhispererstreaming/0.1.11582 os/macos lang/rust/1.87.0 md/appVersion-1.19.3 app/AmazonQ-For-CLI";
const AMZ_USER_AGENT =
  "aws-sdk-rust/1.3.9 ua/2.1 api/codewhispererstreaming/0.1.11582 os/macos lang/rust/1.87.0 m/F app/AmazonQ-For-CLI";

function randomId(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

type HeaderBuilder = (token: string, attempt: number) => Record<string, string>;

export class AmazonQChannel implements Channel {
  readonly type = "amazonq" as const;
  readonly #fetch: typeof fetch;
  readonly #tokens: TokenSource;
  readonly #apiEndpoint: string;
  readonly #mcpEndpoint: string;
  readonly #profileArn: string | undefined;
  readonly #signer: ThinkingSigner;
  readonly #estimator: TokenEstimator;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #maxServerRetries: number;
  readonly #timeouts: Partial<UpstreamTimeouts> | undefined;
  readonly #random: (() => number) | undefined;
  readonly #clients: UpstreamClients | undefined;

  constructor(options: AmazonQChannelOptions) {
    this.#fetch = options.fetch;
    this.#clients = options.clients;
    this.#tokens = options.tokens;
    this.#apiEndpoint = options.apiEndpoint;
    this.#mcpEndpoint = options.mcpEndpoint ?? new URL("/mcp", options.apiEndpoint).toString();
    this.#profileArn = options.profileArn;
    this.#signer = options.signer;
    this.#estimator = options.estimator;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#maxServerRetries = options.maxServerRetries ?? 2;
    this.#timeouts = options.timeouts;
    this.#random = options.random;
  }

  /** Claude's `web_search` server tool is answered through Amazon Q's MCP search, whatever the model. */
  claims(request: ClaudeRequest): boolean {
    return WebSearch.wanted(request);
  }

  async open(call: ChannelCall): Promise<ReadableStream<ClaudeStreamEvent>> {
    if (WebSearch.wanted(call.request)) return await this.#webSearch(call);
    const request = call.request;
    const profileArn = this.#profileArnOf(call.account);
    const body = JSON.stringify(claudeToAmazonQ(request, {
      conversationId: call.conversationId,
      modelId: call.upstreamModel,
      profileArn,
    }));
    // One invocation id per client request, reused across retries (as the AWS SDKs do).
    const invocationId = crypto.randomUUID();
    const response = await this.#send(call, this.#apiEndpoint, body, (token, attempt) => ({
      "authorization": `Bearer ${token}`,
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": TARGET,
      "user-agent": USER_AGENT,
      "x-amz-user-agent": AMZ_USER_AGENT,
      "x-amzn-codewhisperer-optout": "true",
      "amz-sdk-request": `attempt=${attempt}; max=${this.#maxServerRetries + 2}`,
      "amz-sdk-invocation-id": invocationId,
      "accept": "*/*",
    }), true);
    if (!response.body) {
      throw new UpstreamError("transient", "Amazon Q answered without a body", {
        provider: "amazonq",
        upstreamStatus: response.status,
      });
    }
    // Decoding and translation run as one chain: one pipe per upstream chunk instead of two.
    return response.body.pipeThrough(
      new StageChain<Uint8Array, ClaudeStreamEvent>([
        EventStreamDecoder.transformer(),
        AmazonQToClaude.transformer({
          messageId: call.messageId,
          model: request.model,
          inputTokens: call.inputTokens,
          sign: (thinking) => this.#signer.sign(thinking),
          countTokens: (text) => this.#estimator.count(text),
          stopSequences: request.stop_sequences,
          maxTokens: request.max_tokens,
          thinking: thinkingRequested(request),
          now: this.#now,
        }),
      ]),
    );
  }

  #profileArnOf(account: Account): string | undefined {
    const own = account.other.profileArn;
    return typeof own === "string" && own.length > 0 ? own : this.#profileArn;
  }

  async #webSearch(call: ChannelCall): Promise<ReadableStream<ClaudeStreamEvent>> {
    const query = WebSearch.query(call.request);
    const profileArn = this.#profileArnOf(call.account);
    const rpcId = `web_search_tooluse_${
      randomId(22, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    }_${this.#now()}_${randomId(8, "abcdefghijklmnopqrstuvwxyz0123456789")}`;
    const response = await this.#send(
      call,
      this.#mcpEndpoint,
      JSON.stringify(WebSearch.rpcBody(query, rpcId)),
      (token) => {
        const headers: Record<string, string> = {
          "authorization": `Bearer ${token}`,
          "content-type": "application/json",
          "accept": "*/*",
        };
        // Identity Center accounts need the profile on the MCP call too, or the call is refused.
        if (profileArn) headers["x-amzn-kiro-profile-arn"] = profileArn;
        return headers;
      },
      false,
    );
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (call.signal.aborted) throw call.signal.reason;
      throw new UpstreamError("transient", "Amazon Q web search answer was cut off", {
        provider: "amazonq",
        cause,
      });
    }
    const hits = WebSearch.parse(text);
    const events = WebSearch.events({
      messageId: call.messageId,
      model: call.request.model,
      inputTokens: call.inputTokens,
      query,
      toolUseId: `srvtoolu_${crypto.randomUUID().replaceAll("-", "")}`,
      hits,
      countTokens: (t) => this.#estimator.count(t),
    });
    return ReadableStream.from(events);
  }

  /**
   * POSTs until the upstream accepts: at most one forced token refresh, at most `maxServerRetries` retries
   * of 5xx / network failures; anything else is classified and thrown. Every refused body is consumed.
   */
  async #send(
    call: ChannelCall,
    url: string,
    body: string,
    headers: HeaderBuilder,
    eventStream: boolean,
  ): Promise<Response> {
    const { account, signal } = call;
    let token = await this.#tokens.accessToken(account, { signal });
    const client = this.#clients?.forAccount(account);
    const refused = new Set<string>();
    let refreshed = false;
    let serverRetries = 0;
    for (let attempt = 1;; attempt++) {
      let response: Response;
      try {
        response = await upstreamCall(url, { method: "POST", headers: headers(token, attempt), body }, {
          fetch: this.#fetch,
          provider: "amazonq",
          signal,
          timeouts: this.#timeouts,
          client,
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // A network failure (it has a cause) gets a short retry; a redirect or a time limit that passed
        // would only repeat on the same account, so the pool moves on at once.
        const network = error instanceof UpstreamError && error.cause !== undefined;
        if (network && serverRetries < this.#maxServerRetries) {
          serverRetries++;
          await this.#sleep(this.#backoff(serverRetries), signal);
          continue;
        }
        throw error;
      }
      const contentType = response.headers.get("content-type") ?? "";
      // A 200 that is not an event stream (a captive proxy's page, a JSON error from a gateway) would only
      // surface later as a decode error; classify it now, while the pool can still fail over.
      if (
        response.ok && (!eventStream || !/^(text\/html|application\/json|text\/plain)/i.test(contentType))
      ) {
        return response;
      }
      const status = response.status;
      const text = await readErrorBody(response);
      if (!refreshed && refused.size < MAX_TOKEN_RETRIES && isStaleTokenAnswer(status, text)) {
        // The token that was sent is declared stale. The source answers with the account's newer token
        // (then a refusal says nothing yet: a concurrent request renewed it, and it may have been revoked
        // too) or with one it refreshed (then a refusal means a refresh does not fix this account).
        refused.add(token);
        const next = await this.#tokens.renew(account, token, signal);
        if (!refused.has(next.token)) {
          token = next.token;
          refreshed = next.refreshed;
          continue;
        }
      }
      const error = classifyAmazonQError({
        status,
        type: response.headers.get("x-amzn-errortype") ?? undefined,
        body: text,
        retryAfterMs: retryAfterMs(response.headers, this.#now()),
        now: this.#now(),
      });
      if (status >= 500 && error.kind === "transient" && serverRetries < this.#maxServerRetries) {
        serverRetries++;
        await this.#sleep(this.#backoff(serverRetries), signal);
        continue;
      }
      throw error;
    }
  }

  /** Short exponential backoff with jitter: ~250 ms, ~500 ms, ~1 s ... */
  #backoff(retry: number): number {
    return backoff(retry, this.#random ? { random: this.#random } : {});
  }
}
