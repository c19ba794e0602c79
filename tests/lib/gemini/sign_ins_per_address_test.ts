import assert from "node:assert/strict";
import { parseConfig } from "../../../lib/config.ts";
import { CodeAssistClient } from "../../../lib/gemini/code_assist_client.ts";
import { GeminiOAuthFlow } from "../../../lib/gemini/oauth_flow.ts";
import { StorePendingSignIns } from "../../../lib/gemini/pending_sign_ins.ts";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import { makeTestApp } from "../../_helpers/test_app.ts";

const START = Date.parse("2025-06-01T12:00:00Z");
const GEMINI_ENV: Record<string, string> = {
  GEMINI_CLIENT_ID: "donate-client.apps.example",
  GEMINI_CLIENT_SECRET: "donate-secret",
  GEMINI_AUTH_ENDPOINT: "https://accounts.example.test/o/oauth2/v2/auth",
};

Deno.test("one address cannot fill the pending sign-in table: its oldest sign-ins give way, others still begin", async () => {
  const store = openSqliteStore(":memory:");
  try {
    const config = parseConfig((name) => GEMINI_ENV[name]);
    let now = START;
    const flow = new GeminiOAuthFlow({
      fetch: globalThis.fetch,
      config: config.gemini,
      codeAssist: new CodeAssistClient({ fetch: globalThis.fetch, userAgent: "test" }),
      now: () => now,
      // A small server-wide bound, as the store's 10,000 would be for a flood.
      states: new StorePendingSignIns(store.oauthStates, 10),
    });
    const flooded: string[] = [];
    for (let i = 0; i < 50; i++) {
      flooded.push((await flow.begin(undefined, "203.0.113.66")).state);
      now += 1000;
    }
    // Real donors from elsewhere are not blocked.
    const donors: string[] = [];
    for (let i = 0; i < 5; i++) donors.push((await flow.begin(undefined, `198.51.100.${i}`)).state);
    // The flooding address kept only its five newest; the donors' states are all there.
    for (const state of flooded.slice(0, 45)) assert.equal(await store.oauthStates.take(state), null);
    for (const state of [...flooded.slice(45), ...donors]) {
      assert.ok(await store.oauthStates.take(state), state);
    }
  } finally {
    await store.close();
  }
});

Deno.test("/api/gemini/oauth-config caps pending sign-ins by the client address the server believes", async () => {
  const t = makeTestApp({ env: { ...GEMINI_ENV, TRUST_PROXY: "true" } });
  try {
    const begin = async (xff: string) => {
      const response = await t.request(
        "/api/gemini/oauth-config",
        { headers: { "x-forwarded-for": xff } },
        "10.0.0.1",
      );
      assert.equal(response.status, 200);
      return (await response.json()).state as string;
    };
    const states: string[] = [];
    // Rotating a made-up leftmost hop does not make a new address.
    for (let i = 0; i < 8; i++) states.push(await begin(`192.0.2.${i}, 203.0.113.7`));
    for (const state of states.slice(0, 3)) assert.equal(await t.store.oauthStates.take(state), null);
    for (const state of states.slice(3)) assert.ok(await t.store.oauthStates.take(state));
  } finally {
    await t.close();
  }
});
