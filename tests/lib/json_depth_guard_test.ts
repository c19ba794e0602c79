import assert from "node:assert/strict";
import { ApiError } from "../../lib/errors.ts";
import { assertJsonDepth } from "../../lib/json_depth_guard.ts";

const refused = (text: string, limit?: number) =>
  assert.throws(
    () => assertJsonDepth(text, limit),
    (e) => e instanceof ApiError && e.status === 400 && /deeper than \d+ levels/.test(e.message),
  );

Deno.test("assertJsonDepth counts brackets outside strings only, escapes included", () => {
  assertJsonDepth("[".repeat(128) + "]".repeat(128));
  refused("[".repeat(129) + "]".repeat(129));
  refused("[".repeat(1_000_000)); // no recursion, no stack overflow
  // Brackets inside strings do not count, however the string is escaped.
  assertJsonDepth(JSON.stringify({ a: "[[[[[[[[[[", b: '\\"[[[[[[', c: "\\\\" }), 2);
  assertJsonDepth('{"a":"x\\\\"}', 1);
  // After an escaped backslash the quote really closes the string, so the brackets after it count.
  refused('{"a":"x\\\\", "b":[[1]]}', 2);
  // An escaped quote does not close it.
  assertJsonDepth('{"a":"x\\"[[[[", "b":1}', 1);
  // An unterminated string ends the scan; JSON.parse reports it.
  assertJsonDepth('["abc');
  assertJsonDepth("");
});
