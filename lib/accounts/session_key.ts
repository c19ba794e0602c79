/**
 * The sticky-session key of a request: Claude Code's `x-claude-code-session-id` header, else
 * `metadata.user_id` (Claude Code puts a JSON string with its session id there), else a hash of the
 * conversation's first turn, which stays the same as the conversation grows.
 */
import { createHash } from "node:crypto";
import type { ClaudeRequest } from "../claude/request_schema.ts";

export function sessionKeyOf(sessionHeader: string | undefined, request: ClaudeRequest): string | undefined {
  if (sessionHeader && sessionHeader.length <= 200) return `h:${sessionHeader}`;
  const userId = request.metadata?.user_id;
  if (typeof userId === "string" && userId.length > 0) {
    return `u:${createHash("sha256").update(userId).digest("hex").slice(0, 32)}`;
  }
  const first = request.messages[0];
  if (!first) return undefined;
  const hash = createHash("sha256");
  for (const block of first.content) {
    if (block.type === "text") hash.update(block.text);
    else if (block.type === "image" && block.source.type === "base64") {
      hash.update(block.source.data.slice(0, 4096));
    }
  }
  return `f:${hash.digest("hex").slice(0, 32)}`;
}
