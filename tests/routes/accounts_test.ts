import assert from "node:assert/strict";
import type { Account } from "../../lib/store/types.ts";
import { adminSession, json, makeTestApp, type TestApp } from "../_helpers/test_app.ts";

/** Every secret the tests store; none may ever appear in a response that is not an export with secrets. */
const S = {
  qSecret: "QSECRET-client-secret-0001",
  qRefresh: "QREFRESH-refresh-token-0002",
  qAccess: "QACCESS-access-token-0003",
  gSecret: "GSECRET-client-secret-0004",
  gRefresh: "GREFRESH-refresh-token-0005",
  cKey: "CKEY-upstream-api-key-0006",
  otherKey: "OTHERKEY-in-other-0007",
  nested: "NESTED-deep-secret-0008",
  shortSecret: "tiny",
};

interface Api {
  // Response bodies are arbitrary JSON that each test navigates freely.
  // deno-lint-ignore no-explicit-any
  call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; body: any }>;
}

function api(t: TestApp, token: string): Api {
  return {
    async call(method, path, body) {
      const init: RequestInit = body === undefined
        ? { method, headers: { "x-session-token": token } }
        : json(body, { "x-session-token": token }, method);
      const response = await t.request(path, init);
      const text = await response.text();
      return { status: response.status, text, body: text ? JSON.parse(text) : null };
    },
  };
}

function assertNoSecrets(text: string, where: string, secrets: readonly string[] = Object.values(S)): void {
  for (const secret of secrets) {
    if (secret === S.shortSecret) continue; // too short to search for; checked by value below
    assert.ok(!text.includes(secret), `${where} leaks ${secret}: ${text}`);
  }
}

async function setupWithAccounts(t: TestApp) {
  const a = api(t, await adminSession(t));
  const amazonq = await a.call("POST", "/v2/accounts", {
    type: "amazonq",
    label: "Q one",
    clientId: "q-client-id",
    clientSecret: S.qSecret,
    refreshToken: S.qRefresh,
    accessToken: S.qAccess,
  });
  const gemini = await a.call("POST", "/v2/accounts", {
    type: "gemini",
    label: "G one",
    clientId: "g-client-id",
    clientSecret: S.gSecret,
    refreshToken: S.gRefresh,
    other: { project: "proj-1", api_endpoint: "https://gemini.example" },
    weight: 70,
  });
  const custom = await a.call("POST", "/v2/accounts", {
    type: "custom_api",
    label: "C one",
    clientSecret: S.cKey,
    rate_limit_per_hour: 99,
    max_inflight: 4,
    other: {
      api_base: "https://api.example.com/v1",
      model: "gpt-x",
      format: "openai",
      provider: "openai",
      backup_api_key: S.otherKey,
      password: S.shortSecret,
      tokens: { access: S.nested },
      token_expires_note: 5,
    },
  });
  for (const created of [amazonq, gemini, custom]) {
    assert.equal(created.status, 201, created.text);
    assertNoSecrets(created.text, "create response");
  }
  return { a, amazonq: amazonq.body, gemini: gemini.body, custom: custom.body };
}

Deno.test("accounts of each type are created; list and detail mask every secret", async () => {
  const t = makeTestApp();
  try {
    const { a, amazonq, gemini, custom } = await setupWithAccounts(t);
    assert.equal(amazonq.type, "amazonq");
    assert.equal(gemini.type, "gemini");
    assert.equal(custom.type, "custom_api");
    assert.equal(amazonq.status, "active");
    assert.equal(amazonq.clientId, "q-client-id");
    assert.equal(amazonq.clientSecret, "QSEC…0001");
    assert.equal(amazonq.refreshToken, "QREF…0002");
    assert.equal(gemini.weight, 70);
    assert.equal(gemini.other.project, "proj-1");
    assert.equal(custom.rate_limit_per_hour, 99);
    assert.equal(custom.other.api_base, "https://api.example.com/v1");
    assert.equal(custom.other.password, "****");
    assert.equal(custom.other.token_expires_note, 5, "non-string values under secret-looking keys stay");
    assert.notEqual(custom.other.tokens.access, S.nested);

    // The store holds the real values.
    const stored = await t.store.accounts.get(amazonq.id);
    assert.equal(stored?.clientSecret, S.qSecret);
    assert.equal((await t.store.accounts.get(custom.id))?.other.backup_api_key, S.otherKey);

    const list = await a.call("GET", "/v2/accounts");
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 3);
    assertNoSecrets(list.text, "list");
    for (const id of [amazonq.id, gemini.id, custom.id]) {
      const detail = await a.call("GET", `/v2/accounts/${id}`);
      assert.equal(detail.status, 200);
      assert.equal(detail.body.id, id);
      assertNoSecrets(detail.text, "detail");
    }
    // Defaults.
    assert.equal(amazonq.enabled, true);
    assert.equal(amazonq.weight, 50);
    const disabled = await a.call("POST", "/v2/accounts", { type: "gemini", enabled: false });
    assert.equal(disabled.status, 201);
    assert.equal(disabled.body.status, "disabled");
  } finally {
    await t.close();
  }
});

