import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config.ts";
import { CodeAssistClient } from "../../lib/gemini/code_assist_client.ts";
import { GeminiOAuthFlow } from "../../lib/gemini/oauth_flow.ts";
import type { Account, AccountPatch, AccountRepo, NewAccount } from "../../lib/store/types.ts";
import { createGeminiOAuthRoutes } from "../../routes/gemini_oauth.ts";
import { fakeGoogle, type FakeGoogleScript, geminiAccount, idToken } from "../_helpers/gemini_helpers.ts";

const START = Date.parse("2025-06-01T12:00:00Z");

/** The four repository methods the routes use, over an array. */
class MemoryAccounts implements Pick<AccountRepo, "list" | "create" | "update" | "patchOther"> {
  rows: Account[] = [];
  list(filter?: { type?: string }): Promise<Account[]> {
    return Promise.resolve(
      this.rows.filter((a) => !filter?.type || a.type === filter.type).map((a) => structuredClone(a)),
    );
  }
  create(input: NewAccount): Promise<Account> {
    const account = geminiAccount(input.other ?? {}, {
      id: `acc-${this.rows.length + 1}-0123456789`,
      label: input.label ?? null,
      clientId: input.clientId ?? null,
      clientSecret: input.clientSecret ?? null,
      refreshToken: input.refreshToken ?? null,
      accessToken: input.accessToken ?? null,
      tokenExpiresAt: input.tokenExpiresAt ?? null,
      other: input.other ?? {},
    });
    this.rows.push(account);
    return Promise.resolve(structuredClone(account));
  }
  update(id: string, patch: AccountPatch): Promise<Account | null> {
    const row = this.rows.find((a) => a.id === id);
    if (row) Object.assign(row, patch);
    return Promise.resolve(row ? structuredClone(row) : null);
  }
  patchOther(id: string, patch: Record<string, unknown>): Promise<void> {
    const row = this.rows.find((a) => a.id === id);
    if (row) row.other = { ...row.other, ...patch };
    return Promise.resolve();
  }
}

function script(): FakeGoogleScript {
  const exchange = (access: string, refresh: string | undefined, email: string) => ({
    access_token: access,
    ...(refresh ? { refresh_token: refresh } : {}),
    expires_in: 3599,
    token_type: "Bearer",
    id_token: idToken({ email, email_verified: true }),
  });
  return {
    codes: {
      "code-new": exchange("at-new", "1//refresh-new", "Donor@Example.com"),
      "code-again": exchange("at-existing", "1//refresh-again", "donor@example.com"),
      "code-other": exchange("at-existing", "1//refresh-other", "other@example.com"),
      "code-nul": exchange("at-existing", "1//refresh-nul", "nul\u0000@example.com"),
      "code-norefresh": exchange("at-existing", undefined, "x@example.com"),
      "code-used": [400, { error: "invalid_grant", error_description: "Bad Request" }],
      // No id_token: the e-mail comes from the userinfo endpoint.
      "code-noid": { access_token: "at-existing", refresh_token: "1//refresh-noid", expires_in: 3599 },
    },
    userinfo: { "at-existing": "donor@example.com" },
    refreshes: {},
    load: {
      // A brand-new user: no tier yet, free tier offered -> onboarding.
      "at-new": { allowedTiers: [{ id: "free-tier", isDefault: true }, { id: "legacy-tier" }] },
      "at-existing": {
        currentTier: { id: "standard-tier" },
        cloudaicompanionProject: "projects-existing-42",
      },
    },
    onboardPolls: 3,
    models: {
      models: {
        "gemini-3-pro-high": {
          displayName: "Gemini 3 Pro",
          recommended: true,
          quotaInfo: { remainingFraction: 0.8, resetTime: "2025-06-01T17:00:00Z" },
        },
        "claude-sonnet-4-5": {
          displayName: "Claude Sonnet 4.5",
          recommended: true,
          quotaInfo: { resetTime: "2025-06-01T15:00:00Z" },
        },
        "chat_20706": { displayName: "internal" },
      },
    },
  };
}

