/**
 * Shared pieces of the client-key limit tests: a fake OpenAI-format upstream that reports the usage a test
 * chooses (and can hold answers until released, to keep requests in flight), an app with one custom
 * account on it, and small request helpers.
 */
import assert from "node:assert/strict";
import type { ClientKeySettings } from "../../../lib/store/types.ts";
import { json, makeTestApp, type TestApp, type TestAppOptions } from "../../_helpers/test_app.ts";

export interface FakeUpstream {
  url: string;
  /** User texts in the order requests reached the upstream. */
  seen: string[];
  /** Requests being answered right now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
  /** While set, answers wait until `open()` is called. */
  hold(): void;
  open(): void;
  stop(): Promise<void>;
}

export function fakeUpstream(usage: { prompt: number; completion: number }): FakeUpstream {
  let gate: { promise: Promise<void>; resolve: () => void } | null = null;
  const state: FakeUpstream = {
    url: "",
    seen: [],
    inFlight: 0,
    maxInFlight: 0,
    hold() {
      gate = Promise.withResolvers<void>();
    },
    open() {
      gate?.resolve();
      gate = null;
    },
    stop: () => Promise.resolve(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    const last = body.messages?.at(-1)?.content;
    state.seen.push(typeof last === "string" ? last : JSON.stringify(last));
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (gate) await gate.promise;
    } finally {
      state.inFlight--;
    }
    const chunks = [
      { choices: [{ index: 0, delta: { role: "assistant", content: "Hel" } }] },
      { choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "stop" }] },
      {
        choices: [],
        usage: {
          prompt_tokens: usage.prompt,
          completion_tokens: usage.completion,
          total_tokens: usage.prompt + usage.completion,
        },
      },
    ];
    const text = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    return new Response(text, { headers: { "content-type": "text/event-stream" } });
  });
  state.url = `http://127.0.0.1:${server.addr.port}/v1`;
  state.stop = () => server.shutdown();
  return state;
}

export const API_KEY = "sk-configured-key-0001";

/** An app with `API_KEY` set and one custom OpenAI-format account on `upstream`. */
export async function keyApp(upstream: FakeUpstream, options: TestAppOptions = {}): Promise<TestApp> {
  const t = makeTestApp({ ...options, env: { API_KEY, CACHE_STALENESS_MS: "0", ...options.env } });
  await t.store.accounts.create({
    type: "custom_api",
    clientSecret: "sk-test",
    other: { api_base: upstream.url, format: "openai" },
  });
  return t;
}

/** Creates a stored key with the given rules; returns its plain secret and id. */
export async function storedKey(
  t: TestApp,
  settings: Partial<ClientKeySettings>,
): Promise<{ key: string; id: string }> {
  const { key, record } = await t.deps.clientKeys.create("test", settings);
  return { key, id: record.id };
}

export function message(text = "hi", model = "claude-sonnet-4-6", stream = false): Record<string, unknown> {
  return { model, max_tokens: 32, stream, messages: [{ role: "user", content: text }] };
}

/** POST /v1/messages with a key; the response with its body read (JSON or text). */
export async function ask(
  t: TestApp,
  key: string,
  body: Record<string, unknown> = message(),
  path = "/v1/messages",
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const response = await t.request(path, json(body, { "x-api-key": key }));
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Waits (bounded) until the key's settlements have reached the store. */
export async function settled(t: TestApp, keyId: string, tokens: (n: number) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const windows = [{ kind: "day" as const, start: dayStart(t.clock.t) }];
    const [day] = await t.store.keyWindows.read(keyId, windows);
    if (tokens(day!.tokens)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail("the key's usage never settled");
}

export function dayStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
