import assert from "node:assert/strict";
import { ModelRouter } from "../../../lib/routing/model_router.ts";
import {
  DEFAULT_ROUTING_CONFIG,
  routingConfigFrom,
  validateRoutingPatch,
} from "../../../lib/routing/routing_config.ts";
import type { Account } from "../../../lib/store/types.ts";
import { accountFixture } from "../../_helpers/account_fixture.ts";

function account(type: Account["type"], other: Record<string, unknown> = {}): Account {
  return accountFixture({
    id: crypto.randomUUID(),
    label: null,
    type,
    clientId: null,
    clientSecret: "k",
    refreshToken: null,
    accessToken: null,
    other,
    rate_limit_per_hour: 0,
    created_at: "",
    updated_at: "",
  });
}

Deno.test("ModelRouter maps the names Claude Code sends to Amazon Q ids, by table then by family", () => {
  const router = new ModelRouter(DEFAULT_ROUTING_CONFIG);
  assert.equal(router.amazonqModelId("claude-sonnet-4-5-20250929"), "claude-sonnet-4.5");
  assert.equal(router.amazonqModelId("claude-opus-4-6"), "claude-opus-4.6");
  assert.equal(router.amazonqModelId("claude-opus-4-7"), "claude-opus-4.6"); // a newer opus: family fallback
  assert.equal(router.amazonqModelId("gpt-4o"), null);
  assert.deepEqual(router.route("claude-sonnet-4-6").channels, ["amazonq", "custom_api"]);
  assert.deepEqual(router.route("gemini-2.5-pro").channels, ["gemini"]);
  assert.deepEqual(router.route("claude-sonnet-4.5").channels, ["amazonq"]); // amazonq_only_models
});

Deno.test("ModelRouter never silently swaps an unknown model on Gemini, and applies the global mapping", () => {
  const config = routingConfigFrom({ amq_model_mapping: { "claude-opus-4-6": "claude-sonnet-4-5" } });
  const router = new ModelRouter(config);
  assert.equal(router.geminiModel("gpt-4o"), null);
  assert.equal(router.route("claude-opus-4-6").model, "claude-sonnet-4-5");
  assert.deepEqual(router.route("claude-opus-4-6").channels, ["amazonq", "gemini", "custom_api"]);
  assert.equal(router.upstreamModel(account("gemini"), "claude-sonnet-4-5"), "claude-sonnet-4-5");
});

Deno.test("custom accounts use their per-account mappings, then other.model, then the requested name", () => {
  const router = new ModelRouter(DEFAULT_ROUTING_CONFIG);
  const mapped = account("custom_api", {
    model: "gpt-4o",
    modelMappings: [{ requestModel: "claude-x", targetModel: "deepseek" }],
  });
  assert.equal(router.upstreamModel(mapped, "claude-x"), "deepseek");
  assert.equal(router.upstreamModel(mapped, "claude-y"), "gpt-4o");
  assert.equal(router.upstreamModel(account("custom_api"), "anything"), "anything");
  const listed = router.listModels([mapped]).map((m) => m.id);
  assert.deepEqual(listed, ["claude-x", "gpt-4o"]);
  assert.equal(router.listModels([]).length, 0);
});

Deno.test("validateRoutingPatch rejects unknown keys and wrong types with the key named", () => {
  const bad = validateRoutingPatch({ enable_model_mapping: "yes", nope: 1 });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.ok(bad.errors.some((e) => e.startsWith("nope")));
    assert.ok(bad.errors.some((e) => e.startsWith("enable_model_mapping")));
  }
  const good = validateRoutingPatch({ supported_models: [] });
  assert.deepEqual(good, { ok: true, value: { supported_models: [] } });
  // A stored value of the wrong type falls back to the default instead of breaking routing.
  assert.deepEqual(
    routingConfigFrom({ supported_models: "oops" }).supported_models,
    DEFAULT_ROUTING_CONFIG.supported_models,
  );
});

Deno.test("ModelRouter treats Object.prototype member names as unknown models", () => {
  const router = new ModelRouter(DEFAULT_ROUTING_CONFIG);
  for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
    const route = router.route(name);
    assert.equal(route.model, name);
    assert.deepEqual(route.channels, ["custom_api"]);
    assert.equal(router.amazonqModelId(name), null);
    assert.equal(router.geminiModel(name), null);
  }
});