Deno.test("create validates the type, ranges and custom_api fields, naming the field", async () => {
  const t = makeTestApp();
  try {
    const a = api(t, await adminSession(t));
    const cases: Array<[unknown, string]> = [
      [{ type: "custom_api", clientSecret: "k" }, "other.api_base"],
      [{ type: "custom_api", clientSecret: "k", other: { api_base: "" } }, "other.api_base"],
      [{ type: "custom_api", clientSecret: "k", other: { api_base: "not a url" } }, "other.api_base"],
      [{ type: "custom_api", clientSecret: "k", other: { api_base: "ftp://example.com" } }, "other.api_base"],
      [
        { type: "custom_api", clientSecret: "k", other: { api_base: "https://x.example", format: "xml" } },
        "other.format",
      ],
      [{ type: "custom_api", other: { api_base: "https://x.example" } }, "clientSecret"],
      [{ type: "custom_api", clientSecret: "", other: { api_base: "https://x.example" } }, "clientSecret"],
      [{ type: "bogus" }, "type"],
      [{ type: "amazonq", weight: 0 }, "weight"],
      [{ type: "amazonq", weight: 1.5 }, "weight"],
      [{ type: "amazonq", rate_limit_per_hour: -1 }, "rate_limit_per_hour"],
      [{ type: "amazonq", label: 7 }, "label"],
      [{ type: "amazonq", other: "nope" }, "other"],
      [{ type: "amazonq", enabled: "yes" }, "enabled"],
      [[1, 2], ""],
    ];
    for (const [body, field] of cases) {
      const response = await a.call("POST", "/v2/accounts", body);
      assert.equal(response.status, 400, `${JSON.stringify(body)} -> ${response.text}`);
      assert.equal(response.body.error.type, "invalid_request_error");
      assert.ok(
        response.body.error.message.includes(field),
        `${JSON.stringify(body)}: ${response.body.error.message}`,
      );
    }
    const invalidJson = await t.request("/v2/accounts", {
      method: "POST",
      headers: { "x-session-token": await adminSession(t), "content-type": "application/json" },
      body: "{oops",
    });
    assert.equal(invalidJson.status, 400);
    await invalidJson.body?.cancel();
    assert.equal((await t.store.accounts.count()).total, 0);
  } finally {
    await t.close();
  }
});

