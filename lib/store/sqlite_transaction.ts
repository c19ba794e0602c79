/**
 * Runs a function inside one SQLite write transaction (`BEGIN IMMEDIATE`), rolling back on error.
 * `node:sqlite` is synchronous, so nothing else runs on this connection in between.
 */
import type { DatabaseSync } from "node:sqlite";

export function sqliteTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
