/**
 * Assembles a `Store` from an engine's executor and dialect: the repositories, the change counters they
 * bump, and the engine's own `ping` and `close`. `sqlite_store.ts` and `mysql_store.ts` open the
 * connection and run the migrations; everything after that is shared.
 */
import { SqlAccountRepo } from "./sql_account_repo.ts";
import { SqlAdminRepo } from "./sql_admin_repo.ts";
import { SqlClientKeyRepo } from "./sql_client_key_repo.ts";
import { SqlConfigRepo } from "./sql_config_repo.ts";
import { SqlKeyWindowRepo } from "./sql_key_window_repo.ts";
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import { SqlLeaseRepo } from "./sql_lease_repo.ts";
import { SqlLoginAttemptRepo } from "./sql_login_attempt_repo.ts";
import { SqlMetaRepo } from "./sql_meta_repo.ts";
import { SqlOAuthStateRepo } from "./sql_oauth_state_repo.ts";
import { SqlSessionRepo } from "./sql_session_repo.ts";
import { SqlUsageRepo } from "./sql_usage_repo.ts";
import { SqlCacheEntryRepo } from "./sql_cache_entry_repo.ts";
import { SqlSettingRepo } from "./sql_setting_repo.ts";
import { StoreChangeLog } from "./store_change_log.ts";
import type { Store } from "./types.ts";

export interface SqlStoreParts {
  db: SqlExecutor;
  dialect: SqlDialect;
  schemaVersion: number;
  now?: (() => number) | undefined;
  newId?: (() => string) | undefined;
  ping: () => Promise<void>;
  close: () => Promise<void>;
}

export function sqlStore(parts: SqlStoreParts): Store {
  const { db, dialect } = parts;
  const now = parts.now ?? Date.now;
  const newId = parts.newId ?? (() => crypto.randomUUID());
  const iso = () => new Date(now()).toISOString();
  const changes = new StoreChangeLog(db, dialect);
  return {
    kind: dialect.kind,
    changes,
    accounts: new SqlAccountRepo(db, dialect, changes, now, newId),
    config: new SqlConfigRepo(db, dialect, changes, iso),
    clientKeys: new SqlClientKeyRepo(db, dialect, changes, iso),
    keyWindows: new SqlKeyWindowRepo(db, dialect),
    admins: new SqlAdminRepo(db, dialect, iso),
    sessions: new SqlSessionRepo(db, dialect),
    loginAttempts: new SqlLoginAttemptRepo(db, dialect),
    usage: new SqlUsageRepo(db, dialect),
    cacheEntries: new SqlCacheEntryRepo(db, dialect),
    settings: new SqlSettingRepo(db, dialect),
    leases: new SqlLeaseRepo(db, dialect),
    meta: new SqlMetaRepo(db, dialect),
    oauthStates: new SqlOAuthStateRepo(db, dialect),
    schemaVersion: () => Promise.resolve(parts.schemaVersion),
    ping: parts.ping,
    close: parts.close,
  };
}
