import assert from "node:assert/strict";
import { ThinkingTagParser } from "../../../lib/amazonq/thinking_tag_parser.ts";

type Part = { kind: "text" | "thinking"; text: string };

/** Runs the parser and merges adjacent pieces of the same section, so chunking is invisible. */
function run(chunks: string[], mode: "leading" | "anywhere"): Part[] {
  const parts: Part[] = [];
  let closed = true;
  const add = (kind: Part["kind"], text: string) => {
    if (text.length === 0) return;
    const last = parts.at(-1);
    if (last && last.kind === kind && !(kind === "thinking" && closed)) last.text += text;
    else if (last && last.kind === kind && kind === "text") last.text += text;
    else parts.push({ kind, text });
    if (kind === "thinking") closed = false;
  };
  const parser = new ThinkingTagParser({
    text: (t) => add("text", t),
    thinking: (t) => add("thinking", t),
    thinkingEnd: () => {
      closed = true;
    },
  }, { mode });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return parts;
}

/** Every way to cut `input` in two, plus one character at a time. */
function splits(input: string): string[][] {
  const out: string[][] = [[input], [...input]];
  for (let i = 1; i < input.length; i++) out.push([input.slice(0, i), input.slice(i)]);
  for (let i = 1; i + 2 < input.length; i += 3) {
    out.push([input.slice(0, i), input.slice(i, i + 2), input.slice(i + 2)]);
  }
  return out;
}

Deno.test("ThinkingTagParser leading mode: tags split at every offset", () => {
  const input = "  <thinking>deep thought</thinking>\n\nThe answer is 42.";
  const expected: Part[] = [{ kind: "thinking", text: "deep thought" }, {
    kind: "text",
    text: "The answer is 42.",
  }];
  for (const chunks of splits(input)) {
    assert.deepEqual(run(chunks, "leading"), expected, JSON.stringify(chunks));
  }
});

Deno.test("ThinkingTagParser leading mode: a later tag is ordinary text", () => {
  const input = "Use <thinking> tags like <thinking>this</thinking>.";
  for (const chunks of splits(input)) {
    assert.deepEqual(run(chunks, "leading"), [{ kind: "text", text: input }]);
  }
});

Deno.test("ThinkingTagParser anywhere mode: the spec example split at every offset", () => {
  const input = "Pre <thinking>deep</thinking>Answer";
  const expected: Part[] = [
    { kind: "text", text: "Pre " },
    { kind: "thinking", text: "deep" },
    { kind: "text", text: "Answer" },
  ];
  for (const chunks of splits(input)) {
    assert.deepEqual(run(chunks, "anywhere"), expected, JSON.stringify(chunks));
  }
  assert.deepEqual(run(["Pre <think", "ing>deep</thi", "nking>Answer"], "anywhere"), expected);
});

Deno.test("ThinkingTagParser never swallows text after a lone '<'", () => {
  for (const mode of ["leading", "anywhere"] as const) {
    assert.deepEqual(run(["if a <", " b then c and more text"], mode), [
      { kind: "text", text: "if a < b then c and more text" },
    ]);
    assert.deepEqual(run(["<", "b>bold</b>"], mode), [{ kind: "text", text: "<b>bold</b>" }]);
    assert.deepEqual(run(["x <"], mode), [{ kind: "text", text: "x <" }]);
    assert.deepEqual(run(["use <thi"], mode), [{ kind: "text", text: "use <thi" }]);
  }
  assert.deepEqual(run(["<"], "leading"), [{ kind: "text", text: "<" }]);
  assert.deepEqual(run(["<thi"], "leading"), [{ kind: "text", text: "<thi" }]);
});

Deno.test("ThinkingTagParser closes an unterminated thinking section at the end, keeping a partial close tag", () => {
  assert.deepEqual(run(["<thinking>still going </thin"], "leading"), [
    { kind: "thinking", text: "still going </thin" },
  ]);
});

Deno.test("ThinkingTagParser handles a '<' inside thinking that is not the close tag", () => {
  const input = "<thinking>a < b and </b> not </thinking>ok";
  for (const chunks of splits(input)) {
    assert.deepEqual(run(chunks, "leading"), [
      { kind: "thinking", text: "a < b and </b> not " },
      { kind: "text", text: "ok" },
    ]);
  }
});

Deno.test("ThinkingTagParser end() starts a new segment", () => {
  const parts: string[] = [];
  const parser = new ThinkingTagParser({
    text: (t) => parts.push(`T:${t}`),
    thinking: (t) => parts.push(`R:${t}`),
    thinkingEnd: () => parts.push("END"),
  });
  parser.push("Hello ");
  parser.end();
  parser.push("<thinking>x</thinking>y");
  parser.end();
  assert.deepEqual(parts, ["T:Hello ", "R:x", "END", "T:y"]);
});
