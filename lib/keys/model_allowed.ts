/**
 * Whether a key's `allowed_models` admit a model: exact names, or patterns where `*` stands for any run
 * of characters (`claude-sonnet-*`). Compared case-insensitively, as model names are matched elsewhere;
 * an empty list admits every model.
 */

function matches(pattern: string, model: string): boolean {
  if (!pattern.includes("*")) return pattern === model;
  const parts = pattern.split("*");
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!model.startsWith(first) || model.length < first.length + last.length || !model.endsWith(last)) {
    return false;
  }
  // Middle pieces in order, greedily from the left: linear, no regular expression built from input.
  let at = first.length;
  const stop = model.length - last.length;
  for (const piece of parts.slice(1, -1)) {
    const found = model.indexOf(piece, at);
    if (found < 0 || found + piece.length > stop) return false;
    at = found + piece.length;
  }
  return true;
}

export function modelAllowed(patterns: readonly string[], model: string): boolean {
  if (patterns.length === 0) return true;
  const name = model.toLowerCase();
  return patterns.some((p) => matches(p.toLowerCase(), name));
}
