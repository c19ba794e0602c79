// The MySQL store against a real server: set MYSQL_TEST_URL=mysql://user:pass@127.0.0.1:3306/ (a user
// that may create and drop databases). The shared store contract runs first, then what only MySQL promises
// (migrations of reference databases, schema shape, races between instances). Each test gets its own
// database `amq2api_test_<random>`, dropped at the end. Without the variable these tests are reported as ignored. Raw SQL here only builds fixtures
// (a reference database) and inspects the schema; the product keeps SQL in lib/store.
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { openStore } from "../../../lib/store/open_store.ts";
import { MYSQL_SCHEMA_VERSION } from "../../../lib/store/mysql_migrations.ts";
import { openMysqlStore } from "../../../lib/store/mysql_store.ts";
import type { Store } from "../../../lib/store/types.ts";
import { runStoreContract } from "./store_contract.ts";

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");
const ignore = !BASE_URL;

type Admin = mysql.Connection;

function databaseUrl(name: string): string {
  const url = new URL(BASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database for `fn` (created unless `create` is false), dropped afterwards whatever happens. */
async function withDatabase(
  fn: (url: string, admin: Admin, name: string) => Promise<void>,
  { create = true } = {},
): Promise<void> {
  const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = await mysql.createConnection({ uri: BASE_URL!, supportBigNumbers: true });
  try {
    if (create) {
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    }
    await fn(databaseUrl(name), admin, name);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

async function rows(
  admin: Admin,
  sql: string,
  params: unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  const [result] = await admin.query(sql, params);
  return result as Array<Record<string, unknown>>;
}

async function tablesOf(admin: Admin, db: string): Promise<string[]> {
  const list = await rows(
    admin,
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    [db],
  );
  return list.map((r) => String(r.t)).sort();
}

runStoreContract("mysql", {
  ignore,
  enforcesColumnLengths: true,
  withDatabase: (fn) =>
    withDatabase(async (url) => {
      const opened: Store[] = [];
      try {
        await fn(async (options = {}) => {
          const store = await openMysqlStore(url, options);
          opened.push(store);
          return store;
        });
      } finally {
        for (const store of opened) await store.close();
      }
    }),
});

Deno.test({
  name: "mysql: schemaVersion, ping and close; a missing database is created",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, name) => {
      assert.deepEqual(await tablesOf(admin, name), []);
      const store = await openStore(url);
      assert.equal(store.kind, "mysql");
      assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
      assert.ok(MYSQL_SCHEMA_VERSION >= 2);
      await store.ping();
      await store.close();
      await store.close();
      await assert.rejects(store.ping());
      assert.deepEqual(await tablesOf(admin, name), [
        "amq2api_account_calls",
        "amq2api_accounts",
        "amq2api_admin_session_tokens",
        "amq2api_admin_users",
        "amq2api_cache_entries",
        "amq2api_client_keys",
        "amq2api_config",
        "amq2api_key_usage_windows",
        "amq2api_leases",
        "amq2api_login_attempts",
        "amq2api_meta",
        "amq2api_oauth_states",
        "amq2api_schema_version",
        "amq2api_store_versions",
        "amq2api_usage_daily",
        "amq2api_usage_hourly",
        "amq2api_usage_records",
      ]);
      const engines = await rows(
        admin,
        "SELECT DISTINCT ENGINE AS e, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
        [name],
      );
      assert.deepEqual(engines, [{ e: "InnoDB", c: "utf8mb4_bin" }]);
      assert.deepEqual(await rows(admin, `SELECT * FROM ${name}.amq2api_schema_version`), [
        { id: 1, version: MYSQL_SCHEMA_VERSION },
      ]);
    }, { create: false }),
});

Deno.test({
  name: "mysql: two stores migrating at once both open, over one set of tables",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, name) => {
      const stores = await Promise.all([openMysqlStore(url), openMysqlStore(url), openMysqlStore(url)]);
      try {
        for (const store of stores) assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        assert.equal((await tablesOf(admin, name)).length, 17);
        assert.deepEqual(await rows(admin, `SELECT version FROM ${name}.amq2api_schema_version`), [
          { version: MYSQL_SCHEMA_VERSION },
        ]);
        // Each sees the others' writes.
        const created = await stores[0]!.accounts.create({ type: "amazonq", label: "shared" });
        assert.equal((await stores[1]!.accounts.get(created.id))?.label, "shared");
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    }),
});

Deno.test({
  name: "mysql: two store instances contending for a lease: exactly one holds it per round",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const [s1, s2] = await Promise.all([openMysqlStore(url), openMysqlStore(url)]);
      try {
        for (let round = 0; round < 15; round++) {
          const name = `job-${round}`;
          const results = await Promise.all([
            s1.leases.acquire(name, "instance-1", 1_000, 60_000),
            s2.leases.acquire(name, "instance-2", 1_000, 60_000),
            s1.leases.acquire(name, "instance-3", 1_000, 60_000),
            s2.leases.acquire(name, "instance-4", 1_000, 60_000),
          ]);
          assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
        }
        // After expiry, a race for the same lease again has one winner.
        const results = await Promise.all([
          s1.leases.acquire("job-0", "instance-5", 61_000, 60_000),
          s2.leases.acquire("job-0", "instance-6", 61_000, 60_000),
        ]);
        assert.equal(results.filter(Boolean).length, 1);
      } finally {
        await Promise.all([s1.close(), s2.close()]);
      }
    }),
});

