import assert from "node:assert/strict";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import type { ContentBlock } from "../../../lib/claude/request_schema.ts";
import { classifyGoogleError, parseGoogleDuration } from "../../../lib/gemini/google_error.ts";
import { claudeToGemini } from "../../../lib/gemini/request_converter.ts";
import { bytes, chunk, claudeRequest, runStage, sse } from "../../_helpers/gemini_helpers.ts";

Deno.test("signatures from a Gemini stream come back on the same parts when the client replays the turn", async () => {
  const stream = sse(chunk([{ text: "plan", thought: true, thoughtSignature: "SIG_A" }])) +
    sse(chunk([{ text: "Sure.", thoughtSignature: "SIG_TEXT" }])) +
    sse(chunk([{ functionCall: { name: "Bash", args: { command: "ls" } }, thoughtSignature: "SIG_CALL" }])) +
    sse(chunk([{ functionCall: { name: "Bash", args: { command: "pwd" } } }], { finishReason: "STOP" }));
  const { events, error } = await runStage([bytes(stream)]);
  assert.equal(error, undefined);
  const message = await MessageCollector.collect(ReadableStream.from(events));
  assert.deepEqual(message.content.map((b) => b.type), [
    "thinking",
    "thinking",
    "text",
    "tool_use",
    "tool_use",
  ]);
  // Replay exactly what a Claude client would echo back, plus its tool results.
  const assistant = message.content as unknown as ContentBlock[];
  const toolIds = message.content.filter((b) => b.type === "tool_use").map((b) => String(b.id));
  const envelope = claudeToGemini(
    claudeRequest({
      messages: [
        { role: "user", content: "list files" },
        { role: "assistant", content: assistant },
        {
          role: "user",
          content: toolIds.map((id) => ({ type: "tool_result", tool_use_id: id, content: "ok" })),
        },
      ],
    }),
    { model: "gemini-3-pro-high", project: "p", sessionId: "1" },
  );
  const [, model, results] = envelope.request.contents;
  assert.deepEqual(model!.parts, [
    { text: "plan", thought: true, thoughtSignature: "SIG_A" },
    { text: "Sure.", thoughtSignature: "SIG_TEXT" },
    {
      functionCall: { id: "toolu_test01_0", name: "Bash", args: { command: "ls" } },
      thoughtSignature: "SIG_CALL",
    },
    { functionCall: { id: "toolu_test01_1", name: "Bash", args: { command: "pwd" } } },
  ]);
  assert.deepEqual(results!.parts.map((p) => p.functionResponse?.name), ["Bash", "Bash"]);
  assert.deepEqual(results!.parts.map((p) => p.functionResponse?.id), ["toolu_test01_0", "toolu_test01_1"]);
});

Deno.test("classifyGoogleError reads Google's error details", () => {
  const now = 1_000_000;
  const perMinute = classifyGoogleError(429, {
    error: {
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      message: "Quota exceeded",
      details: [{
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{ quotaId: "GenerateRequestsPerMinutePerProject" }],
      }],
    },
  }, { now });
  assert.equal(perMinute.kind, "throttled");
  assert.equal(perMinute.retryAfterMs, 60_000);
  const hinted = classifyGoogleError(
    429,
    JSON.stringify({ error: { code: 429, message: "Please retry in 3.5s." } }),
    { now },
  );
  assert.equal(hinted.retryAfterMs, 3500);
  const longDelay = classifyGoogleError(429, {
    error: {
      code: 429,
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "3600s" }],
    },
  }, { now });
  assert.equal(longDelay.kind, "quota_exhausted");
  assert.equal(longDelay.resetAt, now + 3_600_000);
  const validation = classifyGoogleError(403, {
    error: {
      code: 403,
      status: "PERMISSION_DENIED",
      message: "Verify your account",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "VALIDATION_REQUIRED" }],
    },
  }, { now });
  assert.equal(validation.kind, "suspended");
  const tooLong = classifyGoogleError(400, {
    error: {
      code: 400,
      status: "INVALID_ARGUMENT",
      message: "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).",
    },
  }, { now });
  assert.equal(tooLong.kind, "context_overflow");
  assert.match(tooLong.clientError().message, /prompt is too long/);
  assert.equal(classifyGoogleError(404, "<html>not found</html>", { now }).kind, "client");
  assert.equal(classifyGoogleError(502, "", { now }).kind, "transient");
  assert.equal(parseGoogleDuration("1h2m3.5s"), 3_723_500);
  assert.equal(parseGoogleDuration("soon"), undefined);
});
