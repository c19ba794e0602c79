/**
 * `customUpstreamUrl`: where a custom account's requests go, from its `api_base` and `format`.
 *
 * Pure. One rule for the chat path and the connection test, so the two can never disagree (a check that
 * passes at another URL than the one served proves nothing).
 * - `openai`: `{api_base}/chat/completions`, the base used exactly like the OpenAI SDK's `baseURL` (so
 *   `https://api.openai.com/v1`, `https://generativelanguage.googleapis.com/v1beta/openai` and
 *   `http://host:8000/v1` all work); nothing is guessed.
 * - `claude`: the Anthropic SDK's `baseURL` convention, `{api_base}/v1/messages`, so existing accounts (`https://api.anthropic.com`, Azure Foundry's
 *   `https://<resource>.services.ai.azure.com/anthropic`) keep working. A base that already ends in `/v1`
 *   gets only `/messages`, so a base copied from an OpenAI-style setting does not become `/v1/v1/messages`.
 * A trailing slash is stripped in both cases.
 */

export type CustomFormat = "openai" | "claude";

/** The upstream URL for a custom account. */
export function customUpstreamUrl(apiBase: string, format: CustomFormat): string {
  const base = apiBase.trim().replace(/\/+$/, "");
  if (format === "openai") return `${base}/chat/completions`;
  return /\/v1$/.test(base) ? `${base}/messages` : `${base}/v1/messages`;
}
