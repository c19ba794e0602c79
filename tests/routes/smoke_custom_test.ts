import { makeTestApp } from "../_helpers/test_app.ts";
import { expectHelloAnswers, helloUpstream } from "../_helpers/hello_upstream.ts";

Deno.test("a custom OpenAI-format account serves /v1/messages streamed and not, and usage is recorded once", async () => {
  const upstream = helloUpstream();
  const t = makeTestApp({ realClock: true });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-test",
      other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
    });
    await expectHelloAnswers(t);
  } finally {
    await t.close();
    await upstream.stop();
  }
});
