/**
 * `TokenCountWorker`: the one background `Worker` that counts large texts, so that the event loop keeps
 * serving other requests (and `/health`) while megabytes are tokenized.
 *
 * The worker is started on first use and reused while there is work; jobs run one after another in the
 * order sent. Once it has had nothing to do for `idleMs` it is terminated, and started again on the next
 * use: it is a second V8 isolate holding the garbage of the last megabytes it counted, tens of MiB that a
 * server idle between large requests should not keep. The queue is bounded in jobs and in characters: past either bound a request gets a 529 `overloaded_error` rather than
 * waiting behind minutes of counting, and never a different count. A worker that dies fails the jobs it
 * held and is replaced on the next use. Texts travel as UTF-8 (lone surrogates become U+FFFD, which the
 * counter does to them anyway, so the count is the one the event loop would get). The worker counts with the
 * caller's rank table, posted to it as shared memory when it starts: it neither loads nor builds one, so
 * starting it costs only the isolate and its modules, and there is no second copy of the table.
 */
import { ApiError } from "../errors.ts";
import type { BpeRankTable } from "./bpe_rank_table.ts";

interface Job {
  resolve: (counts: number[]) => void;
  reject: (error: unknown) => void;
  chars: number;
}

export interface TokenCountWorkerOptions {
  /** Jobs sent and not yet answered. */
  maxJobs?: number;
  /** Characters sent and not yet counted. */
  maxQueuedChars?: number;
  /**
   * Milliseconds without a job after which the worker is stopped (restarted on next use); `Infinity` keeps
   * it until `close` and arms no timer.
   */
  idleMs?: number;
}

export class TokenCountWorker {
  #worker: Worker | null = null;
  #ranks: BpeRankTable;
  #encoder = new TextEncoder();
  #jobs = new Map<number, Job>();
  #nextId = 1;
  #queuedChars = 0;
  #maxJobs: number;
  #maxQueuedChars: number;
  #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** `ranks`: the table the event loop counts with (`cl100kRankTable()`), shared with the worker. */
  constructor(ranks: BpeRankTable, options: TokenCountWorkerOptions = {}) {
    this.#ranks = ranks;
    this.#maxJobs = options.maxJobs ?? 64;
    this.#maxQueuedChars = options.maxQueuedChars ?? 256 * 1024 * 1024;
    // Long enough that a client's burst of large requests reuses one worker (each start costs ~0.1 s).
    this.#idleMs = options.idleMs ?? 30_000;
  }

  /** Jobs waiting for an answer (for tests and stats). */
  get pending(): number {
    return this.#jobs.size;
  }

  /** Whether the worker is started (for tests and stats). */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** Token counts of the texts, in order, counted in the worker. */
  count(texts: string[]): Promise<number[]> {
    let chars = 0;
    for (const text of texts) chars += text.length;
    // One job larger than the whole budget still runs when it is alone: the body limit already bounds it.
    if (
      this.#jobs.size >= this.#maxJobs ||
      (this.#jobs.size > 0 && this.#queuedChars + chars > this.#maxQueuedChars)
    ) {
      return Promise.reject(
        new ApiError("overloaded_error", "token counting is busy with large requests; retry shortly"),
      );
    }
    const worker = this.#start();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const id = this.#nextId++;
    return new Promise<number[]>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject, chars });
      this.#queuedChars += chars;
      // Strings would be copied by structured clone on the event loop; UTF-8 buffers are moved instead.
      const buffers = texts.map((text) => this.#encoder.encode(text));
      worker.postMessage({ id, buffers }, buffers.map((b) => b.buffer));
    });
  }

  /** Stops the worker; jobs still waiting fail. */
  close(): void {
    this.#stop(new Error("token counter closed"));
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // A URL next to this module; `deno compile` bundles it because the compile task `--include`s it.
    const worker = new Worker(new URL("./token_count_worker_entry.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<{ id: number; counts?: number[]; error?: string }>) => {
      const { id, counts, error } = event.data;
      const job = this.#jobs.get(id);
      if (!job) return;
      this.#jobs.delete(id);
      this.#queuedChars -= job.chars;
      if (counts) job.resolve(counts);
      else job.reject(new Error(`token counting failed: ${error}`));
      if (this.#jobs.size === 0 && Number.isFinite(this.#idleMs)) {
        this.#idleTimer = setTimeout(() => this.#idle(), this.#idleMs);
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#stop(new Error(`token count worker died: ${event.message}`));
    };
    // Posted before any job, so the worker has its counter when the first job arrives.
    worker.postMessage({ ranks: this.#ranks.parts });
    this.#worker = worker;
    return worker;
  }

  /** Nothing to do for `idleMs`: stop the worker (no job is waiting, so none fails). */
  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#jobs.size === 0) this.#stop(new Error("token count worker stopped while idle"));
  }

  #stop(reason: Error): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#worker?.terminate();
    this.#worker = null;
    for (const job of this.#jobs.values()) job.reject(reason);
    this.#jobs.clear();
    this.#queuedChars = 0;
  }
}
