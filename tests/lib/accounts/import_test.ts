/**
 * Account import through `POST /v2/accounts/import` (issue 4): the Python amq2api's pipe-separated
 * lines (11-field and old 8-field forms, comments, bad lines reported, not fatal), this server's JSON export
 * round-tripped into a fresh instance, and the KiroGate token list. Imported accounts serve at once.
 */
import assert from "node:assert/strict";
import { adminSession, json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";
import { answerText, ask, fakeOpenAI } from "../../_helpers/pool_helpers.ts";

async function post(t: TestApp, token: string, path: string, body: unknown) {
  const response = await t.request(path, json(body, { "x-session-token": token }));
  return { status: response.status, body: await response.json() };
}

Deno.test("import of the Python amq2api's pipe format: 11-field and 8-field lines, comments, bad lines", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const lines = [
      "# exported 2026-01-01",
      "",
      'amazonq|q-new|cid1|csecret1|rt1|at1|||70|15|{"profileArn":"arn:aws:codewhisperer:us-east-1:1:profile/P"}',
      "gemini|g-old|gcid|gsecret|grt|gat|proj-9|https://cloudcode.example",
      `custom_api|c-new||sk-imported|||||5|0|{"api_base":"${fake.url}/v1","format":"openai","model":"gpt-x"}`,
      "amazonq|broken|only-three",
      "martian|x|a|b|c|d",
    ].join("\n");
    const dry = await post(t, token, "/v2/accounts/import", { data: lines, dry_run: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.parsed, 3);
    assert.equal(dry.body.imported, 0);
    assert.equal((await t.store.accounts.list()).length, 0, "a dry run writes nothing");

    const result = await post(t, token, "/v2/accounts/import", { data: lines });
    assert.equal(result.body.imported, 3);
    assert.equal(result.body.errors.length, 2);
    assert.match(result.body.errors[0], /line 6/);
    assert.match(result.body.errors[1], /line 7: unknown type "martian"/);

    const byLabel = new Map((await t.store.accounts.list()).map((a) => [a.label, a]));
    const q = byLabel.get("q-new")!;
    assert.equal(q.type, "amazonq");
    assert.equal(q.clientId, "cid1");
    assert.equal(q.clientSecret, "csecret1");
    assert.equal(q.refreshToken, "rt1");
    assert.equal(q.accessToken, "at1");
    assert.equal(q.weight, 70);
    assert.equal(q.rate_limit_per_hour, 15);
    assert.equal(q.other.profileArn, "arn:aws:codewhisperer:us-east-1:1:profile/P");
    assert.equal(q.enabled, true);
    const g = byLabel.get("g-old")!;
    assert.equal(g.type, "gemini");
    assert.deepEqual(g.other, { project: "proj-9", api_endpoint: "https://cloudcode.example" });
    assert.equal(g.weight, 50);

    // The imported custom account serves requests right away.
    assert.equal(await answerText(await ask(t, "hi")), "ok:sk-imported");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("JSON export with secrets imports into a fresh instance; KiroGate lists import as Amazon Q accounts", async () => {
  const source = makeTestApp();
  const target = makeTestApp();
  try {
    const a = await adminSession(source);
    await source.store.accounts.create({
      type: "amazonq",
      label: "q",
      clientId: "cid",
      clientSecret: "cs",
      refreshToken: "rt",
      accessToken: "at",
      other: { profileArn: "arn:p" },
      weight: 80,
      rate_limit_per_hour: 30,
    });
    await source.store.accounts.create({
      type: "custom_api",
      label: "c",
      clientSecret: "sk-c",
      other: { api_base: "https://api.example.com/v1", format: "claude" },
      enabled: false,
      max_inflight: 2,
    });
    const exported = await (await source.request("/v2/accounts/export?include_secrets=true", {
      headers: { "x-session-token": a },
    })).json();
    assert.equal(exported.version, 1);
    const masked = await (await source.request("/v2/accounts/export", { headers: { "x-session-token": a } }))
      .json();
    assert.ok(
      masked.accounts.every((x: Record<string, unknown>) => x.refreshToken === undefined),
      "no secrets unless asked",
    );

    const b = await adminSession(target);
    const result = await post(target, b, "/v2/accounts/import", { data: exported });
    assert.equal(result.body.imported, 2);
    assert.deepEqual(result.body.errors, []);
    const byLabel = new Map((await target.store.accounts.list()).map((x) => [x.label, x]));
    const q = byLabel.get("q")!;
    assert.deepEqual(
      [q.type, q.clientId, q.clientSecret, q.refreshToken, q.accessToken, q.weight, q.rate_limit_per_hour],
      ["amazonq", "cid", "cs", "rt", "at", 80, 30],
    );
    assert.equal(q.other.profileArn, "arn:p");
    const c = byLabel.get("c")!;
    assert.equal(c.enabled, false, "the enabled flag round-trips");
    assert.equal(c.clientSecret, "sk-c");
    assert.equal(c.other.format, "claude");

    // KiroGate: an IdC entry with client credentials and a social one without; the list arrives as text.
    const kirogate = JSON.stringify([
      { refreshToken: "aor-idc-123456", authType: "idc", clientId: "kcid", clientSecret: "kcs" },
      { refreshToken: "aor-social-654321", authType: "social" },
      { authType: "social" },
    ]);
    const kg = await post(target, b, "/v2/accounts/import", { data: kirogate });
    assert.equal(kg.body.imported, 2);
    assert.equal(kg.body.errors.length, 1);
    const all = await target.store.accounts.list();
    const idc = all.find((x) => x.refreshToken === "aor-idc-123456")!;
    assert.equal(idc.type, "amazonq");
    assert.equal(idc.clientId, "kcid");
    assert.equal(idc.other.authType, "idc");
    const social = all.find((x) => x.refreshToken === "aor-social-654321")!;
    assert.equal(social.clientId, null);
    assert.equal(social.other.authType, "social");

    // And back out: the KiroGate export holds both Amazon Q accounts with refresh tokens.
    const back = await (await target.request("/v2/accounts/export?format=kirogate&include_secrets=true", {
      headers: { "x-session-token": b },
    })).json();
    assert.deepEqual(
      back.map((x: { refreshToken: string }) => x.refreshToken).sort(),
      ["aor-idc-123456", "aor-social-654321", "rt"],
    );
  } finally {
    await source.close();
    await target.close();
  }
});
