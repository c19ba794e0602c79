/**
 * `assertJsonDepth`: refuses JSON text nested deeper than a limit, before `JSON.parse` sees it.
 *
 * `JSON.parse` itself copes with deep nesting, but everything after it that walks the value recursively
 * (schema validation, `JSON.stringify`, token counting, storage) overflows the stack on a body nested a
 * million levels deep and the client gets a 500. One linear scan over the text, tracking only whether it is
 * inside a string, finds the depth without recursion.
 */
import { ApiError } from "./errors.ts";

/** Deeper than any real request (tool schemas nest a few dozen levels at most). */
export const MAX_JSON_DEPTH = 128;

export function assertJsonDepth(text: string, limit = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    if (inString) {
      // Strings are most of a large body: jump to the next quote, and count the backslashes before it
      // (each backslash run is looked at once, so the scan stays linear).
      i = text.indexOf('"', i);
      if (i < 0) return;
      let backslashes = 0;
      while (text.charCodeAt(i - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) inString = false;
      continue;
    }
    const c = text.charCodeAt(i);
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) {
        throw new ApiError("invalid_request_error", `JSON nesting deeper than ${limit} levels`);
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
