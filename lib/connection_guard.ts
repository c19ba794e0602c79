/**
 * The accept loop in front of the HTTP server: it owns the listening socket, serves HTTP on each accepted
 * connection, and enforces what the runtime's server does not.
 *
 * The runtime's `serve` has no header or keep-alive timeouts, and an accept error (running out of file
 * descriptors) ends its listener for good, so a flood of idle sockets could silence or kill the process.
 * Here every connection is booked: one that has not delivered a complete request within `headersTimeoutMs`,
 * or sits idle between requests for `idleTimeoutMs`, is closed; each client address and the whole process
 * have a connection cap; an accept error is logged (rate-limited) and retried after a short pause, so once
 * descriptors are free again the server serves at once. `main.ts` injects the listener and the function
 * that serves HTTP on one accepted connection (the only references to the runtime's network API).
 *
 * Cost on the hot path: a request bumps a counter and subscribes to its `completed` promise; time is checked
 * by one sweep over all connections a few times per timeout, not by a timer per request.
 */
import type { Logger } from "./log.ts";

export interface ServeInfo {
  remoteAddr: Deno.NetAddr;
  completed: Promise<void>;
}

export type ConnectionHandler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/** The runtime's HTTP server bound to one accepted connection. */
export interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** Serves HTTP on `conn` until it closes or `signal` aborts (which closes it at once). */
export type ServeConnection = (
  conn: Deno.TcpConn,
  signal: AbortSignal,
  handler: ConnectionHandler,
  onError: (error: unknown) => Response,
) => ConnectionServer;

export interface ConnectionGuardOptions {
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  serveConnection: ServeConnection;
  handler: ConnectionHandler;
  log: Logger;
  /** Time from accept until the first request's headers are complete. */
  headersTimeoutMs: number;
  /** Time a keep-alive connection may wait, with nothing in flight, for its next request. */
  idleTimeoutMs: number;
  /** Open connections per client address; 0 = no cap. */
  maxConnectionsPerIp: number;
  /** Open connections in total; 0 = no cap. */
  maxConnections: number;
  now?: () => number;
}

interface Booked {
  readonly ip: string;
  readonly abort: AbortController;
  server: ConnectionServer | undefined;
  /** Requests whose response has not been fully sent. */
  inFlight: number;
  /** When the connection is closed if nothing is in flight by then. */
  deadline: number;
  closed: boolean;
}

const ACCEPT_RETRY_MIN_MS = 5;
const ACCEPT_RETRY_MAX_MS = 100;
const ERROR_LOG_INTERVAL_MS = 10_000;

export class ConnectionGuard {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #options: ConnectionGuardOptions;
  #now: () => number;
  #connections = new Set<Booked>();
  #perIp = new Map<string, number>();
  #sweeper: ReturnType<typeof setInterval>;
  #stopping = false;
  #acceptErrors = 0;
  #refused = 0;
  #timedOut = 0;
  #lastErrorLog = -Infinity;

