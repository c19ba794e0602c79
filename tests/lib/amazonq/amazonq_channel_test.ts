import assert from "node:assert/strict";
import { AmazonQChannel, type AmazonQChannelOptions } from "../../../lib/amazonq/amazonq_channel.ts";
import type { TokenSource } from "../../../lib/accounts/token_source.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { ThinkingSigner } from "../../../lib/claude/thinking_signer.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { TokenEstimator } from "../../../lib/usage/token_estimator.ts";
import {
  account,
  assertWellFormed,
  channelCall,
  claudeRequest,
  collect,
  concat,
  CountingTokens,
  eventFrame,
  eventStreamResponse,
  exceptionFrame,
  fakeServer,
  test,
  text,
} from "../../_helpers/amazonq_helpers.ts";

const estimator = new TokenEstimator();
const signer = new ThinkingSigner(new TextEncoder().encode("0123456789abcdef0123"));
const NOW = Date.UTC(2026, 4, 17, 12);

function channel(url: string, tokens: TokenSource, overrides: Partial<AmazonQChannelOptions> = {}) {
  return new AmazonQChannel({
    fetch: (input, init) => fetch(input, init),
    tokens,
    apiEndpoint: url,
    signer,
    estimator,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    ...overrides,
  });
}

const jsonError = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/x-amz-json-1.0", ...headers },
  });

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
  return error;
}

test("AmazonQChannel sends the RPC call and streams the answer", async () => {
  const server = fakeServer(() =>
    eventStreamResponse([
      eventFrame("initial-response", { conversationId: "c1" }),
      text("Hello"),
      text(" there"),
      eventFrame("metadataEvent", { tokenUsage: { uncachedInputTokens: 50, outputTokens: 2 } }),
    ], 7)
  );
  try {
    const tokens = new CountingTokens();
    const events = await collect(
      await channel(server.url, tokens, { profileArn: "arn:default" }).open(channelCall({
        account: account({ other: { profileArn: "arn:aws:codewhisperer:us-east-1:1:profile/X" } }),
      })),
    );
    assertWellFormed(events);
    const message = await MessageCollector.collect(ReadableStream.from(events));
    assert.equal(message.id, "msg_01");
    assert.equal(message.model, "claude-sonnet-4-5");
    assert.deepEqual(message.content, [{ type: "text", text: "Hello there" }]);
    assert.equal(message.usage.input_tokens, 50);
    assert.equal(server.requests.length, 1);
    const [req] = server.requests;
    assert.equal(
      req!.headers.get("x-amz-target"),
      "AmazonCodeWhispererStreamingService.GenerateAssistantResponse",
    );
    assert.equal(req!.headers.get("content-type"), "application/x-amz-json-1.0");
    assert.equal(req!.headers.get("authorization"), "Bearer token-1");
    const body = JSON.parse(req!.body);
    assert.equal(body.profileArn, "arn:aws:codewhisperer:us-east-1:1:profile/X");
    assert.equal(body.conversationState.conversationId, "11111111-2222-3333-4444-555555555555");
    assert.equal(body.conversationState.currentMessage.userInputMessage.modelId, "claude-sonnet-4.5");
    assert.equal(body.conversationState.currentMessage.userInputMessage.content, "hello");
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel refreshes once on a 403 expired token, then succeeds", async () => {
  const server = fakeServer((i) =>
    i === 0
      ? jsonError(403, {
        __type: "AccessDeniedException",
        message: "The bearer token included in the request is invalid.",
      })
      : eventStreamResponse([text("ok")])
  );
  try {
    const tokens = new CountingTokens();
    const message = await MessageCollector.collect(await channel(server.url, tokens).open(channelCall()));
    assert.deepEqual(message.content, [{ type: "text", text: "ok" }]);
    assert.equal(tokens.forced, 1);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0]!.headers.get("authorization"), "Bearer token-1");
    assert.equal(server.requests[1]!.headers.get("authorization"), "Bearer token-2");
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel does not loop on 401/403: exactly two upstream calls", async () => {
  for (const statuses of [[403, 403], [401, 403], [401, 401]]) {
    const server = fakeServer((i) =>
      jsonError(statuses[i] ?? 500, { __type: "AccessDeniedException", message: "denied" })
    );
    try {
      const tokens = new CountingTokens();
      const error = await rejection(channel(server.url, tokens).open(channelCall()));
      assert.equal(error.kind, "auth");
      assert.equal(server.requests.length, 2);
      assert.equal(tokens.forced, 1);
      assert.ok(!error.message.includes("token-"), "no token in the message");
    } finally {
      await server.shutdown();
    }
  }
});

