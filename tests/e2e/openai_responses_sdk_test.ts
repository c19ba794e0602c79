/**
 * The official `openai` SDK's `responses.create` / `responses.stream` against `/v1/responses`, over every
 * channel: text streamed and not, a function-call round trip (call -> function_call_output -> final text),
 * reasoning, OpenAI-shaped errors before the stream, and a mid-stream failure that ends in
 * `response.failed`, keep-alive comments.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  amazonQFailsMidStream,
  type ChannelName,
  CLIENT_KEY,
  DIALECTS,
  parseSse,
  withHarness,
} from "../_helpers/e2e_harness.ts";

const TOOLS: OpenAI.Responses.Tool[] = [{
  type: "function",
  name: "Bash",
  description: "Runs a shell command.",
  parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
  strict: false,
}];

for (const channel of ["amazonq", "gemini", "openai", "claude"] as ChannelName[]) {
  const dialect = DIALECTS[channel];

  Deno.test(`responses sdk / ${channel}: text, not streamed and streamed`, async () => {
    await withHarness(channel, () => dialect.text(["Hel", "lo ", "world"]), async (h) => {
      const client = h.openai();
      const response = await client.responses.create({
        model: dialect.model,
        instructions: "Be brief.",
        input: "Say hello",
        store: false,
      });
      assert.match(response.id, /^resp_/);
      assert.equal(response.object, "response");
      assert.equal(response.status, "completed");
      assert.equal(response.model, dialect.model);
      assert.equal(response.output_text, "Hello world");
      assert.equal(response.instructions, "Be brief.");
      assert.ok(response.usage!.input_tokens > 0);
      assert.ok(response.usage!.output_tokens > 0);
      assert.equal(
        response.usage!.total_tokens,
        response.usage!.input_tokens + response.usage!.output_tokens,
      );

      const stream = await client.responses.create({
        model: dialect.model,
        input: "Say hello",
        stream: true,
      });
      const types: string[] = [];
      const sequence: number[] = [];
      let text = "";
      let final: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        types.push(event.type);
        sequence.push(event.sequence_number);
        if (event.type === "response.output_text.delta") text += event.delta;
        if (event.type === "response.completed") final = event.response;
      }
      assert.equal(text, "Hello world");
      assert.equal(types[0], "response.created");
      assert.equal(types.at(-1), "response.completed");
      assert.deepEqual(sequence, sequence.map((_, i) => i));
      assert.ok(final && final.status === "completed");
      assert.ok(final.usage!.output_tokens > 0);
      // Same client keys and usage records as every other route.
      assert.equal((await h.usage()).length, 2);
    });
  });

  Deno.test(`responses sdk / ${channel}: a function-call round trip, streamed and not`, async () => {
    await withHarness(
      channel,
      (_c, index) => index < 2 ? dialect.tool("Bash", { command: "ls -la" }) : dialect.text(["Two files."]),
      async (h) => {
        const client = h.openai();
        const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "List the files" }];
        const first = await client.responses.create({ model: dialect.model, input, tools: TOOLS });
        const call = first.output.find((i) => i.type === "function_call");
        assert.ok(call && call.type === "function_call", JSON.stringify(first.output));
        assert.equal(call.name, "Bash");
        assert.deepEqual(JSON.parse(call.arguments), { command: "ls -la" });
        assert.ok(call.call_id.length > 0);

        const streamed = await client.responses.stream({ model: dialect.model, input, tools: TOOLS })
          .finalResponse();
        const sCall = streamed.output.find((i) => i.type === "function_call");
        assert.ok(sCall && sCall.type === "function_call");
        assert.deepEqual(JSON.parse(sCall.arguments), { command: "ls -la" });

        const answer = await client.responses.create({
          model: dialect.model,
          tools: TOOLS,
          input: [
            ...input,
            ...(first.output as OpenAI.Responses.ResponseInputItem[]),
            { type: "function_call_output", call_id: call.call_id, output: "file-list: a.txt b.txt" },
          ],
        });
        assert.equal(answer.output_text, "Two files.");
        const received = dialect.toolResult(h.upstream.calls[2]!.body);
        assert.ok(received, JSON.stringify(h.upstream.calls[2]!.body));
        assert.match(received.content, /file-list: a\.txt b\.txt/);
      },
    );
  });
}

Deno.test("responses sdk / claude upstream: reasoning effort asks for thinking; the reasoning item replays", async () => {
  const dialect = DIALECTS.claude;
  await withHarness(
    "claude",
    (_c, i) => i === 0 ? dialect.thinking("Think first.", "Done.") : dialect.text(["Ok."]),
    async (h) => {
      const client = h.openai();
      const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Go" }];
      const response = await client.responses.create({
        model: dialect.model,
        input,
        reasoning: { effort: "low", summary: "auto" },
        include: ["reasoning.encrypted_content"],
      });
      assert.deepEqual(h.upstream.calls[0]!.body.thinking, { type: "enabled", budget_tokens: 4096 });
      const reasoning = response.output.find((i) => i.type === "reasoning");
      assert.ok(reasoning && reasoning.type === "reasoning");
      assert.deepEqual(reasoning.summary, [{ type: "summary_text", text: "Think first." }]);
      assert.equal(typeof reasoning.encrypted_content, "string");
      assert.equal(response.output_text, "Done.");
      await client.responses.create({
        reasoning: { effort: "low" },
        model: dialect.model,
        input: [...input, ...(response.output as OpenAI.Responses.ResponseInputItem[]), {
          role: "user",
          content: "Again",
        }],
      });
      const replayed = h.upstream.calls[1]!.body.messages[1].content;
      assert.equal(replayed[0].type, "thinking");
      assert.equal(replayed[0].thinking, "Think first.");
      assert.equal(replayed[0].signature, "UPSTREAM_SIG");
    },
  );
});

Deno.test("responses sdk: errors before the stream are OpenAI-shaped APIErrors with the right status", async () => {
  await withHarness("amazonq", () => DIALECTS.amazonq.text(["x"]), async (h) => {
    const client = h.openai();
    const stored = await client.responses.create({
      model: "claude-sonnet-4-6",
      input: "hi",
      previous_response_id: "resp_123",
    }).then(() => null, (e) => e);
    assert.ok(stored instanceof OpenAI.BadRequestError, String(stored));
    assert.equal(stored.param, "previous_response_id");
    assert.match(stored.message, /does not store responses/);
    const unknown = await client.responses.create({ model: "gpt-nothing-serves-this", input: "hi" })
      .then(() => null, (e) => e);
    assert.ok(unknown instanceof OpenAI.NotFoundError, String(unknown));
    const raw = await fetch(`${h.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: "Bearer sk-wrong", "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(raw.status, 401);
    const body = await raw.json();
    assert.equal(typeof body.error.message, "string");
    assert.equal(body.type, undefined);
    assert.equal(h.upstream.calls.length, 0);
  });
});

Deno.test("responses sdk / amazonq: a failure mid-stream ends in response.failed, never completed", async () => {
  await withHarness(
    "amazonq",
    amazonQFailsMidStream,
    async (h) => {
      const stream = await h.openai().responses.create({
        model: "claude-sonnet-4-6",
        input: "story",
        stream: true,
      });
      const types: string[] = [];
      // The SDK raises on the `error` event, so no caller can take the cut answer for a complete one.
      const error = await (async () => {
        for await (const event of stream) types.push(event.type);
      })().then(() => null, (e) => e);
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.ok(!types.includes("response.completed"), types.join());
      assert.ok(types.includes("response.output_text.delta"));
      // On the wire: the error event, then response.failed with what was produced so far.
      const raw = await fetch(`${h.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4-6", input: "story", stream: true }),
      });
      const frames = parseSse(await raw.text());
      assert.deepEqual(frames.slice(-2).map((f) => f.event), ["error", "response.failed"]);
      const failed = frames.at(-1)!.data.response;
      assert.equal(failed.status, "failed");
      assert.equal(typeof failed.error.message, "string");
      assert.equal(failed.output[0].content[0].text, "Once upon a time");
    },
  );
});

Deno.test("responses sdk: keep-alive comments during upstream silences are skipped by the SDK", async () => {
  await withHarness(
    "amazonq",
    () => DIALECTS.amazonq.text(["slow ", "but ", "there"], { delayMs: 60 }),
    async (h) => {
      const raw = await fetch(`${h.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4-6", input: "hi", stream: true }),
      });
      const text = await raw.text();
      assert.match(text, /^: keep-alive$/m);
      assert.equal(parseSse(text).at(-1)!.event, "response.completed");
      const final = await h.openai().responses.stream({ model: "claude-sonnet-4-6", input: "hi" })
        .finalResponse();
      assert.equal(final.output_text, "slow but there");
    },
    { pingIntervalMs: 10 },
  );
});

Deno.test("responses sdk / amazonq: an upstream 429 before the stream is a RateLimitError, streamed and not", async () => {
  await withHarness(
    "amazonq",
    () =>
      new Response(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }), {
        status: 429,
        headers: { "content-type": "application/x-amz-json-1.0" },
      }),
    async (h) => {
      for (const stream of [false, true]) {
        const error = await (async () => {
          const result = await h.openai().responses.create({
            model: "claude-sonnet-4-6",
            input: "hi",
            stream,
          });
          if (stream) { for await (const _ of result as AsyncIterable<unknown>) { /* drain */ } }
        })().then(() => null, (e) => e);
        assert.ok(error instanceof OpenAI.RateLimitError, String(error));
        assert.ok(Number(error.headers?.get("retry-after")) >= 1);
        await h.t.store.accounts.update(h.accounts[0]!.id, { cooldown_until: null, parked_until: null });
      }
      assert.equal(h.upstream.calls.length, 2);
    },
  );
});
