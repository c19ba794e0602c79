/**
 * A Claude Code-shaped Messages request for the benches: billing and identity system blocks with cache
 * breakpoints, a dozen tools, and a tool loop (assistant text + `tool_use`, user `tool_result`) the way an
 * agent session grows, ending with a user turn whose text the caller chooses (the fakes read markers in it).
 * The history has `turns` tool rounds, or as many as keep the JSON under `bytes`.
 */

const TOOLS = [
  "Bash",
  "Read",
  "Edit",
  "Write",
  "Glob",
  "Grep",
  "Agent",
  "WebFetch",
  "TodoWrite",
  "NotebookEdit",
  "LS",
  "MultiEdit",
];

/** Deterministic filler prose of about `chars` characters. */
function prose(chars: number, seed: number): string {
  const words = [
    "the",
    "file",
    "function",
    "returns",
    "value",
    "when",
    "called",
    "with",
    "a",
    "path",
    "test",
  ];
  const parts: string[] = [];
  let length = 0;
  for (let i = seed; length < chars; i++) {
    const word = words[(i * 7 + seed) % words.length]! + (i % 13 === 0 ? ".\n" : " ");
    parts.push(word);
    length += word.length;
  }
  return parts.join("");
}

export interface ClaudeCodeShape {
  /** Characters of each tool result. */
  toolResultChars: number;
  /** Text of the last user turn. */
  lastText: string;
  /** Tool rounds in the history; or, without it, as many as fit in `bytes`. */
  turns?: number;
  bytes?: number;
}

export function claudeCodeRequest(shape: ClaudeCodeShape): Record<string, unknown> {
  const tools = TOOLS.map((name, i) => ({
    name,
    description: prose(1100, i),
    input_schema: {
      type: "object",
      properties: { path: { type: "string", description: "Absolute path" }, command: { type: "string" } },
      required: ["path"],
    },
  }));
  const messages: Array<Record<string, unknown>> = [{
    role: "user",
    content: [{ type: "text", text: `<system-reminder>${prose(2000, 99)}</system-reminder>` }, {
      type: "text",
      text: "Fix the failing test in lib/app.ts",
    }],
  }];
  const request = {
    model: "claude-sonnet-4-6",
    max_tokens: 32_000,
    stream: true,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.331; cc_entrypoint=sdk-cli;" },
      {
        type: "text",
        text: "You are Claude Code, Anthropic's official CLI for Claude.",
        cache_control: { type: "ephemeral" },
      },
      { type: "text", text: prose(7000, 1), cache_control: { type: "ephemeral" } },
    ],
    tools,
    messages,
    metadata: { user_id: JSON.stringify({ device_id: "d", account_uuid: "a", session_id: "s" }) },
  };
  const limit = shape.bytes ?? Infinity;
  let size = shape.bytes === undefined ? 0 : JSON.stringify(request).length;
  for (let i = 0; i < (shape.turns ?? 10_000) && size < limit - 200; i++) {
    const turn = [{
      role: "assistant",
      content: [
        { type: "text", text: prose(300, i + 20) },
        { type: "tool_use", id: `toolu_${i}`, name: "Read", input: { path: `/work/src/file_${i}.ts` } },
      ],
    }, {
      role: "user",
      content: [{
        type: "tool_result",
        tool_use_id: `toolu_${i}`,
        content: prose(shape.toolResultChars, i + 40),
      }],
    }];
    messages.push(...turn);
    if (shape.bytes !== undefined) size += JSON.stringify(turn).length + 2;
  }
  messages.push({ role: "assistant", content: [{ type: "text", text: "Now I understand the structure." }] });
  messages.push({
    role: "user",
    content: [{ type: "text", text: shape.lastText, cache_control: { type: "ephemeral" } }],
  });
  return request;
}
