import assert from "node:assert/strict";
import { claudeToAmazonQ } from "../../../lib/amazonq/request_converter.ts";
import type { ClaudeMessage, ClaudeRequest } from "../../../lib/claude/request_schema.ts";
import { claudeRequest } from "../../_helpers/amazonq_helpers.ts";

const OPTIONS = { conversationId: "conv-1", modelId: "claude-sonnet-4.5" };
const PNG = {
  type: "image" as const,
  source: { type: "base64" as const, media_type: "image/png", data: "iVBORw0K" },
};
const JPG = {
  type: "image" as const,
  source: { type: "base64" as const, media_type: "image/jpg", data: "/9j/4AAQ" },
};

function convert(
  overrides: Partial<ClaudeRequest>,
  options: Partial<typeof OPTIONS & { profileArn: string }> = {},
) {
  return claudeToAmazonQ(claudeRequest(overrides), { ...OPTIONS, ...options });
}

const user = (...content: ClaudeMessage["content"]): ClaudeMessage => ({ role: "user", content });
const assistant = (...content: ClaudeMessage["content"]): ClaudeMessage => ({ role: "assistant", content });
const t = (text: string) => ({ type: "text" as const, text });

Deno.test("claudeToAmazonQ builds the documented request shape with the system prompt in front", () => {
  const body = convert({
    system: [t("SYS")],
    tools: [{ name: "Bash", description: "run", input_schema: { type: "object" } }],
    messages: [
      user(t("do it")),
      assistant(t("ok"), { type: "tool_use", id: "t1", name: "Bash", input: { command: "pwd" } }),
      user({ type: "tool_result", tool_use_id: "t1", content: "/x" }),
    ],
  }, { profileArn: "arn:p" });
  assert.equal(body.profileArn, "arn:p");
  const state = body.conversationState;
  assert.equal(state.conversationId, "conv-1");
  assert.equal(state.chatTriggerType, "MANUAL");
  assert.equal(state.history.length, 4);
  const [sysUser, sysAck, first, second] = state.history as unknown as Array<
    Record<string, Record<string, unknown>>
  >;
  assert.match(
    String(sysUser!.userInputMessage!.content),
    /SYSTEM PROMPT BEGIN ---\nSYS\n--- SYSTEM PROMPT END/,
  );
  assert.ok(sysAck!.assistantResponseMessage);
  assert.equal(first!.userInputMessage!.content, "do it");
  assert.deepEqual(second!.assistantResponseMessage, {
    content: "ok",
    toolUses: [{ toolUseId: "t1", name: "Bash", input: { command: "pwd" } }],
  });
  const current = state.currentMessage.userInputMessage;
  assert.equal(current.content, "");
  assert.equal(current.modelId, "claude-sonnet-4.5");
  assert.equal(current.origin, "CLI");
  assert.deepEqual(current.userInputMessageContext, {
    envState: { operatingSystem: "macos", currentWorkingDirectory: "/" },
    tools: [{
      toolSpecification: { name: "Bash", description: "run", inputSchema: { json: { type: "object" } } },
    }],
    toolResults: [{ toolUseId: "t1", content: [{ text: "/x" }], status: "success" }],
  });
});

Deno.test("claudeToAmazonQ sends the system prompt on a tool-result-only turn", () => {
  const body = convert({
    system: [t("You are a careful coder.")],
    messages: [
      user(t("list files")),
      assistant({ type: "tool_use", id: "a", name: "Bash", input: { command: "ls" } }),
      user({ type: "tool_result", tool_use_id: "a", content: [t("x.ts")] }),
    ],
  });
  const texts = JSON.stringify(body.conversationState.history);
  assert.match(texts, /You are a careful coder\./);
  assert.equal(body.conversationState.currentMessage.userInputMessage.content, "");
});

Deno.test("claudeToAmazonQ repairs alternation without losing images or tool results", () => {
  const body = convert({
    messages: [
      assistant(t("Hi, how can I help?")), // history starting with the assistant
      user(t("look"), PNG),
      user(t("and this"), JPG),
      assistant(
        t("running both"),
        { type: "tool_use", id: "a", name: "Read", input: { path: "1" } },
        { type: "tool_use", id: "b", name: "Read", input: { path: "2" } },
      ),
      user({ type: "tool_result", tool_use_id: "a", content: [t("one"), PNG] }),
      user({ type: "tool_result", tool_use_id: "b", content: "two" }, t("what now?")),
    ],
  });
  const history = body.conversationState.history as unknown as Array<Record<string, Record<string, unknown>>>;
  assert.equal(history.length, 4);
  assert.ok(history[0]!.userInputMessage, "history starts with a user entry");
  assert.ok(history[1]!.assistantResponseMessage);
  const merged = history[2]!.userInputMessage!;
  assert.equal(merged.content, "look\n\nand this");
  assert.deepEqual(merged.images, [
    { format: "png", source: { bytes: "iVBORw0K" } },
    { format: "jpeg", source: { bytes: "/9j/4AAQ" } },
  ]);
  const current = body.conversationState.currentMessage.userInputMessage;
  assert.equal(current.content, "what now?");
  assert.deepEqual(current.userInputMessageContext.toolResults, [
    {
      toolUseId: "a",
      content: [{ text: "one" }, { text: "[image attached to this message]" }],
      status: "success",
    },
    { toolUseId: "b", content: [{ text: "two" }], status: "success" },
  ]);
  assert.deepEqual(current.images, [{ format: "png", source: { bytes: "iVBORw0K" } }]);
  // Tools used in history are declared even though the request sent none.
  assert.deepEqual(current.userInputMessageContext.tools?.map((x) => x.toolSpecification.name), ["Read"]);
});

