/**
 * `POST /v1/responses`: OpenAI's Responses API inbound (Codex CLI, the `openai` SDK's `responses.create`).
 *
 * The request becomes the internal Claude request and is served by the gateway exactly like `/v1/messages`
 * (same client keys, account choice, failover, limits and usage records); the Claude events become
 * Responses events through `ClaudeToResponsesEvents`, written as SSE (`stream:true`) or kept as one
 * `response` object. Errors before the first byte are in OpenAI's error shape (`app.onError`). No response
 * is stored (see `responses_request_to_claude.ts`).
 */
import { Hono } from "hono";
import { sseResponse } from "../lib/sse_response.ts";
import { readJson } from "../lib/read_json_body.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ClaudeToResponsesEvents } from "../lib/openai_responses/claude_to_responses_events.ts";
import { collectResponse } from "../lib/openai_responses/responses_collector.ts";
import { responsesRequestToClaude } from "../lib/openai_responses/responses_request_to_claude.ts";
import { responsesSseBody } from "../lib/openai_responses/responses_sse_body.ts";
import { logStreamError, openForRequest } from "./messages.ts";

export function createResponsesRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/responses", async (c) => {
    const inbound = responsesRequestToClaude(await readJson(c));
    const result = await openForRequest(deps, c, inbound.request);
    const stage = new ClaudeToResponsesEvents({
      id: "resp_" + result.messageId.slice(4),
      model: result.model,
      createdAt: Math.floor(deps.now() / 1000),
      echo: inbound.echo,
      includeEncryptedReasoning: inbound.includeEncryptedReasoning,
    });
    if (!inbound.stream) return c.json(await collectResponse(result.events, stage));
    const body = responsesSseBody(result.events, stage, {
      pingIntervalMs: deps.pingIntervalMs,
      onError: logStreamError(deps, c, result),
    });
    return sseResponse(body, c.get("requestId"));
  });
  return app;
}