Deno.test({
  name: "mysql: createFirst racing from two store instances creates exactly one admin",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const [s1, s2] = await Promise.all([openMysqlStore(url), openMysqlStore(url)]);
      try {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? s2 : s1).admins.createFirst({
              id: `a${i}`,
              username: `admin${i}`,
              password_hash: "scrypt$h",
            })),
        );
        assert.equal(results.filter(Boolean).length, 1, String(results));
        assert.equal(await s1.admins.count(), 1);
        assert.equal(await s2.admins.count(), 1);
      } finally {
        await Promise.all([s1.close(), s2.close()]);
      }
    }),
});

/** The MySQL schema of the Python amq2api, before `weight`/`rate_limit_per_hour`. */
async function writeReferenceDatabase(admin: Admin, db: string): Promise<void> {
  const statements = [
    `CREATE TABLE ${db}.amq2api_accounts (
      id VARCHAR(36) PRIMARY KEY, label VARCHAR(255), clientId VARCHAR(255), clientSecret TEXT,
      refreshToken TEXT, accessToken TEXT, other LONGTEXT, last_refresh_time VARCHAR(32),
      last_refresh_status VARCHAR(32), created_at VARCHAR(32), updated_at VARCHAR(32), enabled TINYINT DEFAULT 1,
      type VARCHAR(32) DEFAULT 'amazonq'
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_call_logs (
      id INT AUTO_INCREMENT PRIMARY KEY, account_id VARCHAR(36) NOT NULL, timestamp VARCHAR(32) NOT NULL,
      model VARCHAR(255), INDEX idx_account_timestamp (account_id, timestamp),
      FOREIGN KEY (account_id) REFERENCES ${db}.amq2api_accounts(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_config (\`key\` VARCHAR(128) PRIMARY KEY, value LONGTEXT, updated_at VARCHAR(32))
      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_admin_users (
      id VARCHAR(36) PRIMARY KEY, username VARCHAR(50) UNIQUE NOT NULL, password_hash VARCHAR(255) NOT NULL,
      created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_admin_sessions (
      token VARCHAR(64) PRIMARY KEY, admin_id VARCHAR(36) NOT NULL, user_agent TEXT,
      created_at VARCHAR(32) NOT NULL, expires_at VARCHAR(32) NOT NULL, last_activity VARCHAR(32) NOT NULL,
      INDEX idx_expires_at (expires_at),
      FOREIGN KEY (admin_id) REFERENCES ${db}.amq2api_admin_users(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_usage (
      id VARCHAR(36) PRIMARY KEY, account_id VARCHAR(36), model VARCHAR(64), input_tokens INT DEFAULT 0,
      output_tokens INT DEFAULT 0, total_tokens INT DEFAULT 0, cache_creation_input_tokens INT DEFAULT 0,
      cache_read_input_tokens INT DEFAULT 0, channel VARCHAR(32) DEFAULT 'amazonq',
      created_at DATETIME DEFAULT CURRENT_TIMESTAMP
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ];
  for (const sql of statements) await admin.query(sql);
  const insert =
    `INSERT INTO ${db}.amq2api_accounts (id, label, clientId, clientSecret, refreshToken, accessToken,
    other, last_refresh_time, last_refresh_status, created_at, updated_at, enabled, type)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  await admin.query(insert, [
    "acc-q",
    "Q ref",
    "cid",
    "csecret",
    "rtoken",
    "atoken",
    null,
    "2025-06-01T10:00:00",
    "success",
    "2025-01-01T00:00:00",
    "2025-06-01T10:00:00",
    1,
    "amazonq",
  ]);
  await admin.query(insert, [
    "acc-g",
    "G ref",
    "gcid",
    "gsecret",
    "grefresh",
    null,
    JSON.stringify({ project: "proj-1", creditsInfo: { models: {} } }),
    null,
    null,
    "2025-02-01T00:00:00",
    "2025-02-01T00:00:00",
    0,
    "gemini",
  ]);
  await admin.query(
    `INSERT INTO ${db}.amq2api_accounts (id, label, other) VALUES ('acc-old', 'old', 'not json')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_call_logs (account_id, timestamp, model) VALUES ('acc-q', '2025-06-01T10:00:00', 'm')`,
  );
  for (
    const [key, value] of [
      ["enable_model_mapping", "false"],
      ["supported_models", JSON.stringify(["gemini-2.5-pro"])],
      // The Python version stored strings raw, so this value is not JSON.
      ["motd", "hello from the reference"],
    ]
  ) {
    await admin.query(
      `INSERT INTO ${db}.amq2api_config (\`key\`, value, updated_at) VALUES (?, ?, '2025-01-01T00:00:00')`,
      [key, value],
    );
  }
  await admin.query(
    `INSERT INTO ${db}.amq2api_admin_users VALUES ('adm', 'admin', '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRS', 'x', 'x')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_admin_sessions VALUES ('${"t".repeat(64)}', 'adm', NULL, 'x', 'x', 'x')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_usage (id, account_id, model, input_tokens) VALUES ('u1', 'acc-q', 'm', 5)`,
  );
}

Deno.test({
  name:
    "mysql: a reference database is upgraded in place: rows kept, new columns with defaults, reopening is a no-op",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await writeReferenceDatabase(admin, db);
      const store = await openMysqlStore(url);
      try {
        assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        const q = await store.accounts.get("acc-q");
        assert.ok(q);
        assert.equal(q.label, "Q ref");
        assert.equal(q.type, "amazonq");
        assert.equal(q.clientId, "cid");
        assert.equal(q.clientSecret, "csecret");
        assert.equal(q.refreshToken, "rtoken");
        assert.equal(q.accessToken, "atoken");
        assert.deepEqual(q.other, {});
        assert.equal(q.enabled, true);
        assert.equal(q.last_refresh_status, "success");
        assert.equal(q.last_refresh_time, "2025-06-01T10:00:00");
        assert.equal(q.max_inflight, 0);
        assert.equal(q.disabled_reason, null);
        assert.equal(q.cooldown_until, null);
        assert.equal(q.tokenExpiresAt, null);

        const g = await store.accounts.get("acc-g");
        assert.ok(g);
        assert.equal(g.type, "gemini");
        assert.equal(g.enabled, false);
        assert.deepEqual(g.other, { project: "proj-1", creditsInfo: { models: {} } });
        assert.equal(g.last_refresh_status, "never", "NULL status becomes 'never'");

        const old = await store.accounts.get("acc-old");
        assert.ok(old);
        assert.equal(old.type, "amazonq");
        assert.equal(old.weight, 50, "the added column's default applies to existing rows");
        assert.equal(old.rate_limit_per_hour, 20);
        // Its bad JSON is read as marked, not as an error that would break every list.
        assert.deepEqual(old.other, { unreadable_other: "not valid JSON" });

        assert.deepEqual(await store.accounts.count(), { total: 3, enabled: 2 });

        const config = await store.config.getAll();
        assert.equal(config.enable_model_mapping, false);
        assert.deepEqual(config.supported_models, ["gemini-2.5-pro"]);
        assert.equal(config.motd, "hello from the reference");

        // The old admin's bcrypt hash cannot be verified: it is dropped so setup is possible again.
        assert.equal(await store.admins.count(), 0);
        assert.equal(
          await store.admins.createFirst({ id: "new", username: "admin", password_hash: "scrypt$x" }),
          true,
        );

        // The new tables work on the upgraded database, including foreign keys to the old tables.
        await store.accounts.recordCall("acc-q", "success", null, Date.now());
        assert.equal(await store.accounts.countCallsSince("acc-q", 0), 1);
        await store.sessions.create({ token_hash: "s", admin_id: "new", created_at: 1, expires_at: 2 });
        await store.accounts.update("acc-g", {
          enabled: true,
          cooldown_until: 123,
          clientId: "x".repeat(2000),
        });
        assert.equal((await store.accounts.get("acc-g"))?.cooldown_until, 123);
        assert.equal((await store.accounts.get("acc-g"))?.clientId?.length, 2000);
      } finally {
        await store.close();
      }

      const columns = new Set(
        (await rows(
          admin,
          "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'amq2api_accounts'",
          [db],
        )).map((r) => String(r.c)),
      );
      for (
        const name of [
          "type",
          "weight",
          "rate_limit_per_hour",
          "token_expires_at",
          "max_inflight",
          "disabled_reason",
          "cooldown_until",
          "parked_until",
        ]
      ) {
        assert.ok(columns.has(name), `amq2api_accounts.${name} exists`);
      }
      // The old tables are left alone, its sessions went with its admin.
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_usage`), [{ n: 1 }]);
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_call_logs`), [{ n: 1 }]);
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_admin_sessions`), [{
        n: 0,
      }]);

      // Reopening migrates nothing and changes nothing.
      const before = await rows(admin, `SELECT * FROM ${db}.amq2api_accounts ORDER BY id`);
      const again = await openMysqlStore(url);
      try {
        assert.equal(await again.schemaVersion(), MYSQL_SCHEMA_VERSION);
        assert.equal((await again.accounts.count()).total, 3);
      } finally {
        await again.close();
      }
      assert.deepEqual(await rows(admin, `SELECT * FROM ${db}.amq2api_accounts ORDER BY id`), before);
    }),
});

Deno.test({
  name: "mysql: a database at version 1 is upgraded to the latest version",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await admin.query(
        `CREATE TABLE ${db}.amq2api_schema_version (id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL)`,
      );
      await admin.query(`INSERT INTO ${db}.amq2api_schema_version VALUES (1, 1)`);
      await admin.query(
        `CREATE TABLE ${db}.amq2api_accounts (id VARCHAR(36) PRIMARY KEY, label VARCHAR(255), clientId VARCHAR(255),
          clientSecret TEXT, refreshToken TEXT, accessToken TEXT, other LONGTEXT, last_refresh_time VARCHAR(32),
          last_refresh_status VARCHAR(32), created_at VARCHAR(32), updated_at VARCHAR(32), enabled TINYINT DEFAULT 1)
          ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      await admin.query(
        `CREATE TABLE ${db}.amq2api_config (\`key\` VARCHAR(128) PRIMARY KEY, value LONGTEXT, updated_at VARCHAR(32))`,
      );
      await admin.query(
        `INSERT INTO ${db}.amq2api_accounts (id, label, clientSecret, other, created_at) VALUES ('a1', 'one', 's', '{"x":1}', '2025-01-01')`,
      );
      await admin.query(
        `INSERT INTO ${db}.amq2api_config (\`key\`, value) VALUES ('enable_model_mapping', 'true')`,
      );
      const store = await openMysqlStore(url);
      try {
        assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        const account = await store.accounts.get("a1");
        assert.equal(account?.label, "one");
        assert.equal(account?.type, "amazonq");
        assert.equal(account?.weight, 50);
        assert.equal(account?.rate_limit_per_hour, 20);
        assert.deepEqual(account?.other, { x: 1 });
        assert.equal(account?.last_refresh_status, "never");
        assert.equal(await store.admins.count(), 0);
        assert.equal(await store.clientKeys.count(), 0);
        assert.equal((await store.config.getAll()).enable_model_mapping, true);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name: "mysql: a database newer than this server is refused with a clear error and left untouched",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await admin.query(
        `CREATE TABLE ${db}.amq2api_schema_version (id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL)`,
      );
      await admin.query(`INSERT INTO ${db}.amq2api_schema_version VALUES (1, ${MYSQL_SCHEMA_VERSION + 5})`);
      await assert.rejects(openMysqlStore(url), (error: Error) => {
        assert.match(error.message, /newer than this server/);
        assert.ok(error.message.includes(String(MYSQL_SCHEMA_VERSION + 5)));
        return true;
      });
      assert.deepEqual(await tablesOf(admin, db), ["amq2api_schema_version"]);
    }),
});

