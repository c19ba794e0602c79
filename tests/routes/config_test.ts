import assert from "node:assert/strict";
import { DEFAULT_ROUTING_CONFIG, ROUTING_CONFIG_KEYS } from "../../lib/routing/routing_config.ts";
import { adminSession, json, makeTestApp, type TestApp } from "../_helpers/test_app.ts";

async function put(t: TestApp, token: string, body: unknown) {
  const response = await t.request("/v2/config", json(body, { "x-session-token": token }, "PUT"));
  return { status: response.status, body: await response.json() };
}

async function getConfig(t: TestApp, token: string) {
  const response = await t.request("/v2/config", { headers: { "x-session-token": token } });
  assert.equal(response.status, 200);
  return await response.json();
}

async function modelIds(t: TestApp): Promise<string[]> {
  const response = await t.request("/v1/models");
  assert.equal(response.status, 200);
  return (await response.json()).data.map((m: { id: string }) => m.id);
}

Deno.test("GET /v2/config returns every key with its default", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const config = await getConfig(t, token);
    assert.deepEqual(config, DEFAULT_ROUTING_CONFIG);
    assert.deepEqual(Object.keys(config).sort(), [...ROUTING_CONFIG_KEYS].sort());
    // Seeding writes the same defaults and never overwrites.
    await t.deps.routing.seedDefaults();
    await t.store.config.putMany({ enable_model_mapping: false });
    await t.deps.routing.seedDefaults();
    assert.equal((await t.store.config.getAll()).enable_model_mapping, false);
  } finally {
    await t.close();
  }
});

Deno.test("PUT applies a valid partial update, visible in GET, in the router and in /v1/models", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "k",
      other: { api_base: "http://127.0.0.1:9/v1", model: "gpt-x" },
    });
    assert.ok((await modelIds(t)).includes("gpt-x"));
    assert.ok(!(await modelIds(t)).includes("my-alias"));

    const result = await put(t, token, { amq_model_mapping: { "my-alias": "gpt-x" } });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body.updated, ["amq_model_mapping"]);
    assert.deepEqual(result.body.config.amq_model_mapping, { "my-alias": "gpt-x" });
    const config = await getConfig(t, token);
    assert.deepEqual(config.amq_model_mapping, { "my-alias": "gpt-x" });
    assert.deepEqual(
      config.supported_models,
      DEFAULT_ROUTING_CONFIG.supported_models,
      "other keys untouched",
    );
    assert.ok((await modelIds(t)).includes("my-alias"));
    assert.equal((await t.deps.routing.router()).route("my-alias").model, "gpt-x");

    // Turning mapping off takes effect at once too.
    assert.equal((await put(t, token, { enable_model_mapping: false })).status, 200);
    assert.equal((await t.deps.routing.router()).route("my-alias").model, "my-alias");
    assert.ok(!(await modelIds(t)).includes("my-alias"));

    // An empty list means empty (no built-in list is substituted).
    assert.equal((await put(t, token, { gemini_only_models: [] })).status, 200);
    assert.deepEqual((await getConfig(t, token)).gemini_only_models, []);
    assert.deepEqual((await t.store.config.getAll()).gemini_only_models, []);
  } finally {
    await t.close();
  }
});

Deno.test("PUT with an unknown key or a wrong type is a 400 naming the key, and writes nothing", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const cases: Array<[unknown, string]> = [
      [{ enable_model_mapping: false, no_such_key: 1 }, "no_such_key"],
      [
        { enable_model_mapping: false, amq_model_mapping: { a: "b" }, supported_models: "gpt" },
        "supported_models",
      ],
      [{ enable_model_mapping: "yes" }, "enable_model_mapping"],
      [{ enable_model_mapping: false, gemini_only_models: ["ok", 5] }, "gemini_only_models.1"],
      [{ enable_model_mapping: false, model_mapping: { a: 1 } }, "model_mapping"],
      [{ enable_model_mapping: false, amazonq_family_models: { opus: "x" } }, "amazonq_family_models"],
      [{ enable_model_mapping: false, gemini_only_models: [""] }, "gemini_only_models"],
      [[1, 2], "body"],
      ["text", "body"],
      [null, "body"],
    ];
    for (const [body, key] of cases) {
      const result = await put(t, token, body);
      assert.equal(result.status, 400, JSON.stringify(body));
      assert.equal(result.body.error.type, "invalid_request_error");
      assert.ok(
        result.body.error.message.includes(key),
        `${JSON.stringify(body)}: ${result.body.error.message}`,
      );
    }
    // Nothing was written, not even the valid keys that came first.
    assert.deepEqual(await t.store.config.getAll(), {});
    assert.equal((await getConfig(t, token)).enable_model_mapping, true);

    const invalid = await t.request("/v2/config", {
      method: "PUT",
      headers: { "x-session-token": token, "content-type": "application/json" },
      body: '{"enable_model_mapping": fal',
    });
    assert.equal(invalid.status, 400);
    const body = await invalid.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /JSON/);

    // Without a session it is not reachable at all.
    const anonymous = await t.request("/v2/config", json({ enable_model_mapping: false }, {}, "PUT"));
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    assert.deepEqual(await t.store.config.getAll(), {});
  } finally {
    await t.close();
  }
});

Deno.test("a stored value of the wrong type falls back to its default on read; valid ones are used", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    await t.store.config.putMany({ enable_model_mapping: "false", supported_models: ["a", "b"] });
    const config = await getConfig(t, token);
    assert.equal(config.enable_model_mapping, true);
    assert.deepEqual(config.supported_models, ["a", "b"]);
  } finally {
    await t.close();
  }
});
