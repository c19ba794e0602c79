/**
 * Structured JSON-lines logger, created in `main.ts` and passed down; never a global.
 *
 * One line per record: `{"time","level","msg",...fields}`. Callers pass request ids and account ids as
 * fields; secrets are never passed (the `redact` list below is a last line of defence for field names).
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELDS = /token|secret|password|api[_-]?key|authorization|cookie/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export class JsonLogger implements Logger {
  #min: number;
  #write: (line: string) => void;
  #now: () => number;

  constructor(options: { level?: LogLevel; write?: (line: string) => void; now?: () => number } = {}) {
    this.#min = ORDER[options.level ?? "info"];
    // deno-lint-ignore no-console
    this.#write = options.write ?? ((line) => console.log(line));
    this.#now = options.now ?? Date.now;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.#log("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.#log("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.#log("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.#log("error", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.#min) return;
    const record: Record<string, unknown> = { time: new Date(this.#now()).toISOString(), level, msg };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        record[key] = SECRET_FIELDS.test(key) ? "[redacted]" : value instanceof Error ? value.message : value;
      }
    }
    this.#write(JSON.stringify(record));
  }
}

/** A logger that drops everything (tests). */
export class NullLogger implements Logger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
}