  constructor(options: ConnectionGuardOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.addr = options.listener.addr;
    const shortest = Math.min(options.headersTimeoutMs, options.idleTimeoutMs);
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, Math.max(50, shortest / 4)));
    this.finished = this.#acceptLoop();
  }

  /** Open connections right now (diagnostics and tests). */
  get openConnections(): number {
    return this.#connections.size;
  }

  /** Stops accepting, lets in-flight requests finish and closes idle connections; resolves when all closed. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    try {
      this.#options.listener.close();
    } catch { /* already closed */ }
    const servers = [...this.#connections].map((c) => c.server?.shutdown().catch(() => {}));
    await Promise.all(servers);
    await this.finished;
    clearInterval(this.#sweeper);
  }

  /** Closes every connection at once (after the drain time). */
  abortAll(): void {
    for (const booked of this.#connections) this.#close(booked);
  }

  async #acceptLoop(): Promise<void> {
    let pause = 0;
    while (!this.#stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#options.listener.accept();
        pause = 0;
      } catch (error) {
        if (this.#stopping || error instanceof Deno.errors.BadResource) break;
        // Out of descriptors (or a reset during accept): the pending connection stays queued, so pause
        // before the next try instead of spinning; existing connections' deadlines free descriptors.
        this.#acceptErrors++;
        this.#logRare("accept failed; retrying", error);
        pause = Math.min(ACCEPT_RETRY_MAX_MS, Math.max(ACCEPT_RETRY_MIN_MS, pause * 2));
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      this.#admit(conn);
    }
    clearInterval(this.#sweeper);
  }

  #admit(conn: Deno.TcpConn): void {
    const { maxConnections, maxConnectionsPerIp } = this.#options;
    const ip = conn.remoteAddr.hostname;
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (
      (maxConnections > 0 && this.#connections.size >= maxConnections) ||
      (maxConnectionsPerIp > 0 && fromIp >= maxConnectionsPerIp)
    ) {
      this.#refused++;
      this.#logRare("connection refused: too many open connections", undefined);
      try {
        conn.close();
      } catch { /* already gone */ }
      return;
    }
    this.#perIp.set(ip, fromIp + 1);
    try {
      // Stream events are small writes; they must not wait for the previous one's ACK.
      conn.setNoDelay(true);
    } catch { /* reset already */ }
    const booked: Booked = {
      ip,
      abort: new AbortController(),
      server: undefined,
      inFlight: 0,
      deadline: this.#now() + this.#options.headersTimeoutMs,
      closed: false,
    };
    this.#connections.add(booked);
    const handler = this.#options.handler;
    const settle = () => {
      booked.inFlight--;
      if (booked.inFlight === 0) booked.deadline = this.#now() + this.#options.idleTimeoutMs;
    };
    try {
      booked.server = this.#options.serveConnection(
        conn,
        booked.abort.signal,
        (request, info) => {
          booked.inFlight++;
          info.completed.then(settle, settle);
          return handler(request, info);
        },
        (error) => this.#onError(error),
      );
    } catch (error) {
      this.#logRare("cannot serve an accepted connection", error);
      try {
        conn.close();
      } catch { /* already gone */ }
      this.#forget(booked);
      return;
    }
    booked.server.finished.catch(() => {}).finally(() => this.#forget(booked));
  }

  #sweep(): void {
    const now = this.#now();
    for (const booked of this.#connections) {
      if (booked.inFlight === 0 && now >= booked.deadline) {
        this.#timedOut++;
        this.#close(booked);
      }
    }
  }

  #close(booked: Booked): void {
    if (booked.closed) return;
    booked.closed = true;
    try {
      booked.abort.abort();
    } catch (error) {
      this.#logRare("closing a connection failed", error);
    }
  }

  #forget(booked: Booked): void {
    // Once the connection is gone its abort must never fire: the runtime would act on a closed resource.
    booked.closed = true;
    if (!this.#connections.delete(booked)) return;
    const left = (this.#perIp.get(booked.ip) ?? 1) - 1;
    if (left <= 0) this.#perIp.delete(booked.ip);
    else this.#perIp.set(booked.ip, left);
  }

  #onError(error: unknown): Response {
    this.#options.log.error("unhandled error serving a request", { error });
    return new Response(
      JSON.stringify({ type: "error", error: { type: "api_error", message: "internal server error" } }),
      { status: 500, headers: { "content-type": "application/json" } },
    );
  }

  /** One log line per interval for a storm of the same trouble, with counts since the last line. */
  #logRare(msg: string, error: unknown): void {
    const now = this.#now();
    if (now - this.#lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.#lastErrorLog = now;
    this.#options.log.warn(msg, {
      error,
      acceptErrors: this.#acceptErrors,
      refused: this.#refused,
      timedOut: this.#timedOut,
      open: this.#connections.size,
    });
  }
}
