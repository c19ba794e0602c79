/**
 * `customAccountSettings`: reads and checks the fields of a `custom_api` account: API key in `clientSecret`, `other.api_base`, `other.model` (default
 * `gpt-4o`), `other.format` (`openai` default, or `claude`), `other.provider` (`azure` switches on the Azure
 * rules). Two optional switches override the model-name guess for OpenAI reasoning models:
 * `other.use_max_completion_tokens` and `other.supports_reasoning_effort` (booleans).
 *
 * Pure; it never logs the key. It is not the account pool's validation of new accounts.
 */
import type { Account } from "../store/types.ts";
import type { CustomFormat } from "./custom_upstream_url.ts";

export interface CustomAccountSettings {
  apiBase: string;
  apiKey: string;
  format: CustomFormat;
  provider: string;
  /** The account's configured model (`other.model`). */
  model: string;
  useMaxCompletionTokens: boolean | undefined;
  supportsReasoningEffort: boolean | undefined;
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

function flag(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

/** The account's settings, or the reason it cannot be used. */
export function customAccountSettings(account: Account): CustomAccountSettings | { error: string } {
  if (account.type !== "custom_api") return { error: "only custom_api accounts have a custom upstream" };
  const other = account.other ?? {};
  const apiBase = text(other.api_base);
  if (!apiBase) return { error: "the account has no api_base" };
  if (!/^https?:\/\//i.test(apiBase)) return { error: "the account's api_base is not an http(s) URL" };
  const apiKey = text(account.clientSecret);
  if (!apiKey) return { error: "the account has no API key" };
  const format = text(other.format).toLowerCase() === "claude" ? "claude" : "openai";
  return {
    apiBase,
    apiKey,
    format,
    provider: text(other.provider).toLowerCase(),
    model: text(other.model) || "gpt-4o",
    useMaxCompletionTokens: flag(other.use_max_completion_tokens),
    supportsReasoningEffort: flag(other.supports_reasoning_effort),
  };
}
