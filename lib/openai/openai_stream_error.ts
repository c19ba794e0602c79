/**
 * `openAIStreamErrorLine`: the SSE line that reports a failure after an OpenAI-format stream has begun.
 *
 * Pure. It maps the one Claude `error` event a failed stream ends with (`StreamIntegrity`). OpenAI itself
 * sends `data: {"error":{...}}` in this case, and the `openai` SDK's stream reader throws an `APIError` when
 * a data line holds an `error` key; no `[DONE]` follows, so no client mistakes the cut answer for a complete
 * one.
 */
import type { ApiError } from "../errors.ts";
import { openAIErrorBody } from "./openai_error_body.ts";

/** `data: {"error":{...}}\n\n` for an error after the first byte. */
export function openAIStreamErrorLine(error: ApiError): string {
  return `data: ${JSON.stringify(openAIErrorBody(error).body)}\n\n`;
}
