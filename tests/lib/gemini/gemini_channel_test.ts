import assert from "node:assert/strict";
import type { ChannelCall } from "../../../lib/accounts/channel.ts";
import type { AccessTokenOptions, RenewedToken, TokenSource } from "../../../lib/accounts/token_source.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { GeminiChannel } from "../../../lib/gemini/gemini_channel.ts";
import { geminiSessionId } from "../../../lib/gemini/request_converter.ts";
import type { Account } from "../../../lib/store/types.ts";
import {
  chunk,
  claudeRequest,
  fakeServer,
  geminiAccount,
  jsonResponse,
  sse,
  sseResponse,
} from "../../_helpers/gemini_helpers.ts";

const NOW = Date.parse("2025-06-01T00:00:00Z");

class FakeTokens implements TokenSource {
  calls: Array<{ staleToken: string | undefined }> = [];
  #tokens: string[];
  constructor(...tokens: string[]) {
    this.#tokens = tokens;
  }
  accessToken(_account: Account, options?: AccessTokenOptions): Promise<string> {
    this.calls.push({ staleToken: options?.staleToken });
    return Promise.resolve(this.#tokens[Math.min(this.calls.length - 1, this.#tokens.length - 1)]!);
  }
  async renew(account: Account, staleToken: string): Promise<RenewedToken> {
    return { token: await this.accessToken(account, { staleToken }), refreshed: true };
  }
}

function call(endpoint: string, signal = new AbortController().signal, stream = true): ChannelCall {
  return {
    request: claudeRequest({ stream, messages: [{ role: "user", content: "hi" }] }),
    upstreamModel: "gemini-3-pro-high",
    account: geminiAccount({ api_endpoint: endpoint }),
    messageId: "msg_chan01",
    conversationId: "conv-xyz",
    inputTokens: 9,
    clientHeaders: {},
    signal,
  };
}

function channel(tokens: TokenSource): GeminiChannel {
  return new GeminiChannel({
    fetch: globalThis.fetch,
    tokens,
    apiEndpoint: "http://127.0.0.1:1",
    userAgent: "antigravity/test",
    now: () => NOW,
  });
}

const OK_STREAM = sse(chunk([{ text: "Hello" }])) +
  sse(
    chunk([{ text: " there" }], {
      finishReason: "STOP",
      usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 2 },
    }),
  );

