/**
 * Opens the store named by `DATABASE_URL`: `sqlite:<path>` (or `sqlite::memory:`) for the embedded
 * default. `mysql://` is reserved for the shared store of several instances.
 */
import { ConfigError } from "../errors.ts";
import { openSqliteStore } from "./sqlite_store.ts";
import type { Store } from "./types.ts";

export function openStore(databaseUrl: string, options: { now?: () => number } = {}): Promise<Store> {
  if (databaseUrl.startsWith("sqlite:")) {
    return Promise.resolve(openSqliteStore(databaseUrl.slice("sqlite:".length), options));
  }
  return Promise.reject(
    new ConfigError("DATABASE_URL: the MySQL store is not available in this build; use sqlite:<path>"),
  );
}
