/**
 * Token counting of huge requests on a real server: `/health` keeps answering while one is counted, and
 * `count_tokens` and `message_start` agree on a request whose large texts are counted in the worker.
 */
import assert from "node:assert/strict";
import { DIALECTS, parseSse, user, withHarness } from "../_helpers/e2e_harness.ts";

function randomLetters(length: number, seed = 5): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(alphabet[(x >>> 16) % alphabet.length]!);
  }
  return out.join("");
}

Deno.test("/health answers while a multi-megabyte count_tokens is being counted", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["ok"]), async (h) => {
    let counted = false;
    // Random letters are the slowest text to tokenize: all of it in the worker. The count is fast enough now
    // that a fixed wait could outlast it, so /health is asked from the start, until the count is back.
    const counting = h.post("/v1/messages/count_tokens", {
      model: h.dialect.model,
      messages: [user(randomLetters(4_000_000))],
    }).then(async (response) => {
      counted = true;
      return { status: response.status, body: await response.json() };
    });
    let answeredMeanwhile = 0;
    for (let i = 0; i < 2_000 && !counted; i++) {
      const health = await fetch(h.url + "/health");
      assert.equal(health.status, 200);
      await health.body?.cancel();
      if (!counted) answeredMeanwhile++;
    }
    // Counted on the event loop, only the few answers sent while the body was still arriving would come back
    // (the rest would wait for the count); counted in the worker, hundreds do.
    assert.ok(
      answeredMeanwhile >= 20,
      `only ${answeredMeanwhile} /health answers came back during the count`,
    );
    const result = await counting;
    assert.equal(result.status, 200);
    assert.ok(result.body.input_tokens > 300_000, JSON.stringify(result.body));
  });
});

Deno.test("a huge request gets the same count from count_tokens and message_start", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["Done."]), async (h) => {
    const request = {
      max_tokens: 64,
      system: "You are a careful assistant. ".repeat(2_000),
      messages: [
        user("Summarise these files.\n" + "const x = 1; // a line of code\n".repeat(20_000)),
        { role: "assistant" as const, content: "Which part?" },
        user(randomLetters(400_000) + " " + btoa("binary".repeat(100_000))),
      ],
    };
    const counted = await h.anthropic().messages.countTokens({ model: h.dialect.model, ...request });
    assert.ok(counted.input_tokens > 100_000, String(counted.input_tokens));
    const response = await h.post("/v1/messages", { model: h.dialect.model, stream: true, ...request });
    const events = parseSse(await response.text()).map((f) => f.data);
    const start = events.find((e) => e.type === "message_start");
    assert.equal(start.message.usage.input_tokens, counted.input_tokens);
  });
});
