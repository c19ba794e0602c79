import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { accountInputProblems } from "../../lib/accounts/account_input.ts";
import { parseAccountImport } from "../../lib/accounts/account_transfer.ts";
import { adminSession, json, makeTestApp, type TestApp } from "../_helpers/test_app.ts";

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function call(
  t: TestApp,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const init: RequestInit = body === undefined
    ? { method, headers: { "x-session-token": token } }
    : json(body, { "x-session-token": token }, method);
  const response = await t.request(path, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

async function assertListAndExport(t: TestApp, token: string, count: number): Promise<void> {
  const list = await call(t, token, "GET", "/v2/accounts");
  assert.equal(list.status, 200);
  assert.equal(list.body.length, count);
  for (const query of ["", "?include_secrets=true"]) {
    const exported = await call(t, token, "GET", `/v2/accounts/export${query}`);
    assert.equal(exported.status, 200, query);
    assert.equal(exported.body.accounts.length, count);
  }
}

function expect400(answer: Answer, fragment: string): void {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.error.type, "invalid_request_error");
  assert.ok(answer.body.error.message.includes(fragment), answer.body.error.message);
}

Deno.test("an `other` nested too deep is a 400 naming the field; nothing is inserted and list/export stay 200", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    for (const depth of [9, 8000]) {
      const answer = await call(t, token, "POST", "/v2/accounts", {
        type: "amazonq",
        refreshToken: "r",
        other: nested(depth),
      });
      assert.equal(answer.status, 400, `depth ${depth}`);
      assert.equal(answer.body.error.type, "invalid_request_error");
    }
    expect400(
      await call(t, token, "POST", "/v2/accounts", { type: "amazonq", refreshToken: "r", other: nested(9) }),
      "other: must not nest deeper than 8",
    );
    expect400(
      await call(t, token, "POST", "/v2/accounts", {
        type: "amazonq",
        refreshToken: "r",
        other: { blob: "x".repeat(17_000) },
      }),
      "other: must be at most 16384 bytes",
    );
    assert.equal((await t.store.accounts.list()).length, 0);
    await assertListAndExport(t, token, 0);
    const ok = await call(t, token, "POST", "/v2/accounts", {
      type: "amazonq",
      refreshToken: "r",
      other: nested(8),
    });
    assert.equal(ok.status, 201);
    // PATCH is held to the same limits, and a refused PATCH changes nothing.
    const id = ok.body.id;
    expect400(
      await call(t, token, "PATCH", `/v2/accounts/${id}`, { label: "new", other: nested(9) }),
      "other",
    );
    expect400(await call(t, token, "PATCH", `/v2/accounts/${id}`, { label: "x".repeat(201) }), "label");
    const after = await t.store.accounts.get(id);
    assert.equal(after?.label, null);
    assert.deepEqual(after?.other, nested(8));
    await assertListAndExport(t, token, 1);
  } finally {
    await t.close();
  }
});

Deno.test("NUL bytes in labels, tokens or other are a 400 naming the field, on create and PATCH", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ label: "a\u0000b" }, "label: must not contain NUL"],
      [{ refreshToken: "tok\u0000en" }, "refreshToken: must not contain NUL"],
      [{ clientId: "\u0000" }, "clientId"],
      [{ other: { project: "p\u0000q" } }, "other.project: must not contain NUL"],
    ];
    for (const [fields, fragment] of cases) {
      expect400(
        await call(t, token, "POST", "/v2/accounts", { type: "amazonq", refreshToken: "r", ...fields }),
        fragment,
      );
    }
    assert.equal((await t.store.accounts.list()).length, 0);
    const created = await call(t, token, "POST", "/v2/accounts", { type: "amazonq", refreshToken: "r" });
    expect400(
      await call(t, token, "PATCH", `/v2/accounts/${created.body.id}`, { accessToken: "x\u0000y" }),
      "accessToken: must not contain NUL",
    );
    assert.equal((await t.store.accounts.get(created.body.id))?.accessToken, null);
  } finally {
    await t.close();
  }
});

Deno.test("import applies the limits of POST: a 100,000-character label and a 2 MB token are reported, not stored", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const answer = await call(t, token, "POST", "/v2/accounts/import", {
      data: [
        { type: "amazonq", label: "L".repeat(100_000), refreshToken: "r1" },
        { type: "amazonq", label: "big token", refreshToken: "T".repeat(2 * 1024 * 1024) },
        { type: "amazonq", label: "deep", refreshToken: "r3", other: nested(50) },
        { type: "amazonq", label: "nul\u0000", refreshToken: "r4" },
        {
          type: "gemini",
          label: "creds",
          refreshToken: "r5",
          other: { api_endpoint: "https://u:p@g.example" },
        },
        { type: "amazonq", label: "fine", refreshToken: "r6" },
      ],
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.imported, 1);
    const errors: string[] = answer.body.errors;
    assert.equal(errors.length, 5, JSON.stringify(errors));
    assert.ok(errors[0]!.startsWith("accounts.0: label: must be at most 200"), errors[0]!);
    assert.ok(errors[1]!.startsWith("accounts.1: refreshToken: must be at most 20000"), errors[1]!);
    assert.ok(errors[2]!.startsWith("accounts.2: other: must not nest"), errors[2]!);
    assert.ok(errors[3]!.startsWith("accounts.3: label: must not contain NUL"), errors[3]!);
    assert.ok(
      errors[4]!.startsWith("accounts.4: other.api_endpoint: must not carry credentials"),
      errors[4]!,
    );
    assert.deepEqual((await t.store.accounts.list()).map((a) => a.label), ["fine"]);
    // The pipe format goes through the same check.
    const piped = parseAccountImport(`amazonq|${"L".repeat(300)}|c|s|r|a`);
    assert.equal(piped.accounts.length, 0);
    assert.match(piped.errors[0]!, /^line 1: label: must be at most 200/);
  } finally {
    await t.close();
  }
});