function setup(options: { configured?: boolean; baseUrl?: string } = {}) {
  const google = fakeGoogle(script());
  const env: Record<string, string> = {
    GEMINI_TOKEN_ENDPOINT: `${google.url}/token`,
    GEMINI_AUTH_ENDPOINT: "https://accounts.example.test/o/oauth2/v2/auth",
    GEMINI_API_ENDPOINT: google.url,
    GEMINI_USERINFO_ENDPOINT: `${google.url}/userinfo`,
  };
  if (options.configured !== false) {
    env.GEMINI_CLIENT_ID = "donate-client.apps.example";
    env.GEMINI_CLIENT_SECRET = "donate-secret";
  }
  const config = parseConfig((name) => env[name]);
  let now = START;
  const sleeps: number[] = [];
  const codeAssist = new CodeAssistClient({
    fetch: globalThis.fetch,
    userAgent: config.gemini.userAgent,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  const flow = new GeminiOAuthFlow({
    fetch: globalThis.fetch,
    config: config.gemini,
    codeAssist,
    now: () => now,
  });
  const accounts = new MemoryAccounts();
  // A request with `x-admin: yes` stands for one with a valid admin session.
  const app = createGeminiOAuthRoutes({
    flow,
    accounts,
    baseUrl: options.baseUrl,
    isAdmin: (c) => Promise.resolve(c.req.header("x-admin") === "yes"),
  });
  return {
    google,
    app,
    accounts,
    sleeps,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

async function begin(app: ReturnType<typeof setup>["app"], mode = "") {
  const res = await app.request(`/api/gemini/oauth-config${mode ? `?mode=${mode}` : ""}`);
  assert.equal(res.status, 200);
  return await res.json() as { authorizeUrl: string; state: string; clientId: string; redirectUri: string };
}

function paste(app: ReturnType<typeof setup>["app"], body: unknown) {
  return app.request("/api/gemini/oauth-callback", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function base64UrlSha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

Deno.test("donation flow: authorize URL, pasted redirect, PKCE exchange, onboarding poll, quota, stored account", async () => {
  const { google, app, accounts, sleeps } = setup();
  try {
    const start = await begin(app);
    const url = new URL(start.authorizeUrl);
    assert.equal(url.origin + url.pathname, "https://accounts.example.test/o/oauth2/v2/auth");
    assert.equal(start.clientId, "donate-client.apps.example");
    assert.equal(start.redirectUri, "http://localhost:64312/oauth-callback");
    const q = url.searchParams;
    assert.equal(q.get("client_id"), "donate-client.apps.example");
    assert.equal(q.get("redirect_uri"), start.redirectUri);
    assert.equal(q.get("response_type"), "code");
    assert.equal(q.get("access_type"), "offline");
    assert.equal(q.get("prompt"), "consent");
    assert.equal(q.get("state"), start.state);
    assert.match(start.state, /^[0-9a-f]{64}$/);
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.match(q.get("scope") ?? "", /auth\/cloud-platform .*userinfo\.email/);

    const res = await paste(app, {
      url: `http://localhost:64312/oauth-callback?state=${start.state}&code=code-new&scope=x`,
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.success, true);
    assert.equal(body.updated, false);

    const exchange = google.requests.find((r) => r.path === "/token")!;
    const form = new URLSearchParams(exchange.body);
    assert.equal(form.get("grant_type"), "authorization_code");
    assert.equal(form.get("code"), "code-new");
    assert.equal(form.get("redirect_uri"), "http://localhost:64312/oauth-callback");
    assert.equal(await base64UrlSha256(form.get("code_verifier")!), q.get("code_challenge"));

    // New user: onboarded onto the free tier with no project sent, operation polled until done.
    const onboard = google.requests.find((r) => r.path === "/v1internal:onboardUser")!;
    assert.equal(JSON.parse(onboard.body).tierId, "free-tier");
    assert.equal(JSON.parse(onboard.body).cloudaicompanionProject, undefined);
    assert.equal(google.requests.filter((r) => r.path === "/v1internal/operations/onboard-1").length, 3);
    assert.equal(sleeps.length, 3);

    assert.equal(accounts.rows.length, 1);
    const account = accounts.rows[0]!;
    assert.equal(account.type, "gemini");
    assert.equal(account.label, "Gemini-20250601-120000");
    assert.equal(account.clientId, "donate-client.apps.example");
    assert.equal(account.clientSecret, "donate-secret");
    assert.equal(account.refreshToken, "1//refresh-new");
    assert.equal(account.accessToken, "at-new");
    assert.equal(account.tokenExpiresAt, START + 3_599_000);
    assert.equal(account.other.project, "proj-onboarded");
    assert.equal(account.other.api_endpoint, google.url);
    assert.equal(account.other.email, "donor@example.com");
    assert.deepEqual(account.other.quota, {
      "gemini-3-pro-high": {
        displayName: "Gemini 3 Pro",
        recommended: true,
        remainingFraction: 0.8,
        resetTime: "2025-06-01T17:00:00Z",
      },
      "claude-sonnet-4-5": {
        displayName: "Claude Sonnet 4.5",
        recommended: true,
        remainingFraction: 0,
        resetTime: "2025-06-01T15:00:00Z",
      },
    });
  } finally {
    await google.close();
  }
});

Deno.test("donation flow rejects state reuse, unknown, missing and expired states", async () => {
  const { google, app, accounts, advance } = setup();
  try {
    const start = await begin(app);
    assert.equal((await paste(app, { code: "code-other", state: start.state })).status, 200);
    const reused = await paste(app, { code: "code-other", state: start.state });
    assert.equal(reused.status, 400);
    const reusedBody = await reused.json();
    assert.equal(reusedBody.type, "error");
    assert.equal(reusedBody.error.type, "invalid_request_error");
    assert.match(reusedBody.error.message, /already used/);

    await begin(app);
    const mismatch = await paste(app, { code: "code-other", state: "f".repeat(64) });
    assert.equal(mismatch.status, 400);
    const missing = await paste(app, { url: "http://localhost:64312/oauth-callback?code=code-other" });
    assert.equal(missing.status, 400);
    assert.match((await missing.json()).error.message, /state/);

    const late = await begin(app);
    advance(11 * 60_000);
    const expired = await paste(app, { code: "code-other", state: late.state });
    assert.equal(expired.status, 400);
    assert.match((await expired.json()).error.message, /expired/);
    assert.equal(accounts.rows.length, 1);
  } finally {
    await google.close();
  }
});

Deno.test("a donation is held to the account limits: a NUL byte in what Google returned is a 400, nothing stored", async () => {
  const { google, app, accounts } = setup();
  try {
    const start = await begin(app);
    const refused = await paste(app, { code: "code-nul", state: start.state });
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /other\.email: must not contain NUL/);
    assert.equal(accounts.rows.length, 0);
  } finally {
    await google.close();
  }
});

Deno.test("donation flow reports a missing refresh token and a refused code as 400s", async () => {
  const { google, app, accounts } = setup();
  try {
    const a = await begin(app);
    const noRefresh = await paste(app, { code: "code-norefresh", state: a.state });
    assert.equal(noRefresh.status, 400);
    assert.match((await noRefresh.json()).error.message, /no refresh token/i);
    const b = await begin(app);
    const used = await paste(app, { code: "code-used", state: b.state });
    assert.equal(used.status, 400);
    assert.match((await used.json()).error.message, /invalid_grant/);
    assert.equal(accounts.rows.length, 0);
  } finally {
    await google.close();
  }
});

Deno.test("donation flow rejects bad input without a 500", async () => {
  const { google, app } = setup();
  try {
    for (
      const body of [
        "not json",
        "[]",
        JSON.stringify({ code: 5 }),
        JSON.stringify({}),
        JSON.stringify({ url: "::::" }),
      ]
    ) {
      const res = await paste(app, body);
      assert.equal(res.status, 400, body);
      assert.equal((await res.json()).type, "error");
    }
    const denied = await paste(app, {
      url: "http://localhost:64312/oauth-callback?error=access_denied&state=x",
    });
    assert.equal(denied.status, 400);
    assert.match((await denied.json()).error.message, /access_denied/);
    const mode = await app.request("/api/gemini/oauth-config?mode=evil");
    assert.equal(mode.status, 400);
    await mode.body?.cancel();
  } finally {
    await google.close();
  }
});

Deno.test("donating the same Google account again updates it instead of adding a copy", async () => {
  const { google, app, accounts } = setup();
  try {
    const first = await begin(app);
    assert.equal((await paste(app, { code: "code-new", state: first.state })).status, 200);
    accounts.rows[0]!.enabled = false;
    accounts.rows[0]!.disabled_reason = "invalid_grant";
    const second = await begin(app);
    const res = await paste(app, { code: "code-again", state: second.state });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).updated, true);
    assert.equal(accounts.rows.length, 1);
    const row = accounts.rows[0]!;
    assert.equal(row.refreshToken, "1//refresh-again");
    assert.equal(row.accessToken, "at-existing");
    assert.equal(row.enabled, true);
    assert.equal(row.disabled_reason, null);
    assert.equal(row.other.project, "projects-existing-42");
    // Without an id_token the e-mail is read from userinfo, and the same donor is still recognised.
    const noId = await begin(app);
    const viaUserinfo = await paste(app, { code: "code-noid", state: noId.state });
    assert.equal((await viaUserinfo.json()).updated, true);
    assert.equal(accounts.rows.length, 1);
    assert.equal(accounts.rows[0]!.refreshToken, "1//refresh-noid");
    // A different Google account is a new row.
    const third = await begin(app);
    assert.equal((await paste(app, { code: "code-other", state: third.state })).status, 200);
    assert.equal(accounts.rows.length, 2);
  } finally {
    await google.close();
  }
});

Deno.test("the public account list reads the store only and hides secrets", async () => {
  const { google, app, accounts } = setup();
  try {
    const start = await begin(app);
    assert.equal((await paste(app, { code: "code-new", state: start.state })).status, 200);
    const before = google.requests.length;
    const res = await app.request("/api/gemini/accounts");
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(google.requests.length, before, "no upstream call per view");
    for (
      const secret of ["1//refresh-new", "at-new", "donate-secret", "proj-onboarded", "donor@example.com"]
    ) {
      assert.equal(text.includes(secret), false, `leaks ${secret}`);
    }
    const body = JSON.parse(text);
    assert.equal(body.activeCount, 1);
    assert.equal(body.totalCount, 1);
    assert.equal(body.accounts[0].projectId, "proj***ded");
    assert.equal(body.accounts[0].email, "do***@example.com");
    assert.equal(body.accounts[0].quota["gemini-3-pro-high"].remainingPercent, 80);
    assert.deepEqual(body.modelTotals["gemini-3-pro-high"], {
      displayName: "Gemini 3 Pro",
      accountCount: 1,
      totalRemaining: 0.8,
      averagePercent: 80,
      earliestReset: "2025-06-01T17:00:00Z",
    });
    assert.equal(accounts.rows.length, 1);
  } finally {
    await google.close();
  }
});

Deno.test("the redirect-style callback redirects to the donation page", async () => {
  const { google, app, accounts } = setup({ baseUrl: "https://proxy.example.test" });
  try {
    const start = await begin(app, "server");
    assert.equal(start.redirectUri, "https://proxy.example.test/api/gemini/oauth-callback");
    const ok = await app.request(`/api/gemini/oauth-callback?code=code-other&state=${start.state}`);
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get("location"), "/donate?success=true");
    assert.equal(accounts.rows.length, 1);
    const again = await app.request(`/api/gemini/oauth-callback?code=code-other&state=${start.state}`);
    assert.equal(again.status, 302);
    assert.match(again.headers.get("location") ?? "", /^\/donate\?error=.*already%20used/);
    const denied = await app.request(`/api/gemini/oauth-callback?error=access_denied`);
    assert.match(denied.headers.get("location") ?? "", /^\/donate\?error=/);
    // A state issued for the paste-back redirect cannot be completed here.
    const paste = await begin(app);
    const wrong = await app.request(`/api/gemini/oauth-callback?code=code-other&state=${paste.state}`);
    assert.match(wrong.headers.get("location") ?? "", /another%20redirect/);
  } finally {
    await google.close();
  }
});

Deno.test("quota failures are tolerated and an unconfigured server answers 503", async () => {
  const { google, app, accounts } = setup();
  try {
    google.script.models = 500;
    const start = await begin(app);
    assert.equal((await paste(app, { code: "code-other", state: start.state })).status, 200);
    assert.deepEqual(accounts.rows[0]!.other.quota, {});
  } finally {
    await google.close();
  }
  const off = setup({ configured: false });
  try {
    const res = await off.app.request("/api/gemini/oauth-config");
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.clientId, null);
    assert.equal(body.error.type, "api_error");
    const post = await paste(off.app, { code: "c", state: "s" });
    assert.equal(post.status, 503);
    await post.body?.cancel();
  } finally {
    await off.google.close();
  }
});

Deno.test("the public account list shows donated accounts only, without admin labels", async () => {
  const { google, app, accounts } = setup();
  try {
    // An account the admin added (same type, no donation) and a donated one the admin switched off.
    await accounts.create({
      type: "gemini",
      label: "ops-private-label",
      refreshToken: "1//admin",
      other: {},
    });
    const start = await begin(app);
    assert.equal((await paste(app, { code: "code-new", state: start.state })).status, 200);
    const other = await begin(app);
    assert.equal((await paste(app, { code: "code-other", state: other.state })).status, 200);
    const switchedOff = accounts.rows.find((a) => a.other.email === "other@example.com")!;
    await accounts.update(switchedOff.id, { enabled: false });
    const body = await (await app.request("/api/gemini/accounts")).json();
    assert.equal(body.totalCount, 1);
    assert.equal(body.accounts.length, 1);
    assert.equal(body.accounts[0].email, "do***@example.com");
    const text = JSON.stringify(body);
    for (const hidden of ["ops-private-label", "Gemini-2025", "label", "ot***@example.com"]) {
      assert.equal(text.includes(hidden), false, `shows ${hidden}`);
    }
  } finally {
    await google.close();
  }
});

Deno.test("an admin signing in from the console adds a pool account, not a public donation", async () => {
  const { google, app, accounts } = setup();
  try {
    const start = await begin(app);
    const res = await app.request("/api/gemini/oauth-callback", {
      method: "POST",
      headers: { "content-type": "application/json", "x-admin": "yes" },
      body: JSON.stringify({ code: "code-new", state: start.state }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(accounts.rows.length, 1);
    assert.equal(accounts.rows[0]!.other.donated, undefined);
    const listed = await (await app.request("/api/gemini/accounts")).json();
    assert.equal(listed.totalCount, 0);
  } finally {
    await google.close();
  }
});

Deno.test("a sign-in begun on one instance completes on another through the store, once", async () => {
  const { openSqliteStore } = await import("../../lib/store/sqlite_store.ts");
  const { StorePendingSignIns } = await import("../../lib/gemini/pending_sign_ins.ts");
  const google = fakeGoogle(script());
  const dir = await Deno.makeTempDir({ prefix: "amq2api-oauth-" });
  const storeA = openSqliteStore(`${dir}/shared.db`);
  const storeB = openSqliteStore(`${dir}/shared.db`);
  try {
    const env: Record<string, string> = {
      GEMINI_TOKEN_ENDPOINT: `${google.url}/token`,
      GEMINI_API_ENDPOINT: google.url,
      GEMINI_USERINFO_ENDPOINT: `${google.url}/userinfo`,
      GEMINI_CLIENT_ID: "donate-client.apps.example",
      GEMINI_CLIENT_SECRET: "donate-secret",
    };
    const config = parseConfig((name) => env[name]);
    const codeAssist = new CodeAssistClient({ fetch, userAgent: "test", sleep: () => Promise.resolve() });
    const flow = (store: typeof storeA) =>
      new GeminiOAuthFlow({
        fetch,
        config: config.gemini,
        codeAssist,
        now: () => START,
        states: new StorePendingSignIns(store.oauthStates),
      });
    const a = flow(storeA);
    const b = flow(storeB);
    const started = await a.begin();
    const account = await b.complete({ code: "code-again", state: started.state });
    assert.equal(account.refreshToken, "1//refresh-again");
    await assert.rejects(() => a.complete({ code: "code-again", state: started.state }), /already used/);
  } finally {
    await storeA.close();
    await storeB.close();
    await google.close();
    await Deno.remove(dir, { recursive: true });
  }
});
