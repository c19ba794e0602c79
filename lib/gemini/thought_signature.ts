/**
 * How Gemini thought signatures survive a round trip through a Claude client.
 *
 * Gemini 3 (and 2.5 with tools) attach a `thoughtSignature` to the first `functionCall` part of a model
 * turn and reject a replayed turn without it. Claude has no place for a
 * signature on a `tool_use` block, and clients may drop thinking blocks from history, but they always echo
 * the `tool_use.id` (the `tool_result` must name it). So the signature rides inside the id:
 * `<base id>_gsig_<base64url of the signature>`. `GeminiToClaude` encodes it, `claudeToGemini` decodes it
 * and puts it back on the `functionCall` part. Ids stay within `[A-Za-z0-9_-]`, the pattern Anthropic uses.
 *
 * `SKIP_THOUGHT_SIGNATURE` is the value Google's own client sends when it has no signature for a part
 * (gemini-cli `SYNTHETIC_THOUGHT_SIGNATURE`); Code Assist then skips the check. This file is pure.
 */

/** The signature Google's validator accepts in place of a real one. */
export const SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

const MARKER = "_gsig_";

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A Claude `tool_use` id carrying a Gemini thought signature (or just `baseId` when there is none). */
export function encodeToolUseId(baseId: string, signature: string | undefined): string {
  return signature ? `${baseId}${MARKER}${toBase64Url(signature)}` : baseId;
}

/** Splits a Claude `tool_use` id into the Gemini call id and the signature it carries, if any. */
export function decodeToolUseId(id: string): { callId: string; signature: string | undefined } {
  const at = id.indexOf(MARKER);
  if (at <= 0) return { callId: id, signature: undefined };
  const signature = fromBase64Url(id.slice(at + MARKER.length));
  return signature ? { callId: id.slice(0, at), signature } : { callId: id, signature: undefined };
}