test("AmazonQChannel classifies a suspended account without refreshing", async () => {
  const server = fakeServer(() =>
    jsonError(403, {
      __type: "AccessDeniedException",
      message: "Account suspended",
      reason: "TEMPORARILY_SUSPENDED",
    })
  );
  try {
    const tokens = new CountingTokens();
    const error = await rejection(channel(server.url, tokens).open(channelCall()));
    assert.equal(error.kind, "suspended");
    assert.equal(tokens.forced, 0);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: a permission 403 is not retried with a refreshed token", async () => {
  const server = fakeServer(() =>
    jsonError(403, {
      __type: "AccessDeniedException",
      message: "not allowed",
      reason: "FEATURE_NOT_SUPPORTED",
    })
  );
  try {
    const tokens = new CountingTokens();
    const error = await rejection(channel(server.url, tokens).open(channelCall()));
    assert.equal(error.kind, "auth");
    assert.equal(tokens.forced, 0);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: a 200 that is not an event stream is classified before the stream starts", async () => {
  const server = fakeServer(() =>
    new Response("<html>gateway</html>", { headers: { "content-type": "text/html" } })
  );
  try {
    const error = await rejection(
      channel(server.url, new CountingTokens(), { maxServerRetries: 0 }).open(channelCall()),
    );
    assert.equal(error.kind, "transient");
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: 429 with retry-after is throttled", async () => {
  const server = fakeServer(() =>
    jsonError(429, { __type: "com.amazon.aws.codewhisperer#ThrottlingException", message: "Too many" }, {
      "retry-after": "7",
    })
  );
  try {
    const error = await rejection(channel(server.url, new CountingTokens()).open(channelCall()));
    assert.equal(error.kind, "throttled");
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(error.upstreamStatus, 429);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: monthly quota (any status) is quota_exhausted until the next UTC month", async () => {
  const bodies: Array<[number, Record<string, unknown>]> = [
    [402, { __type: "ServiceQuotaExceededException", message: "limit", reason: "MONTHLY_REQUEST_COUNT" }],
    [400, {
      __type: "ThrottlingException",
      message: "Maximum Request reached for this month.",
      reason: "MONTHLY_REQUEST_COUNT",
    }],
    [429, {
      __type: "ThrottlingException",
      message: "Maximum Request reached for this month.",
      reason: "MONTHLY_REQUEST_COUNT",
    }],
  ];
  for (const [status, body] of bodies) {
    const server = fakeServer(() => jsonError(status, body));
    try {
      const error = await rejection(channel(server.url, new CountingTokens()).open(channelCall()));
      assert.equal(error.kind, "quota_exhausted", `status ${status}`);
      assert.equal(error.resetAt, Date.UTC(2026, 5, 1));
    } finally {
      await server.shutdown();
    }
  }
});

test("AmazonQChannel: context overflow is a context_overflow starting 'prompt is too long'", async () => {
  const server = fakeServer(() =>
    jsonError(400, {
      __type: "ValidationException",
      message: "Input content length exceeds threshold",
      reason: "CONTENT_LENGTH_EXCEEDS_THRESHOLD",
    })
  );
  try {
    const error = await rejection(channel(server.url, new CountingTokens()).open(channelCall()));
    assert.equal(error.kind, "context_overflow");
    assert.match(error.message, /^prompt is too long/);
    assert.equal(error.clientError().status, 400);
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: other 400s are client errors, not retried", async () => {
  const server = fakeServer(() =>
    jsonError(400, { __type: "ValidationException", message: "Improperly formed request." })
  );
  try {
    const error = await rejection(channel(server.url, new CountingTokens()).open(channelCall()));
    assert.equal(error.kind, "client");
    assert.equal(server.requests.length, 1);
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel retries 5xx a bounded number of times with backoff", async () => {
  const sleeps: number[] = [];
  const server = fakeServer((i) =>
    i < 2
      ? jsonError(500, { __type: "InternalServerException", message: "boom" })
      : eventStreamResponse([text("fine")])
  );
  try {
    const open = channel(server.url, new CountingTokens(), {
      sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    });
    const message = await MessageCollector.collect(await open.open(channelCall()));
    assert.deepEqual(message.content, [{ type: "text", text: "fine" }]);
    assert.equal(server.requests.length, 3);
    assert.equal(sleeps.length, 2);
    assert.ok(sleeps[0]! < sleeps[1]!);
  } finally {
    await server.shutdown();
  }
  const down = fakeServer(() => jsonError(503, { __type: "ServiceUnavailableException", message: "down" }));
  try {
    const error = await rejection(
      channel(down.url, new CountingTokens(), { maxServerRetries: 2 }).open(channelCall()),
    );
    assert.equal(error.kind, "transient");
    assert.equal(down.requests.length, 3);
  } finally {
    await down.shutdown();
  }
});

test("AmazonQChannel: a network failure becomes transient after bounded retries", async () => {
  let calls = 0;
  const failing: typeof fetch = () => {
    calls++;
    return Promise.reject(new TypeError("connection refused"));
  };
  const error = await rejection(
    channel("http://127.0.0.1:9/", new CountingTokens(), { fetch: failing, maxServerRetries: 1 }).open(
      channelCall(),
    ),
  );
  assert.equal(error.kind, "transient");
  assert.equal(calls, 2);
});

test("AmazonQChannel: an exception frame mid-stream errors the stream with a classified error", async () => {
  const server = fakeServer(() =>
    eventStreamResponse([text("partial "), exceptionFrame("ThrottlingException", { message: "slow down" })])
  );
  try {
    const stream = await channel(server.url, new CountingTokens()).open(channelCall());
    const error = await MessageCollector.collect(stream).then(() => null, (e) => e);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.kind, "throttled");
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: an upstream disconnect mid-frame is an error, never a complete answer", async () => {
  const bytes = concat([text("Hello"), text(" and the rest of a long answer")]);
  const partial = bytes.subarray(0, bytes.length - 10);
  // A raw socket, so the connection really drops in the middle of a chunked body.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(64 * 1024);
    let request = "";
    while (!/\r\n\r\n[\s\S]*\}\s*$/.test(request)) {
      const n = await conn.read(buffer);
      if (n === null) break;
      request += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n" +
      `transfer-encoding: chunked\r\n\r\n${bytes.length.toString(16)}\r\n`;
    await conn.write(concat([new TextEncoder().encode(head), partial]));
    conn.close();
  })();
  try {
    const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`;
    const stream = await channel(url, new CountingTokens()).open(channelCall());
    const events: string[] = [];
    const error = await (async () => {
      try {
        for await (const e of stream) events.push(e.type);
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(error instanceof Error, "the stream errored");
    assert.ok(!events.includes("message_stop"));
    assert.ok(!events.includes("message_delta"));
  } finally {
    await served;
    listener.close();
  }
});

test("AmazonQChannel: a client abort cancels the upstream request", async () => {
  const { promise: upstreamSawAbort, resolve } = Promise.withResolvers<string>();
  const server = fakeServer((_i, request) => {
    request.signal.addEventListener("abort", () => resolve("request signal aborted"));
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(text("first"));
        },
        cancel() {
          resolve("response body cancelled");
        },
      }),
      { headers: { "content-type": "application/vnd.amazon.eventstream" } },
    );
  });
  try {
    const client = new AbortController();
    const stream = await channel(server.url, new CountingTokens()).open(
      channelCall({ signal: client.signal }),
    );
    const reader = stream.getReader();
    const types: string[] = [];
    while (!types.includes("content_block_delta")) {
      const { value } = await reader.read();
      types.push(value!.type);
    }
    client.abort(new DOMException("client went away", "AbortError"));
    await assert.rejects(reader.read());
    assert.ok(await upstreamSawAbort);
  } finally {
    await server.shutdown();
  }
});

const webSearchRequest = (query = "Perform a web search for the query: deno 2 release") =>
  claudeRequest({
    messages: [{ role: "user", content: [{ type: "text", text: query }] }],
    tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 8 } as never],
  });

test("AmazonQChannel answers web search through MCP with Anthropic-shaped blocks", async () => {
  const results = {
    results: [
      {
        title: "Deno 2",
        url: "https://deno.com/blog/v2",
        snippet: "Deno 2 is here",
        publishedDate: "2024-10-09",
      },
      { title: "Other", url: "https://example.com", snippet: "x".repeat(300) },
    ],
    totalResults: 2,
  };
  const server = fakeServer((_i, _req, body) => {
    const rpc = JSON.parse(body);
    return Response.json({
      jsonrpc: "2.0",
      id: rpc.id,
      result: { content: [{ type: "text", text: JSON.stringify(results) }] },
    });
  });
  try {
    const events = await collect(
      await channel(server.url, new CountingTokens()).open(channelCall({
        request: webSearchRequest(),
        account: account({ other: { profileArn: "arn:p" } }),
      })),
    );
    const message = await MessageCollector.collect(ReadableStream.from(events));
    assert.equal(server.requests[0]!.path, "/mcp");
    assert.equal(server.requests[0]!.headers.get("x-amzn-kiro-profile-arn"), "arn:p");
    const rpc = JSON.parse(server.requests[0]!.body);
    assert.equal(rpc.method, "tools/call");
    assert.deepEqual(rpc.params, { name: "web_search", arguments: { query: "deno 2 release" } });
    assert.match(rpc.id, /^web_search_tooluse_[A-Za-z0-9]{22}_\d+_[a-z0-9]{8}$/);
    const [use, result, summary] = message.content as Array<Record<string, unknown>>;
    assert.equal(use!.type, "server_tool_use");
    assert.match(String(use!.id), /^srvtoolu_[0-9a-f]{32}$/);
    assert.deepEqual(use!.input, { query: "deno 2 release" });
    assert.equal(result!.type, "web_search_tool_result");
    assert.equal(result!.tool_use_id, use!.id);
    assert.deepEqual((result!.content as unknown[])[0], {
      type: "web_search_result",
      title: "Deno 2",
      url: "https://deno.com/blog/v2",
      encrypted_content: "Deno 2 is here",
      page_age: "2024-10-09",
    });
    assert.equal(summary!.type, "text");
    assert.match(String(summary!.text), /deno 2 release[\s\S]*Deno 2[\s\S]*https:\/\/deno\.com\/blog\/v2/);
    assert.match(String(summary!.text), /x{200}\.\.\./);
    assert.equal(message.stop_reason, "end_turn");
  } finally {
    await server.shutdown();
  }
});

test("AmazonQChannel: a web search failure is an UpstreamError, never 'no results'", async () => {
  const rpcError = fakeServer(() =>
    Response.json({ jsonrpc: "2.0", id: "x", error: { code: -32000, message: "search backend down" } })
  );
  try {
    const error = await rejection(
      channel(rpcError.url, new CountingTokens()).open(channelCall({ request: webSearchRequest() })),
    );
    assert.match(error.message, /search backend down/);
  } finally {
    await rpcError.shutdown();
  }
  const garbage = fakeServer(() =>
    Response.json({ jsonrpc: "2.0", id: "x", result: { content: [{ type: "text", text: "oops" }] } })
  );
  try {
    await rejection(
      channel(garbage.url, new CountingTokens()).open(channelCall({ request: webSearchRequest() })),
    );
  } finally {
    await garbage.shutdown();
  }
  const http = fakeServer(() => jsonError(500, { message: "internal" }));
  try {
    const error = await rejection(
      channel(http.url, new CountingTokens(), { maxServerRetries: 0 }).open(
        channelCall({ request: webSearchRequest() }),
      ),
    );
    assert.equal(error.kind, "transient");
  } finally {
    await http.shutdown();
  }
});