Deno.test("a damaged `other` already in the database never breaks the list or the export", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "amq2api.db");
  const t = makeTestApp({ env: { DATABASE_URL: `sqlite:${file}` } });
  try {
    const token = await adminSession(t);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = await call(t, token, "POST", "/v2/accounts", {
        type: "amazonq",
        refreshToken: `r${i}`,
      });
      ids.push(created.body.id);
    }
    // Written behind the API's back, the way a bad import of an older version or a hand edit would.
    const db = new DatabaseSync(file);
    try {
      const write = db.prepare("UPDATE accounts SET other = ? WHERE id = ?");
      write.run("{not json", ids[0]!);
      write.run(JSON.stringify(nested(8000)), ids[1]!);
      write.run("[1,2,3]", ids[2]!);
    } finally {
      db.close();
    }
    await assertListAndExport(t, token, 4);
    const list = await call(t, token, "GET", "/v2/accounts");
    const byId = new Map(list.body.map((a: { id: string; other: unknown }) => [a.id, a.other]));
    assert.deepEqual(byId.get(ids[0]), { unreadable_other: "not valid JSON" });
    assert.deepEqual(byId.get(ids[1]), { unreadable_other: "nested deeper than 64 levels" });
    assert.deepEqual(byId.get(ids[2]), { unreadable_other: "not a JSON object" });
    assert.deepEqual(byId.get(ids[3]), {});
    // The admin can repair it.
    const fixed = await call(t, token, "PATCH", `/v2/accounts/${ids[0]}`, {
      other: { unreadable_other: null },
    });
    assert.equal(fixed.status, 200);
    assert.deepEqual(fixed.body.other, {});
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admin-set upstream URLs: http(s) only and no credentials, for custom api_base and Gemini api_endpoint", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const custom = (api_base: string) =>
      call(t, token, "POST", "/v2/accounts", { type: "custom_api", clientSecret: "k", other: { api_base } });
    const gemini = (api_endpoint: string) =>
      call(t, token, "POST", "/v2/accounts", { type: "gemini", refreshToken: "r", other: { api_endpoint } });
    for (const bad of ["ftp://x.example", "file:///etc/passwd", "not a url"]) {
      expect400(await custom(bad), "other.api_base: must be an http(s) URL");
      expect400(await gemini(bad), "other.api_endpoint: must be an http(s) URL");
    }
    for (const withCredentials of ["https://user:pass@x.example/v1", "http://user@x.example"]) {
      expect400(await custom(withCredentials), "other.api_base: must not carry credentials");
      expect400(await gemini(withCredentials), "other.api_endpoint: must not carry credentials");
    }
    assert.equal((await t.store.accounts.list()).length, 0);
    assert.equal((await custom("https://x.example/v1")).status, 201);
    assert.equal((await gemini("http://127.0.0.1:9/")).status, 201);
    const id = (await t.store.accounts.list({ type: "gemini" }))[0]!.id;
    expect400(
      await call(t, token, "PATCH", `/v2/accounts/${id}`, {
        other: { api_endpoint: "https://a:b@g.example" },
      }),
      "other.api_endpoint",
    );
  } finally {
    await t.close();
  }
});

Deno.test("accountInputProblems: one function, the limits of every write", () => {
  assert.deepEqual(accountInputProblems({ label: "ok", other: { project: "p" } }), []);
  assert.deepEqual(accountInputProblems({ other: { api_endpoint: null } }), []);
  assert.deepEqual(accountInputProblems({ label: "x".repeat(201) }), [
    "label: must be at most 200 characters long",
  ]);
  assert.deepEqual(accountInputProblems({ other: { ["k\u0000"]: 1 } }), [
    "other.k\\0: must not contain NUL bytes",
  ]);
});

Deno.test("onboarding paths meet the same limits: a NUL in a device-login label or a token-cache token is refused", async () => {
  const t = makeTestApp({ env: { AMAZONQ_OIDC_ENDPOINT: "http://127.0.0.1:9" } });
  try {
    const token = await adminSession(t);
    // Refused before any call to AWS (the endpoint above would not answer).
    expect400(
      await call(t, token, "POST", "/v2/auth/start", { label: "q\u0000" }),
      "label: must not contain NUL",
    );
    const cache = JSON.stringify({
      accessToken: "aoa-access",
      refreshToken: "aor\u0000refresh",
      expiresAt: "2026-12-01T00:00:00Z",
      authMethod: "social",
      provider: "Github",
    });
    expect400(
      await call(t, token, "POST", "/v2/accounts/import-token-cache", { content: cache }),
      "refreshToken: must not contain NUL",
    );
    assert.equal((await t.store.accounts.list()).length, 0);
  } finally {
    await t.close();
  }
});
