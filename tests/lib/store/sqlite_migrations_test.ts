import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SQLITE_SCHEMA_VERSION } from "../../../lib/store/sqlite_migrations.ts";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";

/** A temp dir removed after `fn`, whatever happens. */
async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-migrations-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs SQL on a database file directly (fixtures only; the product keeps SQL in lib/store). */
function withDb<T>(path: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function columnsOf(db: DatabaseSync, table: string): Map<string, string | null> {
  const rows = db.prepare(`PRAGMA table_info(${table})`).all() as Array<
    { name: string; dflt_value: string | null }
  >;
  return new Map(rows.map((r) => [r.name, r.dflt_value]));
}

/** The schema and some rows as the Python amq2api (release branch) leaves them. */
function writeReferenceDatabase(path: string): void {
  withDb(path, (db) => {
    db.exec(`
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY, label TEXT, clientId TEXT, clientSecret TEXT, refreshToken TEXT, accessToken TEXT,
        other TEXT, last_refresh_time TEXT, last_refresh_status TEXT, created_at TEXT, updated_at TEXT,
        enabled INTEGER DEFAULT 1, type TEXT DEFAULT 'amazonq', rate_limit_per_hour INTEGER DEFAULT 20,
        weight INTEGER DEFAULT 50
      );
      CREATE TABLE call_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, timestamp TEXT NOT NULL, model TEXT,
        FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE
      );
      CREATE INDEX idx_call_logs_account_timestamp ON call_logs(account_id, timestamp);
      CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT);
      CREATE TABLE admin_users (
        id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE TABLE admin_sessions (
        token TEXT PRIMARY KEY, admin_id TEXT NOT NULL, user_agent TEXT, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL, last_activity TEXT NOT NULL
      );
      CREATE TABLE usage (
        id TEXT PRIMARY KEY, account_id TEXT, model TEXT, input_tokens INTEGER DEFAULT 0,
        output_tokens INTEGER DEFAULT 0, total_tokens INTEGER DEFAULT 0, channel TEXT DEFAULT 'amazonq',
        created_at TEXT, cache_creation_input_tokens INTEGER DEFAULT 0, cache_read_input_tokens INTEGER DEFAULT 0
      );
    `);
    const insert = db.prepare(
      `INSERT INTO accounts (id, label, clientId, clientSecret, refreshToken, accessToken, other, last_refresh_time,
         last_refresh_status, created_at, updated_at, enabled, type, rate_limit_per_hour, weight)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insert.run(
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
      20,
      50,
    );
    insert.run(
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
      7,
      80,
    );
    // A row without the columns the Python version added later: their defaults apply.
    db.prepare("INSERT INTO accounts (id, label, other) VALUES ('acc-old', 'old', 'not json')").run();
    db.prepare(
      "INSERT INTO call_logs (account_id, timestamp, model) VALUES ('acc-q', '2025-06-01T10:00:00', 'm')",
    ).run();
    const config = db.prepare(
      "INSERT INTO config (key, value, updated_at) VALUES (?, ?, '2025-01-01T00:00:00')",
    );
    config.run("enable_model_mapping", "false");
    config.run("supported_models", JSON.stringify(["gemini-2.5-pro"]));
    // The Python version stored strings raw, so this value is not JSON.
    config.run("motd", "hello from the reference");
    db.prepare(
      "INSERT INTO admin_users VALUES ('adm', 'admin', '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRS', 'x', 'x')",
    ).run();
    db.prepare("INSERT INTO usage (id, account_id, model, input_tokens) VALUES ('u1', 'acc-q', 'm', 5)")
      .run();
  });
}

Deno.test("a reference database is upgraded in place: rows kept, new columns with defaults, reopening is a no-op", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "accounts.db");
    writeReferenceDatabase(path);

    const store = openSqliteStore(path);
    try {
      assert.equal(await store.schemaVersion(), SQLITE_SCHEMA_VERSION);
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
      assert.equal(g.weight, 80);
      assert.equal(g.rate_limit_per_hour, 7);
      assert.deepEqual(g.other, { project: "proj-1", creditsInfo: { models: {} } });
      assert.equal(g.last_refresh_status, "never", "NULL status becomes 'never'");

      const old = await store.accounts.get("acc-old");
      assert.ok(old);
      assert.equal(old.type, "amazonq");
      assert.equal(old.weight, 50);
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

      // The new tables work on the upgraded file.
      await store.accounts.recordCall("acc-q", "success", null, Date.now());
      assert.equal(await store.accounts.countCallsSince("acc-q", 0), 1);
      await store.accounts.update("acc-g", { enabled: true, cooldown_until: 123 });
      assert.equal((await store.accounts.get("acc-g"))?.cooldown_until, 123);
    } finally {
      await store.close();
    }

    withDb(path, (db) => {
      const cols = columnsOf(db, "accounts");
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
        assert.ok(cols.has(name), `accounts.${name} exists`);
      }
      assert.equal(cols.get("max_inflight"), "0");
      // The old tables are left alone.
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM usage").get() as { n: number }).n, 1);
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM call_logs").get() as { n: number }).n, 1);
      assert.equal(
        (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
        SQLITE_SCHEMA_VERSION,
      );
    });

    // Reopening migrates nothing and changes nothing.
    const before = withDb(path, (db) => db.prepare("SELECT * FROM accounts ORDER BY id").all());
    const again = openSqliteStore(path);
    try {
      assert.equal(await again.schemaVersion(), SQLITE_SCHEMA_VERSION);
      assert.deepEqual((await again.accounts.count()).total, 3);
    } finally {
      await again.close();
    }
    const after = withDb(path, (db) => db.prepare("SELECT * FROM accounts ORDER BY id").all());
    assert.deepEqual(after, before);
  });
});

Deno.test("a database at version 1 is upgraded to the latest version", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "v1.db");
    withDb(path, (db) => {
      db.exec(`
        CREATE TABLE accounts (
          id TEXT PRIMARY KEY, label TEXT, clientId TEXT, clientSecret TEXT, refreshToken TEXT, accessToken TEXT,
          other TEXT, last_refresh_time TEXT, last_refresh_status TEXT, created_at TEXT, updated_at TEXT,
          enabled INTEGER DEFAULT 1
        );
        CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT);
        INSERT INTO accounts (id, label, clientSecret, other, created_at) VALUES ('a1', 'one', 's', '{"x":1}', '2025-01-01');
        INSERT INTO config (key, value) VALUES ('enable_model_mapping', 'true');
        PRAGMA user_version = 1;
      `);
    });
    const store = openSqliteStore(path);
    try {
      assert.equal(await store.schemaVersion(), SQLITE_SCHEMA_VERSION);
      assert.ok(SQLITE_SCHEMA_VERSION >= 2);
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
  });
});

Deno.test("a database newer than this server is refused with a clear error and left untouched", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "future.db");
    withDb(
      path,
      (db) => db.exec(`CREATE TABLE future (x); PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 5};`),
    );
    assert.throws(() => openSqliteStore(path), (error: Error) => {
      assert.match(error.message, /newer than this server/);
      assert.ok(error.message.includes(String(SQLITE_SCHEMA_VERSION + 5)));
      return true;
    });
    withDb(path, (db) => {
      assert.equal(
        (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
        SQLITE_SCHEMA_VERSION + 5,
      );
      assert.equal(columnsOf(db, "accounts").size, 0, "no table was created");
    });
  });
});

Deno.test("a new file (and its directory) is created with the latest schema", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "nested", "deeper", "new.db");
    const store = openSqliteStore(path);
    try {
      assert.equal(await store.schemaVersion(), SQLITE_SCHEMA_VERSION);
      await store.ping();
    } finally {
      await store.close();
    }
    assert.ok((await Deno.stat(path)).isFile);
  });
});