Deno.test("mysql: an unreachable server or a bad URL is reported clearly, without the password", async () => {
  const password = "s3cret-Passw0rd";
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  await assert.rejects(openStore(`mysql://amq2api:${password}@127.0.0.1:1/amq2api`), (error: Error) => {
    assert.match(error.message, /^MySQL at 127\.0\.0\.1:1\/amq2api: /);
    assert.ok(!error.message.includes(password), error.message);
    return true;
  });
  await assert.rejects(openStore(`mysql://amq2api:${password}@127.0.0.1:3306/`), (error: Error) => {
    assert.equal(error.name, "ConfigError");
    assert.match(error.message, /must name a database/);
    assert.ok(!error.message.includes(password), error.message);
    return true;
  });
  await assert.rejects(openStore("postgres://x"), /sqlite:<path> or mysql:\/\//);
});

Deno.test({
  name: "mysql: oauthStates are single use across two store instances, expired ones dropped, capped",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const a = await openMysqlStore(url);
      const b = await openMysqlStore(url);
      try {
        assert.equal(await a.oauthStates.put("s1", '{"v":1}', 2_000, 1_000, 2), true);
        assert.equal(await a.oauthStates.put("s2", '{"v":2}', 1_500, 1_000, 2), true);
        assert.equal(await b.oauthStates.put("s3", '{"v":3}', 3_000, 1_000, 2), false);
        assert.equal(await b.oauthStates.put("s3", '{"v":3}', 3_000, 1_600, 2), true);
        // Both instances race to complete one sign-in: exactly one gets it.
        const [x, y] = await Promise.all([a.oauthStates.take("s1"), b.oauthStates.take("s1")]);
        assert.equal([x, y].filter((r) => r !== null).length, 1);
        assert.deepEqual(x ?? y, { data: '{"v":1}', expiresAt: 2_000 });
        assert.equal(await a.oauthStates.take("s2"), null);
      } finally {
        await a.close();
        await b.close();
      }
    }),
});