Deno.test("claudeToAmazonQ keeps history ending in an assistant entry and answers every tool call", () => {
  const body = convert({
    messages: [
      user(t("a")),
      assistant({ type: "tool_use", id: "x", name: "Bash", input: {} }),
      user(t("never mind")), // no tool_result for x
      user(t("b")),
    ],
  });
  const history = body.conversationState.history as unknown as Array<Record<string, Record<string, unknown>>>;
  assert.equal(history.length, 2);
  const current = body.conversationState.currentMessage.userInputMessage;
  assert.equal(current.content, "never mind\n\nb");
  assert.deepEqual(current.userInputMessageContext.toolResults, [
    { toolUseId: "x", content: [{ text: "No result was recorded for this tool call." }], status: "error" },
  ]);
  // An orphan result (no matching call) becomes text instead of a TOOL_USE_RESULT_MISMATCH.
  const orphan = convert({ messages: [user({ type: "tool_result", tool_use_id: "zz", content: "data" })] });
  const o = orphan.conversationState.currentMessage.userInputMessage;
  assert.equal(o.userInputMessageContext.toolResults, undefined);
  assert.match(o.content, /result of tool call zz\]\ndata/);
});

Deno.test("claudeToAmazonQ maps is_error and empty results", () => {
  const body = convert({
    messages: [
      user(t("go")),
      assistant(
        { type: "tool_use", id: "e", name: "Bash", input: {} },
        { type: "tool_use", id: "s", name: "Bash", input: {} },
        { type: "tool_use", id: "c", name: "Bash", input: {} },
      ),
      user(
        { type: "tool_result", tool_use_id: "e", content: "exit 1", is_error: true },
        { type: "tool_result", tool_use_id: "s", content: [t("")] },
        { type: "tool_result", tool_use_id: "c", content: [t(" ")], is_error: true },
      ),
    ],
  });
  assert.deepEqual(
    body.conversationState.currentMessage.userInputMessage.userInputMessageContext.toolResults,
    [
      { toolUseId: "e", content: [{ text: "exit 1" }], status: "error" },
      { toolUseId: "s", content: [{ text: "Command executed successfully" }], status: "success" },
      { toolUseId: "c", content: [{ text: "Tool use was cancelled by the user" }], status: "error" },
    ],
  );
});

Deno.test("claudeToAmazonQ keeps an assistant prefill and asks the model to continue", () => {
  const body = convert({ messages: [user(t("Write JSON")), assistant(t('{"name":'))] });
  const history = body.conversationState.history as unknown as Array<Record<string, Record<string, unknown>>>;
  assert.equal(history.at(-1)!.assistantResponseMessage!.content, '{"name":');
  assert.match(
    body.conversationState.currentMessage.userInputMessage.content,
    /^Continue your previous reply/,
  );
});

Deno.test("claudeToAmazonQ keeps the full text of an over-long tool description", () => {
  const long = "Use this tool carefully. ".repeat(600); // ~15k chars
  const body = convert({ tools: [{ name: "Big", description: long, input_schema: { type: "object" } }] });
  const spec = body.conversationState.currentMessage.userInputMessage.userInputMessageContext.tools![0]!
    .toolSpecification;
  assert.ok(spec.description.length <= 10240);
  assert.ok(spec.description.startsWith(long.slice(0, 10100)));
  const history = body.conversationState.history as unknown as Array<Record<string, Record<string, unknown>>>;
  const docs = String(history[0]!.userInputMessage!.content);
  assert.ok(docs.includes("TOOL DOCUMENTATION BEGIN"));
  assert.ok(docs.includes(long), "the full description is sent");
});

Deno.test("claudeToAmazonQ replays thinking, injects the thinking hint, and maps tool_choice", () => {
  const body = convert({
    thinking: { type: "enabled", budget_tokens: 8000 },
    tool_choice: { type: "tool", name: "Bash" },
    tools: [{ name: "Bash", description: "run", input_schema: { type: "object" } }],
    messages: [
      user(t("q1")),
      assistant({ type: "thinking", thinking: "hmm", signature: "amq2api.v1.x" }, t("a1")),
      user(t("q2")),
    ],
  });
  const history = body.conversationState.history as unknown as Array<Record<string, Record<string, unknown>>>;
  assert.equal(history[1]!.assistantResponseMessage!.content, "<thinking>hmm</thinking>\n\na1");
  const content = body.conversationState.currentMessage.userInputMessage.content;
  assert.ok(content.startsWith("q2\n\n"));
  assert.match(content, /Call the tool "Bash"/);
  const tag = "antml:max_thinking_length";
  assert.ok(content.includes(`<${tag}>8000</${tag}>`));
  const off = convert({ thinking: { type: "disabled" } });
  assert.equal(off.conversationState.currentMessage.userInputMessage.content, "hello");
});

Deno.test("claudeToAmazonQ leaves Claude's server tools out of the upstream tool list", () => {
  const body = convert({
    tools: [
      { name: "Bash", description: "run", input_schema: { type: "object" } },
      { name: "web_search", type: "web_search_20250305" },
    ],
  });
  const tools = body.conversationState.currentMessage.userInputMessage.userInputMessageContext.tools!;
  assert.deepEqual(tools.map((x) => x.toolSpecification.name), ["Bash"]);
});
