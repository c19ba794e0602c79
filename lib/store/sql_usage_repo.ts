/** Token usage per request, and its summaries by model for the admin's usage page and `/v1/usage`. */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlValue } from "./sql_executor.ts";
import type { UsageRecord, UsageRepo, UsageSummaryRow } from "./types.ts";

export class SqlUsageRepo implements UsageRepo {
  #db: SqlExecutor;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#table = dialect.table("usage_records");
  }

  async record(r: UsageRecord): Promise<void> {
    await this.#db.run(
      `INSERT INTO ${this.#table} (account_id, model, channel, input_tokens, output_tokens,
         cache_creation_input_tokens, cache_read_input_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.account_id,
        r.model,
        r.channel,
        r.input_tokens,
        r.output_tokens,
        r.cache_creation_input_tokens,
        r.cache_read_input_tokens,
        r.created_at,
      ],
    );
  }

  async summary(
    since: number,
    filter: { accountId?: string; model?: string } = {},
  ): Promise<UsageSummaryRow[]> {
    const where = ["created_at >= ?"];
    const params: SqlValue[] = [since];
    if (filter.accountId) {
      where.push("account_id = ?");
      params.push(filter.accountId);
    }
    if (filter.model) {
      where.push("model = ?");
      params.push(filter.model);
    }
    const rows = await this.#db.rows(
      `SELECT model, COUNT(*) AS request_count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
         SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
         SUM(cache_read_input_tokens) AS cache_read_input_tokens
       FROM ${this.#table} WHERE ${where.join(" AND ")}
       GROUP BY model ORDER BY SUM(input_tokens + output_tokens) DESC`,
      params,
    );
    // MySQL's SUM over BIGINT is a DECIMAL, which its driver returns as a string.
    return rows.map((row) => ({
      model: String(row.model),
      request_count: Number(row.request_count),
      input_tokens: Number(row.input_tokens ?? 0),
      output_tokens: Number(row.output_tokens ?? 0),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens ?? 0),
      cache_read_input_tokens: Number(row.cache_read_input_tokens ?? 0),
    }));
  }

  async recent(limit: number): Promise<Array<UsageRecord & { id: number }>> {
    // An integer: MySQL refuses a fractional LIMIT.
    const rows = await this.#db.rows(`SELECT * FROM ${this.#table} ORDER BY id DESC LIMIT ?`, [
      Math.max(0, Math.trunc(limit)),
    ]);
    return rows.map((row) => ({
      id: Number(row.id),
      account_id: row.account_id === null ? null : String(row.account_id),
      model: String(row.model),
      channel: String(row.channel),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens),
      cache_read_input_tokens: Number(row.cache_read_input_tokens),
      created_at: Number(row.created_at),
    }));
  }
}
