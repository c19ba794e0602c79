/**
 * Shared pieces of the account-pool tests: scripted fake upstreams on 127.0.0.1:0 that tell accounts apart
 * (custom OpenAI-format accounts by their API key, Amazon Q accounts by their bearer token), account
 * builders that write straight to the store, and a small Messages client for `makeTestApp`.
 */
import { eventFrame, eventStreamResponse, text } from "./amazonq_helpers.ts";
import { json, type TestApp } from "./test_app.ts";
import type { Account, NewAccount } from "../../lib/store/types.ts";

export { seeded } from "./amazonq_helpers.ts";

/** One request a fake upstream saw. */
export interface Seen {
  path: string;
  /** The API key or bearer token the request carried. */
  key: string;
  body: Record<string, unknown>;
  at: number;
}

export interface Fake {
  url: string;
  seen: Seen[];
  /** Requests seen per key. */
  count(key: string): number;
  close(): Promise<void>;
}

type Script = (seen: Seen, request: Request) => Response | Promise<Response> | undefined;

function serve(script: Script, fallback: (seen: Seen) => Response | Promise<Response>): Fake {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const raw = await request.text();
    let body: Record<string, unknown> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      body = { raw };
    }
    const key = request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ??
      request.headers.get("x-api-key") ?? "";
    const entry: Seen = { path: new URL(request.url).pathname, key, body, at: performance.now() };
    seen.push(entry);
    return (await script(entry, request)) ?? (await fallback(entry));
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    count: (key) => seen.filter((s) => s.key === key).length,
    close: () => server.shutdown(),
  };
}

/** A successful OpenAI chat-completions stream whose text names the key that was used. */
export function openAIOk(key: string, delayMs = 0): Response | Promise<Response> {
  const chunks = [
    { choices: [{ index: 0, delta: { role: "assistant", content: `ok:${key}` } }] },
    { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    { choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
  ];
  const body = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
  const response = () => new Response(body, { headers: { "content-type": "text/event-stream" } });
  return delayMs > 0 ? new Promise((r) => setTimeout(() => r(response()), delayMs)) : response();
}

export function openAIFailure(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: { message, type: "error", param: null, code: null } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A fake OpenAI-format upstream; `script` may answer a request, otherwise it succeeds. */
export function fakeOpenAI(script: Script = () => undefined): Fake {
  return serve(script, (seen) => openAIOk(seen.key));
}

/**
 * A fake Amazon Q: `POST /token` is the SSO-OIDC refresh (answered by `refresh`, default: a new token
 * `at-<refreshToken>-<n>` valid for an hour), anything else is `GenerateAssistantResponse` (answered by
 * `script`, default: a short event stream naming the bearer token).
 */
export function fakeAmazonQ(
  options: {
    script?: Script;
    refresh?: (body: Record<string, unknown>, n: number) => Response | Promise<Response>;
  } = {},
): Fake & { refreshes: Array<Record<string, unknown>> } {
  const refreshes: Array<Record<string, unknown>> = [];
  const fake = serve((seen, request) => {
    if (seen.path === "/token") {
      refreshes.push(seen.body);
      const n = refreshes.length;
      if (options.refresh) return options.refresh(seen.body, n);
      return Response.json({ accessToken: `at-${seen.body.refreshToken}-${n}`, expiresIn: 3600 });
    }
    return options.script?.(seen, request);
  }, (seen) => amazonQOk(`ok:${seen.key}`));
  return Object.assign(fake, { refreshes });
}

export function amazonQOk(answer: string): Response {
  return eventStreamResponse([
    eventFrame("assistantResponseEvent", { content: answer }),
    eventFrame("metadataEvent", { tokenUsage: { uncachedInputTokens: 5, outputTokens: 2 } }),
  ]);
}

export { text };

/** An Amazon Q error answer as the AWS JSON protocol sends it. */
export function amazonQFailure(status: number, type: string, message: string, reason?: string): Response {
  return new Response(JSON.stringify({ __type: type, message, ...(reason ? { reason } : {}) }), {
    status,
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": type },
  });
}

/** Creates an account in the store (the pool sees it at once: the store announces the write). */
export async function addAccount(t: TestApp, input: NewAccount): Promise<Account> {
  return await t.store.accounts.create(input);
}

/** A custom OpenAI-format account whose API key is `key`, served by `fake`. */
export function addCustom(
  t: TestApp,
  fake: Fake,
  key: string,
  extra: Partial<NewAccount> = {},
): Promise<Account> {
  return addAccount(t, {
    type: "custom_api",
    label: key,
    clientSecret: key,
    other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-x" },
    rate_limit_per_hour: 0,
    ...extra,
  });
}

/** An Amazon Q (SSO-OIDC) account with a usable token `accessToken`. */
export function addAmazonQ(t: TestApp, name: string, extra: Partial<NewAccount> = {}): Promise<Account> {
  return addAccount(t, {
    type: "amazonq",
    label: name,
    clientId: `cid-${name}`,
    clientSecret: `cs-${name}`,
    refreshToken: `rt-${name}`,
    accessToken: `at-${name}`,
    tokenExpiresAt: null,
    other: {},
    rate_limit_per_hour: 0,
    ...extra,
  });
}

/** Env pointing the Amazon Q backend at a fake. */
export function amazonQEnv(fake: Fake): Record<string, string> {
  return { AMAZONQ_API_ENDPOINT: `${fake.url}/`, AMAZONQ_TOKEN_ENDPOINT: `${fake.url}/token` };
}

/** A non-streamed Messages call; `text` is the (first) user turn. */
export function ask(
  t: TestApp,
  prompt: string,
  options: { model?: string; headers?: Record<string, string>; messages?: unknown[]; stream?: boolean } = {},
): Promise<Response> {
  return t.request(
    "/v1/messages",
    json({
      model: options.model ?? "gpt-x",
      max_tokens: 64,
      stream: options.stream ?? false,
      messages: options.messages ?? [{ role: "user", content: prompt }],
    }, options.headers ?? {}),
  );
}

/** The text of a non-streamed Messages answer (asserts 200 through the caller). */
export async function answerText(response: Response): Promise<string> {
  const body = await response.json();
  if (response.status !== 200) throw new Error(`status ${response.status}: ${JSON.stringify(body)}`);
  return (body.content as Array<{ type: string; text?: string }>).map((b) => b.text ?? "").join("");
}

/** Lets fire-and-forget bookkeeping (usage and call records after a stream ends) finish. */
export function settle(ms = 20): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
