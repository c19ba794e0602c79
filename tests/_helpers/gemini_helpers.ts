/** Shared bits of the Gemini tests: request building, fake Google servers, stream helpers. */
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ClaudeStreamEvent } from "../../lib/claude/events.ts";
import { normalizeClaudeRequest } from "../../lib/claude/normalize_request.ts";
import { type ClaudeRequest, messagesRequestSchema } from "../../lib/claude/request_schema.ts";
import { GeminiToClaude, type GeminiToClaudeOptions } from "../../lib/gemini/gemini_to_claude.ts";
import type { Account } from "../../lib/store/types.ts";
import { accountFixture } from "./account_fixture.ts";

/** Validates and normalizes a Messages body the way the route does. */
export function claudeRequest(body: Record<string, unknown>): ClaudeRequest {
  return normalizeClaudeRequest(
    messagesRequestSchema.parse({ model: "claude-sonnet-4-5", max_tokens: 1024, ...body }),
  );
}

/** One Code Assist SSE message, CRLF framed as Google's front end sends it. */
export function sse(payload: unknown, eol = "\r\n"): string {
  return `data: ${JSON.stringify(payload)}${eol}${eol}`;
}

/** A Code Assist chunk `{response:{candidates:[...], usageMetadata}}`. */
export function chunk(
  parts: unknown[],
  extra: { finishReason?: string; usageMetadata?: Record<string, number> } = {},
): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { role: "model", parts }, index: 0 };
  if (extra.finishReason) candidate.finishReason = extra.finishReason;
  const response: Record<string, unknown> = { candidates: [candidate], responseId: "resp-1" };
  if (extra.usageMetadata) response.usageMetadata = extra.usageMetadata;
  return { response, traceId: "trace-1" };
}

export const STAGE_OPTIONS: GeminiToClaudeOptions = {
  messageId: "msg_test01",
  model: "claude-sonnet-4-5",
  inputTokens: 42,
  now: () => 1_000_000,
};

/** Runs raw bytes, cut into the given pieces, through decoder + SSE parser + stage. */
export async function runStage(
  pieces: Uint8Array[],
  options: GeminiToClaudeOptions = STAGE_OPTIONS,
): Promise<{ events: ClaudeStreamEvent[]; error?: unknown }> {
  const source = ReadableStream.from(pieces);
  const events: ClaudeStreamEvent[] = [];
  try {
    const stream = source
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .pipeThrough(new GeminiToClaude(options));
    for await (const event of stream) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A started `Deno.serve` on 127.0.0.1 with a random port. */
export interface FakeServer {
  url: string;
  requests: Array<{ method: string; path: string; headers: Headers; body: string }>;
  close(): Promise<void>;
}

export function fakeServer(
  handler: (req: Request, body: string, path: string) => Response | Promise<Response>,
): FakeServer {
  const requests: FakeServer["requests"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = req.method === "GET" ? "" : await req.text();
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    requests.push({ method: req.method, path, headers: req.headers, body });
    return await handler(req, body, path);
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function sseResponse(text: string): Response {
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}

export function geminiAccount(
  other: Record<string, unknown> = {},
  overrides: Partial<Account> = {},
): Account {
  return accountFixture({
    label: "Gemini test",
    type: "gemini",
    clientId: "client-id",
    clientSecret: "client-secret",
    refreshToken: "refresh-1",
    accessToken: "access-1",
    other: { project: "proj-123", ...other },
    created_at: "2025-01-01T00:00:00",
    updated_at: "2025-01-01T00:00:00",
    ...overrides,
  });
}

/** Scripted behaviour of the fake Google OAuth + Code Assist server. */
export interface FakeGoogleScript {
  /** Token exchange: code -> response body (status 200) or [status, body]. */
  codes: Record<string, unknown>;
  /** Refresh grant: refresh token -> response body or [status, body]. */
  refreshes: Record<string, unknown>;
  /** loadCodeAssist answer per access token. */
  load: Record<string, unknown>;
  /** Polls before the onboarding operation reports done. */
  onboardPolls: number;
  /** fetchAvailableModels answer, or a status to fail with. */
  models: unknown;
  /** userinfo e-mail per access token (absent: 401). */
  userinfo?: Record<string, string>;
}

/** A fake of Google's token endpoint and the Code Assist account calls, speaking their JSON formats. */
export function fakeGoogle(script: FakeGoogleScript): FakeServer & { script: FakeGoogleScript } {
  let polls = 0;
  const answer = (value: unknown) =>
    Array.isArray(value)
      ? jsonResponse(value[1], value[0] as number)
      : jsonResponse(value ?? { error: "unknown" }, value ? 200 : 400);
  const server = fakeServer((req, body, path) => {
    if (path === "/token") {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") === "authorization_code") {
        return answer(script.codes[form.get("code") ?? ""]);
      }
      if (form.get("grant_type") === "refresh_token") {
        return answer(script.refreshes[form.get("refresh_token") ?? ""]);
      }
      return jsonResponse({ error: "unsupported_grant_type" }, 400);
    }
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (path === "/userinfo") {
      const email = script.userinfo?.[token];
      return email
        ? jsonResponse({ email, verified_email: true })
        : jsonResponse({ error: "invalid_token" }, 401);
    }
    if (path === "/v1internal:loadCodeAssist") return answer(script.load[token]);
    if (path === "/v1internal:onboardUser") {
      return jsonResponse({ name: "operations/onboard-1", done: false });
    }
    if (path === "/v1internal/operations/onboard-1") {
      polls += 1;
      return polls < script.onboardPolls
        ? jsonResponse({ name: "operations/onboard-1", done: false })
        : jsonResponse({
          name: "operations/onboard-1",
          done: true,
          response: { cloudaicompanionProject: { id: "proj-onboarded", name: "p" } },
        });
    }
    if (path === "/v1internal:fetchAvailableModels") {
      return typeof script.models === "number"
        ? jsonResponse({ error: { code: script.models, message: "nope", status: "INTERNAL" } }, script.models)
        : jsonResponse(script.models);
    }
    return jsonResponse({ error: { code: 404, message: `no route ${path}`, status: "NOT_FOUND" } }, 404);
  });
  return Object.assign(server, { script });
}

/** An id_token with the given claims (unsigned: the flow reads it straight from the token endpoint). */
export function idToken(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `${b64({ alg: "none" })}.${b64(claims)}.sig`;
}
