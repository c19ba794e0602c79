import assert from "node:assert/strict";
import { UpstreamError } from "../../../lib/errors.ts";
import { CodeAssistClient } from "../../../lib/gemini/code_assist_client.ts";
import { GeminiRefresher } from "../../../lib/gemini/gemini_refresher.ts";
import { fakeGoogle, geminiAccount } from "../../_helpers/gemini_helpers.ts";

const NOW = 1_700_000_000_000;

function google() {
  return fakeGoogle({
    codes: {},
    refreshes: {
      "good-refresh": { access_token: "new-access", expires_in: 3600, token_type: "Bearer" },
      "1//rotating": { access_token: "new-access-2", refresh_token: "1//rotated", expires_in: 100 },
      "dead": [400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }],
      "flaky": [503, { error: "backend_error" }],
      "bad-client": [401, { error: "invalid_client", error_description: "The OAuth client was not found." }],
    },
    load: { "new-access": { currentTier: { id: "standard-tier" }, cloudaicompanionProject: "proj-found" } },
    onboardPolls: 1,
    models: {},
  });
}

function refresher(url: string, extra: Partial<ConstructorParameters<typeof GeminiRefresher>[0]> = {}) {
  return new GeminiRefresher({
    fetch: globalThis.fetch,
    tokenEndpoint: `${url}/token`,
    now: () => NOW,
    ...extra,
  });
}

Deno.test("GeminiRefresher refreshes with the account's client and maps expires_in", async () => {
  const server = google();
  try {
    const result = await refresher(server.url).refresh(geminiAccount({}, { refreshToken: "good-refresh" }));
    assert.deepEqual(result, { accessToken: "new-access", expiresAt: NOW + 3_600_000 });
    const form = new URLSearchParams(server.requests[0]!.body);
    assert.equal(server.requests[0]!.headers.get("content-type"), "application/x-www-form-urlencoded");
    assert.equal(form.get("grant_type"), "refresh_token");
    assert.equal(form.get("client_id"), "client-id");
    assert.equal(form.get("client_secret"), "client-secret");
    assert.equal(form.get("refresh_token"), "good-refresh");
  } finally {
    await server.close();
  }
});

Deno.test("GeminiRefresher decodes URL-encoded refresh tokens, returns rotated ones, uses the configured client", async () => {
  const server = google();
  try {
    const result = await refresher(server.url, { clientId: "cfg-id", clientSecret: "cfg-secret" }).refresh(
      geminiAccount({}, { refreshToken: "1%2F%2Frotating", clientId: null, clientSecret: null }),
    );
    assert.equal(result.refreshToken, "1//rotated");
    assert.equal(result.expiresAt, NOW + 100_000);
    const form = new URLSearchParams(server.requests[0]!.body);
    assert.equal(form.get("refresh_token"), "1//rotating");
    assert.equal(form.get("client_id"), "cfg-id");
  } finally {
    await server.close();
  }
});

Deno.test("GeminiRefresher classifies invalid_grant, 5xx, network errors and a missing client without leaking secrets", async () => {
  const server = google();
  try {
    const check = async (refreshToken: string, kind: string, opts = {}, account = {}) => {
      await assert.rejects(
        refresher(server.url, opts).refresh(geminiAccount({}, { refreshToken, ...account })),
        (e: unknown) => {
          assert.ok(e instanceof UpstreamError);
          assert.equal(e.kind, kind);
          assert.equal(e.message.includes(refreshToken), false);
          assert.equal(e.message.includes("client-secret"), false);
          return true;
        },
      );
    };
    await check("dead", "invalid_grant");
    await check("flaky", "transient");
    await check("bad-client", "auth");
    await check("good-refresh", "auth", {}, { clientId: null, clientSecret: null });
  } finally {
    await server.close();
  }
  const unreachable = new GeminiRefresher({
    fetch: globalThis.fetch,
    tokenEndpoint: server.url + "/token",
    now: () => NOW,
  });
  await assert.rejects(
    unreachable.refresh(geminiAccount({}, { refreshToken: "x" })),
    (e: unknown) => e instanceof UpstreamError && e.kind === "transient",
  );
});

Deno.test("GeminiRefresher discovers a missing project as an otherPatch", async () => {
  const server = google();
  try {
    const codeAssist = new CodeAssistClient({ fetch: globalThis.fetch, userAgent: "test" });
    const result = await refresher(server.url, { codeAssist, apiEndpoint: server.url }).refresh(
      geminiAccount({ project: undefined }, { refreshToken: "good-refresh" }),
    );
    assert.deepEqual(result.otherPatch, { project: "proj-found" });
    const withProject = await refresher(server.url, { codeAssist, apiEndpoint: server.url }).refresh(
      geminiAccount({}, { refreshToken: "good-refresh" }),
    );
    assert.equal(withProject.otherPatch, undefined);
  } finally {
    await server.close();
  }
});
