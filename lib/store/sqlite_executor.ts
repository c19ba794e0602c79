/**
 * `SqlExecutor` over one `node:sqlite` connection.
 *
 * `node:sqlite` is synchronous, but the repositories are asynchronous: between two statements of a
 * transaction other requests run, and on one connection their statements would land inside it (and be
 * rolled back with it). So a transaction holds this executor's turn: statements from outside wait until it
 * ends, and transactions run one after another. Outside transactions statements run at once. Statements
 * are prepared once per SQL text (a bounded cache: the texts are few, only filters vary).
 *
 * Other processes on the same file are kept out by SQLite's write lock (`BEGIN IMMEDIATE` waits up to the
 * busy timeout). A second connection to the same file inside this process must not write while this one
 * is in a transaction: its wait would block the thread this transaction needs to finish.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { SqlExecutor, SqlRow, SqlValue, TransactionOptions } from "./sql_executor.ts";

const STATEMENT_CACHE_LIMIT = 256;

export class SqliteExecutor implements SqlExecutor {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  /** Settles when the transaction that holds the turn (or waits for it) ends. */
  #turn: Promise<void> = Promise.resolve();
  #inTransaction = false;
  #synchronousSetting: number | undefined;
  /** What a transaction's callback gets: the same connection, without waiting for the turn it holds. */
  #tx: SqlExecutor;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#tx = {
      rows: (sql, params) => attempt(() => this.#all(sql, params)),
      run: (sql, params) => attempt(() => this.#run(sql, params)),
      transaction: (fn) => fn(this.#tx),
      exclusive: (_name, fn) => fn(this.#tx),
    };
  }

  rows(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    if (!this.#inTransaction) return attempt(() => this.#all(sql, params));
    return this.#withTurn(() => attempt(() => this.#all(sql, params)));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    if (!this.#inTransaction) return attempt(() => this.#run(sql, params));
    return this.#withTurn(() => attempt(() => this.#run(sql, params)));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.#withTurn(async () => {
      // A relaxed commit lowers the connection's durability for this transaction only: set right before
      // BEGIN and restored right after COMMIT or ROLLBACK, with no await in between, so no other statement
      // runs under it.
      const synchronous = options.relaxed ? this.#synchronous() : 0;
      const relax = synchronous > 1;
      if (relax) this.#db.exec("PRAGMA synchronous = NORMAL");
      // IMMEDIATE takes the write lock now, so another process cannot slip a write in between.
      try {
        this.#db.exec("BEGIN IMMEDIATE");
      } catch (error) {
        if (relax) this.#db.exec(`PRAGMA synchronous = ${synchronous}`);
        throw error;
      }
      this.#inTransaction = true;
      try {
        const result = await fn(this.#tx);
        this.#db.exec("COMMIT");
        return result;
      } catch (error) {
        this.#db.exec("ROLLBACK");
        throw error;
      } finally {
        if (relax) this.#db.exec(`PRAGMA synchronous = ${synchronous}`);
        this.#inTransaction = false;
      }
    });
  }

  /** The connection's own `synchronous` setting, read once (only relaxed transactions change it, and back). */
  #synchronous(): number {
    this.#synchronousSetting ??= Number(
      (this.#db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous,
    );
    return this.#synchronousSetting;
  }

  /** One write transaction at a time per database file: that is already exclusive across processes. */
  exclusive<T>(_name: string, fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  async #withTurn<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#turn;
    let done!: () => void;
    this.#turn = new Promise<void>((resolve) => done = resolve);
    await previous;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= STATEMENT_CACHE_LIMIT) this.#statements.clear();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
    return this.#prepare(sql).all(...(params as SQLInputValue[])) as SqlRow[];
  }

  #run(sql: string, params: readonly SqlValue[] = []): number {
    return Number(this.#prepare(sql).run(...(params as SQLInputValue[])).changes);
  }
}

/** A synchronous call as a promise: its result, or its exception as a rejection. */
function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
