/**
 * Opens the store named by `DATABASE_URL`: `sqlite:<path>` (or `sqlite::memory:`) for the embedded
 * default, `mysql://user:pass@host:3306/db` for the store several instances share.
 *
 * Errors say which server could not be reached and why; they never repeat the URL, which holds a password.
 * The MySQL driver is loaded only for a MySQL URL: with SQLite its module graph (the driver, its charset
 * tables, node compatibility layers) would only cost resident memory.
 */
import { ConfigError } from "../errors.ts";
import { openSqliteStore } from "./sqlite_store.ts";
import type { Store } from "./types.ts";

export function openStore(databaseUrl: string, options: { now?: () => number } = {}): Promise<Store> {
  if (databaseUrl.startsWith("sqlite:")) {
    return Promise.resolve(openSqliteStore(databaseUrl.slice("sqlite:".length), options));
  }
  if (databaseUrl.startsWith("mysql://")) {
    return import("./mysql_store.ts").then(({ openMysqlStore }) => openMysqlStore(databaseUrl, options));
  }
  return Promise.reject(
    new ConfigError("DATABASE_URL must be sqlite:<path> or mysql://user:pass@host:3306/db"),
  );
}
