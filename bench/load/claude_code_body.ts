/**
 * A Claude Code-shaped request of about `bytes` bytes for the load harness: billing and identity system
 * blocks with cache breakpoints, a dozen tools, and a long tool loop (assistant text + `tool_use`, user
 * `tool_result`) the way a long agent session grows, ending with the marker that picks the fake's reply.
 */
function prose(chars: number, seed: number): string {
  const words = [
    "the",
    "function",
    "returns",
    "a",
    "stream",
    "of",
    "events",
    "while",
    "tests",
    "check",
    "it",
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

export function claudeCodeBody(bytes: number, marker: string): string {
  const tools = ["Bash", "Read", "Edit", "Write", "Glob", "Grep", "Agent", "WebFetch", "TodoWrite", "LS"]
    .map((name, i) => ({
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
  let size = JSON.stringify(request).length;
  for (let i = 0; size < bytes - 200 && i < 10_000; i++) {
    const turn = [{
      role: "assistant",
      content: [
        { type: "text", text: prose(300, i + 20) },
        { type: "tool_use", id: `toolu_${i}`, name: "Read", input: { path: `/work/src/file_${i}.ts` } },
      ],
    }, {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: prose(6000, i + 40) }],
    }];
    messages.push(...turn);
    size += JSON.stringify(turn).length + 2;
  }
  messages.push({ role: "assistant", content: [{ type: "text", text: "Now I understand the structure." }] });
  messages.push({
    role: "user",
    content: [{ type: "text", text: `${marker} Continue.`, cache_control: { type: "ephemeral" } }],
  });
  return JSON.stringify(request);
}
