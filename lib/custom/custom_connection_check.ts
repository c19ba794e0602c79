/**
 * `customConnectionCheck`: the admin connection test of a custom account (`POST /v2/accounts/{id}/test`):
 * one tiny non-streaming request ("Hi",
 * `max_tokens` 10) to the account's upstream in its own format, at the same URL the chat path uses
 * (`custom_upstream_url.ts`), so a passing check means the chat path works too.
 *
 * It never throws for an upstream failure: the result carries the status (the upstream's, or 504 for a
 * timeout, 502 for a connection failure, 400 for a misconfigured account) and a message. The API key never
 * appears in the result, even if an upstream echoes it back. It is not the route (which adds the admin
 * check and the response JSON), and it does not change the account.
 */
import { UpstreamError } from "../errors.ts";
import type { Account } from "../store/types.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import { isOpenAIReasoningModel } from "./claude_to_openai_request.ts";
import { customAccountSettings } from "./custom_account_settings.ts";
import { customUpstreamUrl } from "./custom_upstream_url.ts";

export interface CustomConnectionTestOptions {
  /** The HTTP client. */
  fetch: typeof fetch;
  /** Give up after this long. @default 30000 */
  timeoutMs?: number;
}

export interface CustomConnectionTestResult {
  ok: boolean;
  /** HTTP status to report: the upstream's, 400 (misconfigured), 502 (unreachable) or 504 (timeout). */
  status: number;
  /** The first 100 characters of the reply text. */
  preview?: string;
  error?: string;
}

const PREVIEW_CHARS = 100;
const MAX_TEST_TOKENS = 10;

function replyText(format: "openai" | "claude", body: Record<string, unknown>): string {
  if (format === "claude") {
    const content = Array.isArray(body.content) ? body.content : [];
    return content.map((block: { type?: unknown; text?: unknown }) =>
      block.type === "text" ? String(block.text ?? "") : ""
    )
      .join("");
  }
  const choices = Array.isArray(body.choices) ? body.choices : [];
  const message = (choices[0] as { message?: { content?: unknown; reasoning_content?: unknown } } | undefined)
    ?.message;
  if (typeof message?.content === "string") return message.content;
  return typeof message?.reasoning_content === "string" ? message.reasoning_content : "";
}

function upstreamMessage(text: string): string {
  try {
    const parsed = JSON.parse(text);
    const message = parsed?.error?.message ?? parsed?.message;
    if (typeof message === "string") return message;
  } catch {
    // Not JSON: an HTML error page or plain text; show its start.
  }
  return text.trim().slice(0, 300);
}

/** Tests a custom account's upstream with a minimal request. */
export async function customConnectionCheck(
  account: Account,
  options: CustomConnectionTestOptions,
): Promise<CustomConnectionTestResult> {
  const settings = customAccountSettings(account);
  if ("error" in settings) return { ok: false, status: 400, error: settings.error };
  const secret = settings.apiKey;
  // Upstreams sometimes quote the key they refused; it must not reach the admin page or logs.
  const scrub = (text: string) => text.split(secret).join("***");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headers = new Headers({ "content-type": "application/json" });
  let body: Record<string, unknown>;
  if (settings.format === "claude") {
    headers.set("x-api-key", secret);
    headers.set("anthropic-version", "2023-06-01");
    if (settings.provider === "azure") headers.set("authorization", `Bearer ${secret}`);
    body = {
      model: settings.model,
      max_tokens: MAX_TEST_TOKENS,
      messages: [{ role: "user", content: "Hi" }],
    };
  } else {
    headers.set("authorization", `Bearer ${secret}`);
    const limitField = (settings.useMaxCompletionTokens ?? isOpenAIReasoningModel(settings.model))
      ? "max_completion_tokens"
      : "max_tokens";
    body = {
      model: settings.model,
      [limitField]: MAX_TEST_TOKENS,
      messages: [{ role: "user", content: "Hi" }],
    };
  }
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // The same policy as the chat path: a redirect is reported, never followed with the key.
    const response = await upstreamCall(customUpstreamUrl(settings.apiBase, settings.format), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    }, { fetch: options.fetch, provider: settings.format, signal });
    const text = await response.text();
    if (!response.ok) {
      return {
        ok: false,
        status: response.status,
        error: scrub(`upstream answered HTTP ${response.status}: ${upstreamMessage(text)}`),
      };
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text);
    } catch {
      return {
        ok: false,
        status: 502,
        error: scrub(`upstream answered HTTP ${response.status} with a body that is not JSON`),
      };
    }
    const preview = scrub(replyText(settings.format, parsed).slice(0, PREVIEW_CHARS)) || "(no reply text)";
    return { ok: true, status: response.status, preview };
  } catch (cause) {
    if (signal.aborted) return { ok: false, status: 504, error: `no answer within ${timeoutMs} ms` };
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (cause instanceof UpstreamError) return { ok: false, status: 502, error: scrub(reason) };
    return { ok: false, status: 502, error: scrub(`cannot reach the upstream: ${reason}`) };
  }
}
