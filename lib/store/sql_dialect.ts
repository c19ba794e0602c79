/**
 * What SQLite and MySQL spell differently, for repositories whose SQL is otherwise shared: table names
 * (MySQL's carry the `amq2api_` prefix, so the database can hold other applications' tables), "insert
 * unless the key exists", upserts, and row locks.
 *
 * Both engines accept backquoted identifiers (`` `key` ``), so shared SQL quotes reserved words that way.
 */
import type { SqlValue } from "./sql_executor.ts";

export class SqlDialect {
  constructor(readonly kind: "sqlite" | "mysql") {}

  /** The table's name in this engine. */
  table(name: string): string {
    return this.kind === "mysql" ? `amq2api_${name}` : name;
  }

  /** `INSERT` that skips rows whose key already exists. */
  get insertIgnore(): string {
    return this.kind === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE";
  }

  /**
   * Appended to a SELECT inside a transaction that will write the row: MySQL locks it, so a concurrent
   * read-merge-write waits; SQLite's write transaction already keeps every other writer out.
   */
  get forUpdate(): string {
    return this.kind === "mysql" ? " FOR UPDATE" : "";
  }

  /** Inserts `row`, or updates its other columns when a row with the same `keys` exists. */
  upsert(table: string, row: Record<string, SqlValue>, keys: readonly string[]): {
    sql: string;
    params: SqlValue[];
  } {
    const columns = Object.keys(row);
    const values = Object.values(row);
    const updated = columns.filter((c) => !keys.includes(c));
    const insert = `INSERT INTO ${table} (${columns.map((c) => `\`${c}\``).join(", ")}) VALUES (${
      columns.map(() => "?").join(", ")
    })`;
    if (this.kind === "sqlite") {
      return {
        sql: `${insert} ON CONFLICT(${keys.map((k) => `\`${k}\``).join(", ")}) DO UPDATE SET ${
          updated.map((c) => `\`${c}\` = excluded.\`${c}\``).join(", ")
        }`,
        params: values,
      };
    }
    // Values repeated rather than `VALUES(col)`, which MySQL 8 deprecates and MariaDB spells differently.
    return {
      sql: `${insert} ON DUPLICATE KEY UPDATE ${updated.map((c) => `\`${c}\` = ?`).join(", ")}`,
      params: [...values, ...updated.map((c) => row[c] as SqlValue)],
    };
  }

  /** Adds one to a counter row, creating it at 1. */
  increment(table: string, keyColumn: string, counterColumn: string): string {
    const insert = `INSERT INTO ${table} (\`${keyColumn}\`, \`${counterColumn}\`) VALUES (?, 1)`;
    return this.kind === "sqlite"
      ? `${insert} ON CONFLICT(\`${keyColumn}\`) DO UPDATE SET \`${counterColumn}\` = \`${counterColumn}\` + 1`
      : `${insert} ON DUPLICATE KEY UPDATE \`${counterColumn}\` = \`${counterColumn}\` + 1`;
  }
}
