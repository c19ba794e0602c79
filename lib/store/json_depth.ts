/**
 * `jsonDepth`: how deeply a parsed JSON value nests (a scalar is 0, `{}` or `[]` is 1), counted without
 * recursion so a hostile value nested thousands deep cannot overflow the stack while it is being measured.
 * Counting stops at `stopAt + 1`: callers only need to know whether a limit is exceeded.
 *
 * Used where `other` is written (input validation) and where it is read back (a row too deep to handle is
 * read as unreadable, not passed on to recursive code that would crash a list or an export).
 */
export function jsonDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  // Every value is visited once, so the loop is bounded by the size of the input.
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== "object") continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > stopAt) return deepest;
    for (const inner of Object.values(current)) pending.push([inner, here]);
  }
  return deepest;
}