Deno.test("PATCH updates partially, clears with null, merges other, re-enables and clears cooldowns", async () => {
  const t = makeTestApp();
  try {
    const { a, amazonq, gemini, custom } = await setupWithAccounts(t);

    const renamed = await a.call("PATCH", `/v2/accounts/${amazonq.id}`, { label: "Q renamed", weight: 5 });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.label, "Q renamed");
    assert.equal(renamed.body.weight, 5);
    assert.equal(renamed.body.clientId, "q-client-id");
    assertNoSecrets(renamed.text, "patch response");
    let stored = await t.store.accounts.get(amazonq.id);
    assert.equal(stored?.refreshToken, S.qRefresh, "untouched fields keep their values");

    const rotated = await a.call("PATCH", `/v2/accounts/${amazonq.id}`, {
      refreshToken: "NEWREFRESH-token-value-9",
      accessToken: null,
      label: null,
    });
    assert.equal(rotated.status, 200);
    assertNoSecrets(rotated.text, "patch response", ["NEWREFRESH-token-value-9", ...Object.values(S)]);
    stored = await t.store.accounts.get(amazonq.id);
    assert.equal(stored?.refreshToken, "NEWREFRESH-token-value-9");
    assert.equal(stored?.accessToken, null);
    assert.equal(stored?.label, null);
    assert.equal(rotated.body.accessToken, null);

    // `other` is merged, not replaced; a null value removes a key.
    const merged = await a.call("PATCH", `/v2/accounts/${gemini.id}`, {
      other: { project: "proj-2", note: "x" },
    });
    assert.equal(merged.status, 200);
    assert.deepEqual(merged.body.other, {
      project: "proj-2",
      api_endpoint: "https://gemini.example",
      note: "x",
    });
    const removed = await a.call("PATCH", `/v2/accounts/${gemini.id}`, { other: { api_endpoint: null } });
    assert.deepEqual(removed.body.other, { project: "proj-2", note: "x" });

    // Custom accounts are re-validated after the merge; nothing is written when invalid.
    const bad = await a.call("PATCH", `/v2/accounts/${custom.id}`, {
      other: { api_base: "nope" },
      label: "x",
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /other\.api_base/);
    const noKey = await a.call("PATCH", `/v2/accounts/${custom.id}`, { clientSecret: null });
    assert.equal(noKey.status, 400);
    assert.match(noKey.body.error.message, /clientSecret/);
    const customNow = await t.store.accounts.get(custom.id);
    assert.equal(customNow?.other.api_base, "https://api.example.com/v1");
    assert.equal(customNow?.label, "C one");
    assert.equal(customNow?.clientSecret, S.cKey);
    const model = await a.call("PATCH", `/v2/accounts/${custom.id}`, { other: { model: "gpt-y" } });
    assert.equal(model.status, 200);
    assert.equal(model.body.other.model, "gpt-y");
    assert.equal((await t.store.accounts.get(custom.id))?.other.backup_api_key, S.otherKey);

    // Unknown fields and type changes are refused.
    for (const body of [{ type: "gemini" }, { surprise: 1 }, { weight: -3 }, { enabled: "no" }]) {
      const refused = await a.call("PATCH", `/v2/accounts/${gemini.id}`, body);
      assert.equal(refused.status, 400, JSON.stringify(body));
    }

    // Re-enabling clears the automatic disable reason.
    const now = t.clock.now();
    await t.store.accounts.update(amazonq.id, {
      enabled: false,
      disabled_reason: "suspended",
      disabled_at: now,
    });
    const disabled = await a.call("GET", `/v2/accounts/${amazonq.id}`);
    assert.equal(disabled.body.status, "disabled");
    assert.equal(disabled.body.disabled_reason, "suspended");
    const enabled = await a.call("PATCH", `/v2/accounts/${amazonq.id}`, { enabled: true });
    assert.equal(enabled.body.enabled, true);
    assert.equal(enabled.body.disabled_reason, null);
    assert.equal(enabled.body.disabled_at, null);
    assert.equal(enabled.body.status, "active");

    // Cooldown and parking show in the status and are lifted by clear_cooldown.
    await t.store.accounts.update(gemini.id, { cooldown_until: now + 60_000 });
    assert.equal((await a.call("GET", `/v2/accounts/${gemini.id}`)).body.status, "cooldown");
    await t.store.accounts.update(custom.id, { parked_until: now + 3_600_000 });
    await t.store.accounts.patchOther(custom.id, { quota_parked: { reason: "monthly" } });
    assert.equal((await a.call("GET", `/v2/accounts/${custom.id}`)).body.status, "parked");
    for (const id of [gemini.id, custom.id]) {
      const cleared = await a.call("PATCH", `/v2/accounts/${id}`, { clear_cooldown: true });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.body.status, "active");
      assert.equal(cleared.body.cooldown_until, null);
      assert.equal(cleared.body.parked_until, null);
    }
    assert.equal((await t.store.accounts.get(custom.id))?.other.quota_parked, undefined);

    assert.equal((await a.call("PATCH", "/v2/accounts/missing", { label: "x" })).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("DELETE removes the account; then it is 404", async () => {
  const t = makeTestApp();
  try {
    const { a, gemini } = await setupWithAccounts(t);
    const deleted = await a.call("DELETE", `/v2/accounts/${gemini.id}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { deleted: gemini.id });
    for (
      const [method, path] of [["GET", ""], ["DELETE", ""], ["GET", "/stats"], ["POST", "/refresh"]] as const
    ) {
      const gone = await a.call(method, `/v2/accounts/${gemini.id}${path}`);
      assert.equal(gone.status, 404, `${method} ${path}`);
      assert.equal(gone.body.error.type, "not_found_error");
    }
    assert.equal((await a.call("GET", "/v2/accounts")).body.length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("stats report calls, quota, cooldown and today's/this month's tokens", async () => {
  const t = makeTestApp();
  try {
    const { a, custom } = await setupWithAccounts(t);
    const now = t.clock.now();
    await t.store.accounts.recordCall(custom.id, "success", null, now - 1000);
    await t.store.accounts.recordCall(custom.id, "failure", "throttled", now - 2 * 3_600_000);
    await t.store.usage.record({
      account_id: custom.id,
      model: "gpt-x",
      channel: "custom_api",
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 1,
      cache_read_input_tokens: 2,
      created_at: now - 1000,
    });
    await t.store.accounts.update(custom.id, { cooldown_until: now + 30_000 });
    const stats = await a.call("GET", `/v2/accounts/${custom.id}/stats`);
    assert.equal(stats.status, 200);
    const s = stats.body;
    assert.equal(s.account_id, custom.id);
    assert.equal(s.calls_last_hour, 1);
    assert.equal(s.calls_last_day, 2);
    assert.equal(s.total_calls, 2);
    assert.equal(s.rate_limit_per_hour, 99);
    assert.equal(s.remaining_quota, 98);
    assert.equal(s.is_in_cooldown, true);
    assert.equal(s.cooldown_remaining_seconds, 30);
    assert.deepEqual(s.failures_by_class, { throttled: 1 });
    for (const period of ["today", "this_month"]) {
      assert.deepEqual(s.token_usage[period], {
        request_count: 1,
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        cache_creation_input_tokens: 1,
        cache_read_input_tokens: 2,
      });
    }
    assertNoSecrets(stats.text, "stats");
  } finally {
    await t.close();
  }
});

Deno.test("activity: every account's requests and success rates of the last hour, day and today", async () => {
  const t = makeTestApp();
  try {
    const { a, custom, amazonq } = await setupWithAccounts(t);
    const now = t.clock.now();
    const rec = (account_id: string, ago: number, outcome: string) =>
      t.store.usage.record({
        account_id,
        model: "gpt-x",
        channel: "custom_api",
        input_tokens: 1,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        created_at: now - ago,
        outcome,
      });
    await rec(custom.id, 60_000, "success");
    await rec(custom.id, 120_000, "transient");
    await rec(custom.id, 180_000, "success");
    await rec(custom.id, 5 * 3_600_000, "throttled");
    await rec(amazonq.id, 2 * 3_600_000, "client_closed");
    // The clock stands at 12:00 UTC; the viewer's day began at 09:00 UTC.
    const res = await a.call("GET", `/v2/accounts/activity?today_start=${now - 3 * 3_600_000}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.today_start, new Date(now - 3 * 3_600_000).toISOString());
    const byId = new Map(res.body.accounts.map((r: { account_id: string }) => [r.account_id, r]));
    assert.deepEqual(byId.get(custom.id), {
      account_id: custom.id,
      hour: { requests: 3, successes: 2, failures: 1, success_rate: 2 / 3 },
      day: { requests: 4, successes: 2, failures: 2, success_rate: 0.5 },
      today_requests: 3,
      last_failure_at: new Date(now - 120_000).toISOString(),
    });
    // Only a request the client hung up on: no success rate to speak of.
    assert.deepEqual(byId.get(amazonq.id), {
      account_id: amazonq.id,
      hour: { requests: 0, successes: 0, failures: 0, success_rate: null },
      day: { requests: 1, successes: 0, failures: 0, success_rate: null },
      today_requests: 1,
      last_failure_at: null,
    });
    assert.equal(byId.size, 2);
    // Without today_start, the day starts at UTC midnight.
    const utc = await a.call("GET", "/v2/accounts/activity");
    assert.equal(utc.body.today_start, "2026-11-25T00:00:00.000Z");
    for (const bad of ["soon", String(now + 1), String(now - 25 * 3_600_000), "-5"]) {
      const refused = await a.call("GET", `/v2/accounts/activity?today_start=${bad}`);
      assert.equal(refused.status, 400, bad);
      assert.match(refused.body.error.message, /^today_start:/);
    }
    // Admin only.
    const anonymous = await t.request("/v2/accounts/activity");
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("export leaves secrets out unless asked; KiroGate export requires include_secrets", async () => {
  const t = makeTestApp();
  try {
    const { a } = await setupWithAccounts(t);
    const plain = await a.call("GET", "/v2/accounts/export");
    assert.equal(plain.status, 200);
    assert.equal(plain.body.version, 1);
    assert.equal(plain.body.accounts.length, 3);
    assertNoSecrets(plain.text, "export without secrets");
    const custom = plain.body.accounts.find((x: { type: string }) => x.type === "custom_api");
    assert.equal(custom.other.api_base, "https://api.example.com/v1");
    assert.equal(custom.other.backup_api_key, undefined);

    const full = await a.call("GET", "/v2/accounts/export?include_secrets=true");
    assert.equal(full.status, 200);
    for (const secret of [S.qSecret, S.qRefresh, S.qAccess, S.gRefresh, S.cKey, S.otherKey, S.nested]) {
      assert.ok(full.text.includes(secret), `export with secrets lacks ${secret}`);
    }

    const kiroRefused = await a.call("GET", "/v2/accounts/export?format=kirogate");
    assert.equal(kiroRefused.status, 400);
    assert.match(kiroRefused.body.error.message, /include_secrets/);
    const kiro = await a.call("GET", "/v2/accounts/export?format=kirogate&include_secrets=true");
    assert.equal(kiro.status, 200);
    assert.deepEqual(kiro.body, [
      { refreshToken: S.qRefresh, authType: "idc", clientId: "q-client-id", clientSecret: S.qSecret },
    ]);
    assert.equal((await a.call("GET", "/v2/accounts/export?format=csv")).status, 400);
  } finally {
    await t.close();
  }
});

Deno.test("import takes this server's export, which round-trips", async () => {
  const source = makeTestApp();
  const target = makeTestApp();
  try {
    const { a } = await setupWithAccounts(source);
    const exported = (await a.call("GET", "/v2/accounts/export?include_secrets=true")).body;
    const b = api(target, await adminSession(target));
    const imported = await b.call("POST", "/v2/accounts/import", { data: exported });
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.body.imported, 3);
    assert.deepEqual(imported.body.errors, []);
    assertNoSecrets(imported.text, "import response");
    const strip = (x: Account) => {
      const { id: _i, created_at: _c, updated_at: _u, ...rest } = x;
      return rest;
    };
    const before = (await source.store.accounts.list()).map(strip).sort((x, y) =>
      String(x.label).localeCompare(String(y.label))
    );
    const after = (await target.store.accounts.list()).map(strip).sort((x, y) =>
      String(x.label).localeCompare(String(y.label))
    );
    assert.deepEqual(after, before);

    // As a JSON string too, and a dry run writes nothing.
    const dry = await b.call("POST", "/v2/accounts/import", {
      data: JSON.stringify(exported),
      dry_run: true,
    });
    assert.equal(dry.body.parsed, 3);
    assert.equal(dry.body.imported, 0);
    assert.equal((await target.store.accounts.count()).total, 3);
  } finally {
    await source.close();
    await target.close();
  }
});

Deno.test("import takes the KiroGate list and the Python amq2api's 11- and 8-field lines, reporting errors per line", async () => {
  const t = makeTestApp();
  try {
    const a = api(t, await adminSession(t));
    const kiro = await a.call("POST", "/v2/accounts/import", {
      data: [
        { refreshToken: "kiro-idc-refresh", authType: "idc", clientId: "kc", clientSecret: "ks" },
        { refreshToken: "kiro-social-refresh", authType: "social" },
        { authType: "social" },
      ],
    });
    assert.equal(kiro.status, 200);
    assert.equal(kiro.body.imported, 2);
    assert.deepEqual(kiro.body.errors, ["accounts.2: refreshToken is required"]);
    const accounts = await t.store.accounts.list();
    const idc = accounts.find((x) => x.refreshToken === "kiro-idc-refresh")!;
    assert.equal(idc.type, "amazonq");
    assert.equal(idc.clientId, "kc");
    assert.equal(idc.clientSecret, "ks");
    assert.equal(idc.other.authType, "idc");
    const social = accounts.find((x) => x.refreshToken === "kiro-social-refresh")!;
    assert.equal(social.clientId, null);
    assert.equal(social.other.authType, "social");

    const lines = [
      "",
      "# exported by the reference",
      'gemini|G line|gcid|gsecret|grefresh|gaccess|proj-9|https://g.example|70|30|{"note":"a|b","modelMappings":[]}',
      "amazonq|Q line|qcid|qsecret|qrefresh|qaccess||",
      "too|few|fields",
      "martian|X|a|b|c|d|e|f",
      "amazonq|Bad json|c|s|r|a|||50|20|{not json",
      "custom_api|No base|c|key|||||50|20|{}",
      "amazonq|Bad weight|c|s|r|a|||-5|20|",
      "custom_api|Custom ok||ckey|||||40|0|" +
      JSON.stringify({ api_base: "https://c.example/v1", format: "claude" }),
    ].join("\n");
    const piped = await a.call("POST", "/v2/accounts/import", { data: lines });
    assert.equal(piped.status, 200, piped.text);
    const errors: string[] = piped.body.errors;
    assert.equal(errors.length, 5, JSON.stringify(errors));
    assert.ok(
      errors.some((e) => e.startsWith("line 5:") && e.includes("at least 6")),
      JSON.stringify(errors),
    );
    assert.ok(errors.some((e) => e.startsWith("line 6:") && e.includes("martian")), JSON.stringify(errors));
    assert.ok(
      errors.some((e) => e.startsWith("line 7:") && e.includes("other_json")),
      JSON.stringify(errors),
    );
    assert.ok(
      errors.some((e) => e.startsWith("line 8:") && e.includes("other.api_base")),
      JSON.stringify(errors),
    );
    assert.ok(errors.some((e) => e.startsWith("line 9:") && e.includes("weight")), JSON.stringify(errors));
    assert.equal(piped.body.imported, 4);
    assertNoSecrets(piped.text, "import response", ["gsecret", "grefresh", "qsecret", "qrefresh", "ckey"]);

    const all = await t.store.accounts.list();
    const g = all.find((x) => x.label === "G line")!;
    assert.equal(g.type, "gemini");
    assert.equal(g.clientSecret, "gsecret");
    assert.equal(g.refreshToken, "grefresh");
    assert.equal(g.accessToken, "gaccess");
    assert.equal(g.weight, 70);
    assert.equal(g.rate_limit_per_hour, 30);
    assert.deepEqual(g.other, {
      project: "proj-9",
      api_endpoint: "https://g.example",
      note: "a|b",
      modelMappings: [],
    });
    const q = all.find((x) => x.label === "Q line")!;
    assert.equal(q.type, "amazonq");
    assert.equal(q.clientId, "qcid");
    assert.equal(q.refreshToken, "qrefresh");
    assert.equal(q.weight, 50);
    assert.deepEqual(q.other, {});
    const badJson = all.find((x) => x.label === "Bad json")!;
    assert.deepEqual(badJson.other, {}, "imported without the broken JSON");
    const c = all.find((x) => x.label === "Custom ok")!;
    assert.equal(c.type, "custom_api");
    assert.equal(c.clientSecret, "ckey");
    assert.equal(c.other.format, "claude");
    assert.equal(all.find((x) => x.label === "Bad weight"), undefined);

    for (const data of ["{broken json", 42, { nothing: true }]) {
      const refused = await a.call("POST", "/v2/accounts/import", { data });
      assert.equal(refused.status, 200);
      assert.equal(refused.body.imported, 0);
      assert.equal(refused.body.errors.length, 1);
    }
    const weightJson = await a.call("POST", "/v2/accounts/import", {
      data: [{ type: "gemini", weight: -1 }],
    });
    assert.equal(weightJson.body.imported, 0);
    assert.match(weightJson.body.errors[0], /accounts\.0: weight/);
  } finally {
    await t.close();
  }
});
