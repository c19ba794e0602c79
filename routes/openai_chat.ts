/**
 * `POST /v1/chat/completions`: the OpenAI-compatible inbound API.
 *
 * The OpenAI request becomes the internal Claude request and is served by whichever channel routes the
 * model (Amazon Q, Gemini or custom), exactly like `/v1/messages`; the Claude events are answered as
 * `chat.completion.chunk`s (or one `chat.completion` for `stream:false`). Errors before the first byte are
 * in OpenAI's error shape (see `openAIErrorShaper`). Client keys' rules apply as on `/v1/messages`, with
 * OpenAI's `x-ratelimit-*` headers.
 */
import { Hono } from "hono";
import { sseResponse } from "../lib/sse_response.ts";
import { readJson } from "../lib/read_json_body.ts";
import { MessageCollector } from "../lib/claude/message_collector.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { openAIRequestToClaude } from "../lib/openai/openai_request_to_claude.ts";
import { openAIResponseFromClaude } from "../lib/openai/openai_response_from_claude.ts";
import { openAISseBody } from "../lib/openai/openai_sse_body.ts";
import { logStreamError, openForRequest, withLimitHeaders } from "./messages.ts";

export function createOpenAIChatRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/chat/completions", async (c) => {
    const inbound = openAIRequestToClaude(await readJson(c));
    const result = await openForRequest(deps, c, inbound.request, undefined, { automaticCache: true });
    const id = "chatcmpl-" + result.messageId.slice(4);
    const created = Math.floor(deps.now() / 1000);
    if (!inbound.stream) {
      const message = await MessageCollector.collect(result.events);
      return c.json(openAIResponseFromClaude(message, { id, created, model: result.model }));
    }
    const body = openAISseBody(result.events, {
      id,
      model: result.model,
      created,
      includeUsage: inbound.includeUsage,
      onError: logStreamError(deps, c, result),
    });
    return withLimitHeaders(sseResponse(body, c.get("requestId")), result);
  });
  return app;
}
