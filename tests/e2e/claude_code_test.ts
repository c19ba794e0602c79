/**
 * Claude Code itself (the `claude` CLI, print mode) against the served app over a scripted fake Amazon Q:
 * one tool loop (Bash), as users run it. The CLI is installed by `.ci/run` from npm and named by
 * `CLAUDE_CODE_BIN`; without it (a developer machine without the CLI) this test is reported as ignored.
 */
import assert from "node:assert/strict";
import { eventFrame, eventStreamResponse, text } from "../_helpers/amazonq_helpers.ts";
import { makeTestApp } from "../_helpers/test_app.ts";

const BIN = Deno.env.get("CLAUDE_CODE_BIN");
const KEY = "sk-claude-code-e2e-0001";

Deno.test({
  name: "Claude Code runs a Bash tool loop through the server over Amazon Q",
  ignore: !BIN,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // deno-lint-ignore no-explicit-any
    const seen: any[] = [];
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.json();
      seen.push(body);
      const results =
        body.conversationState.currentMessage.userInputMessage.userInputMessageContext?.toolResults ?? [];
      const frames = results.length === 0
        ? [
          text("Running it. "),
          eventFrame("toolUseEvent", {
            toolUseId: "tooluse_e2e1",
            name: "Bash",
            input: '{"command": "echo hello-',
          }),
          eventFrame("toolUseEvent", {
            toolUseId: "tooluse_e2e1",
            name: "Bash",
            input: 'from-tool", "description": "p"}',
          }),
          eventFrame("toolUseEvent", { toolUseId: "tooluse_e2e1", name: "Bash", stop: true }),
        ]
        : [
          text(
            `The tool printed ${
              JSON.stringify(results[0]).includes("hello-from-tool") ? "hello-from-tool" : "?"
            }.`,
          ),
        ];
      frames.push(
        eventFrame("metadataEvent", { tokenUsage: { uncachedInputTokens: 1000, outputTokens: 20 } }),
      );
      return eventStreamResponse(frames);
    });
    const t = makeTestApp({
      realClock: true,
      env: { API_KEY: KEY, AMAZONQ_API_ENDPOINT: `http://127.0.0.1:${upstream.addr.port}/` },
    });
    await t.store.accounts.create({
      type: "amazonq",
      clientId: "c",
      clientSecret: "s",
      refreshToken: "r",
      accessToken: "a",
      tokenExpiresAt: Date.now() + 3_600_000,
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (r, i) => t.app.fetch(r, { remoteAddr: i.remoteAddr }),
    );
    const home = await Deno.makeTempDir({ prefix: "amq2api-cc-home-" });
    const work = await Deno.makeTempDir({ prefix: "amq2api-cc-work-" });
    try {
      const output = await new Deno.Command(BIN!, {
        args: [
          "-p",
          "Run the shell command: echo hello-from-tool",
          "--output-format",
          "stream-json",
          "--verbose",
          "--allowedTools",
          "Bash",
        ],
        cwd: work,
        env: {
          HOME: home,
          ANTHROPIC_BASE_URL: `http://127.0.0.1:${server.addr.port}`,
          ANTHROPIC_API_KEY: KEY,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        },
        stdin: "null",
        signal: AbortSignal.timeout(90_000),
      }).output();
      const lines = new TextDecoder().decode(output.stdout).trim().split("\n").map((l) => JSON.parse(l));
      const result = lines.at(-1);
      assert.equal(result.type, "result", new TextDecoder().decode(output.stderr));
      assert.equal(result.subtype, "success");
      assert.equal(result.is_error, false);
      assert.equal(result.result, "The tool printed hello-from-tool.");
      // Claude Code ran the tool and sent its output back; the upstream saw it as an Amazon Q tool result.
      assert.equal(seen.length, 2);
      const toolResults =
        seen[1].conversationState.currentMessage.userInputMessage.userInputMessageContext.toolResults;
      assert.equal(toolResults[0].toolUseId, "tooluse_e2e1");
      assert.match(JSON.stringify(toolResults[0].content), /hello-from-tool/);
      // One conversation id for the whole session, and Claude Code's billing line never goes upstream.
      assert.equal(seen[0].conversationState.conversationId, seen[1].conversationState.conversationId);
      assert.ok(!JSON.stringify(seen).includes("x-anthropic-billing-header"));
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
