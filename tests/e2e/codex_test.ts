/**
 * Codex CLI itself (`codex exec`) against the served app's `/v1/responses`, configured with a custom model
 * provider (`wire_api = "responses"`) whose `base_url` is this server, over a scripted fake custom
 * OpenAI-format upstream: one turn in which the model runs a shell command and answers from its output.
 * The CLI is installed by `.ci/run` from npm and named by `CODEX_BIN`; without it this test is ignored.
 */
import assert from "node:assert/strict";
import { chunkedBody, openAIChunk, openAIUsageChunk } from "../_helpers/fake_openai_upstream.ts";
import { makeTestApp } from "../_helpers/test_app.ts";

const BIN = Deno.env.get("CODEX_BIN");
const KEY = "sk-codex-e2e-0001";

// deno-lint-ignore no-explicit-any
type Json = any;

function sse(chunks: string[]): Response {
  return new Response(chunkedBody(chunks), { headers: { "content-type": "text/event-stream" } });
}

/** The shell tool Codex offers (its name and argument shape vary between Codex versions). */
function shellCall(tools: Json[]): { name: string; args: Record<string, unknown> } {
  const names = tools.map((t) => t.function?.name);
  for (const name of ["shell", "shell_command", "exec_command", "local_shell"]) {
    if (!names.includes(name)) continue;
    const props = tools.find((t) => t.function?.name === name).function.parameters?.properties ?? {};
    if (props.command?.type === "array") {
      return { name, args: { command: ["bash", "-lc", "echo hello-from-codex"] } };
    }
    if (props.cmd) return { name, args: { cmd: "echo hello-from-codex" } };
    return { name, args: { command: "echo hello-from-codex" } };
  }
  throw new Error(`no shell tool among ${names.join(", ")}`);
}

Deno.test({
  name: "Codex CLI runs a shell command through /v1/responses over a custom OpenAI-format upstream",
  ignore: !BIN,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const seen: Json[] = [];
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.json();
      seen.push(body);
      const toolMessage = (body.messages as Json[]).find((m) => m.role === "tool");
      if (!toolMessage) {
        const call = shellCall(body.tools ?? []);
        return sse([
          openAIChunk({ role: "assistant", reasoning_content: "The user wants a shell command run." }),
          openAIChunk({ content: "Running it." }),
          openAIChunk({
            tool_calls: [{
              index: 0,
              id: "call_codex1",
              type: "function",
              function: { name: call.name, arguments: "" },
            }],
          }),
          openAIChunk({ tool_calls: [{ index: 0, function: { arguments: JSON.stringify(call.args) } }] }),
          openAIChunk({}, "tool_calls"),
          openAIUsageChunk(1000, 20),
          "data: [DONE]\n\n",
        ]);
      }
      const output = JSON.stringify(toolMessage.content);
      return sse([
        openAIChunk({
          role: "assistant",
          content: `The tool printed ${output.includes("hello-from-codex") ? "hello-from-codex" : "?"}.`,
        }),
        openAIChunk({}, "stop"),
        openAIUsageChunk(1100, 10),
        "data: [DONE]\n\n",
      ]);
    });
    const inbound: Json[] = [];
    const t = makeTestApp({ realClock: true, env: { API_KEY: KEY } });
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-upstream",
      other: {
        api_base: `http://127.0.0.1:${upstream.addr.port}/v1`,
        format: "openai",
        model: "gpt-upstream",
      },
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (r, i) => {
        if (r.method === "POST") inbound.push(await r.clone().json());
        return t.app.fetch(r, { remoteAddr: i.remoteAddr });
      },
    );
    const home = await Deno.makeTempDir({ prefix: "amq2api-codex-home-" });
    const work = await Deno.makeTempDir({ prefix: "amq2api-codex-work-" });
    try {
      await Deno.writeTextFile(
        `${home}/config.toml`,
        [
          `model = "claude-sonnet-4-6"`,
          `model_provider = "amq2api"`,
          // Nothing but this server is contacted: no update check, no analytics.
          `check_for_update_on_startup = false`,
          ``,
          `[analytics]`,
          `enabled = false`,
          ``,
          `[model_providers.amq2api]`,
          `name = "amq2api"`,
          `base_url = "http://127.0.0.1:${server.addr.port}/v1"`,
          `env_key = "AMQ2API_KEY"`,
          `wire_api = "responses"`,
          ``,
        ].join("\n"),
      );
      const output = await new Deno.Command(BIN!, {
        args: [
          "exec",
          "--skip-git-repo-check",
          "--strict-config",
          "--dangerously-bypass-approvals-and-sandbox",
          "--json",
          "Run the shell command: echo hello-from-codex",
        ],
        cwd: work,
        env: {
          CODEX_HOME: home,
          HOME: home,
          AMQ2API_KEY: KEY,
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        },
        clearEnv: true,
        stdin: "null",
        signal: AbortSignal.timeout(90_000),
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const events = stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const command = events.find((e) => e.type === "item.completed" && e.item.type === "command_execution");
      assert.ok(command, stdout);
      assert.match(command.item.aggregated_output, /hello-from-codex/);
      assert.equal(command.item.exit_code, 0);
      const answers = events.filter((e) => e.type === "item.completed" && e.item.type === "agent_message");
      assert.equal(answers.at(-1)?.item.text, "The tool printed hello-from-codex.");
      assert.ok(events.some((e) => e.type === "turn.completed"), stdout);
      // Codex sent its Responses requests; the second carried the call and its output back.
      assert.equal(inbound.length, 2);
      assert.equal(inbound[0].stream, true);
      const call = inbound[1].input.find((i: Json) => i.type === "function_call");
      const result = inbound[1].input.find((i: Json) => i.type === "function_call_output");
      assert.equal(call.call_id, "call_codex1");
      assert.equal(result.call_id, "call_codex1");
      // The upstream's reasoning reached Codex as a reasoning item, and came back with its signature.
      const reasoning = inbound[1].input.find((i: Json) => i.type === "reasoning");
      assert.ok(reasoning, JSON.stringify(inbound[1].input.map((i: Json) => i.type)));
      assert.equal(reasoning.summary[0].text, "The user wants a shell command run.");
      assert.match(reasoning.encrypted_content, /^amq2api\.v1\./);
      // The upstream saw a Chat Completions tool loop, and both calls were recorded as usage.
      assert.equal(seen.length, 2);
      assert.equal(seen[1].messages.find((m: Json) => m.role === "tool").tool_call_id, "call_codex1");
      await new Promise((r) => setTimeout(r, 30));
      assert.equal((await t.store.usage.recent(10)).length, 2);
    } finally {
      await server.shutdown();
      await upstream.shutdown();
      await t.close();
      await Deno.remove(home, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});