Deno.test("GeminiChannel streams a request and collects it for stream:false", async () => {
  const server = fakeServer(() => sseResponse(OK_STREAM));
  try {
    const tokens = new FakeTokens("tok-1");
    const events = await channel(tokens).open(call(server.url + "/", undefined, false));
    const message = await MessageCollector.collect(events);
    assert.deepEqual(message.content, [{ type: "text", text: "Hello there" }]);
    assert.equal(message.stop_reason, "end_turn");
    assert.equal(message.usage.input_tokens, 7);
    const req = server.requests[0]!;
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/v1internal:streamGenerateContent?alt=sse");
    assert.equal(req.headers.get("authorization"), "Bearer tok-1");
    assert.equal(req.headers.get("user-agent"), "antigravity/test");
    const body = JSON.parse(req.body);
    assert.equal(body.project, "proj-123");
    assert.equal(body.model, "gemini-3-pro-high");
    assert.equal(body.request.sessionId, geminiSessionId("conv-xyz"));
    assert.match(body.requestId, /^agent-/);
    assert.deepEqual(tokens.calls, [{ staleToken: undefined }]);
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel classifies 429 with RetryInfo as throttled before the first byte", async () => {
  const server = fakeServer(() =>
    jsonResponse({
      error: {
        code: 429,
        message: "Resource has been exhausted (e.g. check quota).",
        status: "RESOURCE_EXHAUSTED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "RATE_LIMIT_EXCEEDED",
            domain: "cloudcode-pa.googleapis.com",
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "12.5s" },
        ],
      },
    }, 429)
  );
  try {
    await assert.rejects(channel(new FakeTokens("t")).open(call(server.url)), (error: unknown) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "throttled");
      assert.equal(error.retryAfterMs, 12_500);
      assert.equal(error.upstreamStatus, 429);
      assert.equal(error.clientError().status, 429);
      return true;
    });
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel classifies an exhausted quota with its reset time", async () => {
  const server = fakeServer(() =>
    jsonResponse({
      error: {
        code: 429,
        message: "You have exhausted your capacity on this model.",
        status: "RESOURCE_EXHAUSTED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "QUOTA_EXHAUSTED",
            metadata: { quotaResetTimeStamp: "2025-06-01T05:00:00Z", quotaResetDelay: "5h" },
          },
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [{ quotaId: "RequestsPerDayPerUser" }],
          },
        ],
      },
    }, 429)
  );
  try {
    await assert.rejects(channel(new FakeTokens("t")).open(call(server.url)), (error: unknown) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "quota_exhausted");
      assert.equal(error.resetAt, Date.parse("2025-06-01T05:00:00Z"));
      return true;
    });
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel refreshes once after a 401 and succeeds", async () => {
  const server = fakeServer((req) =>
    req.headers.get("authorization") === "Bearer fresh" ? sseResponse(OK_STREAM) : jsonResponse({
      error: {
        code: 401,
        status: "UNAUTHENTICATED",
        message: "Request had invalid authentication credentials.",
      },
    }, 401)
  );
  try {
    const tokens = new FakeTokens("stale", "fresh");
    const message = await MessageCollector.collect(await channel(tokens).open(call(server.url)));
    assert.equal(message.content[0]!.text, "Hello there");
    assert.deepEqual(tokens.calls, [{ staleToken: undefined }, { staleToken: "stale" }]);
    assert.equal(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel gives up after one refresh when the token is still refused", async () => {
  const server = fakeServer(() =>
    jsonResponse({ error: { code: 401, status: "UNAUTHENTICATED", message: "no" } }, 401)
  );
  try {
    const tokens = new FakeTokens("a", "b", "c");
    await assert.rejects(
      channel(tokens).open(call(server.url)),
      (e: unknown) => e instanceof UpstreamError && e.kind === "auth",
    );
    assert.equal(tokens.calls.length, 2);
    assert.equal(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel maps 5xx to transient and 400 to client", async () => {
  let status = 503;
  const server = fakeServer(() =>
    jsonResponse({ error: { code: status, message: "bad", status: "X" } }, status)
  );
  try {
    await assert.rejects(
      channel(new FakeTokens("t")).open(call(server.url)),
      (e: unknown) => e instanceof UpstreamError && e.kind === "transient",
    );
    status = 400;
    await assert.rejects(
      channel(new FakeTokens("t")).open(call(server.url)),
      (e: unknown) => e instanceof UpstreamError && e.kind === "client",
    );
  } finally {
    await server.close();
  }
});

Deno.test("GeminiChannel rejects an immediate error chunk and an empty 200", async () => {
  let body = sse({ error: { code: 503, status: "UNAVAILABLE", message: "The model is overloaded." } });
  const server = fakeServer(() => sseResponse(body));
  try {
    await assert.rejects(channel(new FakeTokens("t")).open(call(server.url)), (e: unknown) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.kind, "transient");
      assert.equal(e.upstreamStatus, 503);
      return true;
    });
    body = "";
    await assert.rejects(
      channel(new FakeTokens("t")).open(call(server.url)),
      (e: unknown) => e instanceof UpstreamError && e.kind === "transient",
    );
  } finally {
    await server.close();
  }
});

for (const mode of ["abort signal", "stream cancel"] as const) {
  Deno.test(`GeminiChannel cancels the upstream request on client ${mode}`, async () => {
    const upstreamCancelled = Promise.withResolvers<void>();
    const server = fakeServer(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(sse(chunk([{ text: "first" }]))));
          // ... and then nothing: the client has to go away.
        },
        cancel() {
          // Deno.serve cancels the response body when the client's connection goes away.
          upstreamCancelled.resolve();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    });
    try {
      const abort = new AbortController();
      const events = await channel(new FakeTokens("t")).open(call(server.url, abort.signal));
      const reader = events.getReader();
      assert.equal((await reader.read()).value?.type, "message_start");
      assert.equal((await reader.read()).value?.type, "content_block_start");
      if (mode === "abort signal") {
        abort.abort(new Error("client went away"));
        await assert.rejects(async () => {
          while (!(await reader.read()).done) { /* drain */ }
        });
      } else {
        await reader.cancel();
      }
      const timer = setTimeout(() => upstreamCancelled.reject(new Error("upstream was not cancelled")), 5000);
      await upstreamCancelled.promise.finally(() => clearTimeout(timer));
    } finally {
      await server.close();
    }
  });
}

Deno.test("GeminiChannel refuses an account without a project", async () => {
  const tokens = new FakeTokens("t");
  const c = call("http://127.0.0.1:1");
  const noProject = { ...c, account: geminiAccount({ project: undefined }) };
  await assert.rejects(
    channel(tokens).open(noProject),
    (e: unknown) => e instanceof UpstreamError && e.kind === "auth",
  );
  assert.equal(tokens.calls.length, 0);
});
