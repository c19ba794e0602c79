/**
 * `openAIErrorBody`: an `ApiError` -> OpenAI's error response shape `{error:{message,type,param,code}}` with
 * the same HTTP status (and `retry-after` when the error has one), for the OpenAI-compatible inbound API.
 *
 * Pure. The `openai` SDK picks its exception class from the status alone; `type` and `code` follow what
 * OpenAI itself sends for the nearest case, so clients that switch on `code` still work. It is not the
 * Claude error JSON (`ApiError.toBody()`).
 */
import type { ApiError, ClaudeErrorType } from "../errors.ts";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface OpenAIErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
}

const TYPES: Record<ClaudeErrorType, { type: string; code: string | null }> = {
  invalid_request_error: { type: "invalid_request_error", code: null },
  authentication_error: { type: "invalid_request_error", code: "invalid_api_key" },
  permission_error: { type: "invalid_request_error", code: "permission_denied" },
  not_found_error: { type: "invalid_request_error", code: "not_found" },
  request_too_large: { type: "invalid_request_error", code: "request_too_large" },
  rate_limit_error: { type: "rate_limit_error", code: "rate_limit_exceeded" },
  api_error: { type: "server_error", code: null },
  overloaded_error: { type: "server_error", code: "overloaded" },
};

/** The OpenAI-shaped error response for an `ApiError`. */
export function openAIErrorBody(error: ApiError): OpenAIErrorResponse {
  const mapped = TYPES[error.type] ?? TYPES.api_error;
  let code = mapped.code;
  // A prompt too long is OpenAI's context_length_exceeded; clients (and LangChain) look for that code.
  if (error.type === "invalid_request_error" && error.message.startsWith("prompt is too long")) {
    code = "context_length_exceeded";
  }
  // Validation messages name the field first ("messages[0].role: ..."), which OpenAI reports as `param`.
  const param = error.type === "invalid_request_error"
    ? /^([\w.[\]]+): /.exec(error.message)?.[1] ?? null
    : null;
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  return {
    status: error.status,
    headers,
    body: { error: { message: error.message, type: mapped.type, param, code } },
  };
}
