import assert from "node:assert/strict";
import { ConnectionGuard, type ConnectionHandler, type ServeConnection } from "../../lib/connection_guard.ts";
import { NullLogger } from "../../lib/log.ts";

/** A connection that only knows its peer and whether it was closed. */
function fakeConn(hostname: string): Deno.TcpConn & { closed: boolean } {
  const conn = {
    closed: false,
    remoteAddr: { transport: "tcp", hostname, port: 40000 } as Deno.NetAddr,
    close() {
      conn.closed = true;
    },
    setNoDelay() {},
  };
  return conn as unknown as Deno.TcpConn & { closed: boolean };
}

/** A listener fed by the test: each `accept` takes the next item (a connection, or an error to throw). */
function fakeListener(items: Array<Deno.TcpConn | Error>) {
  let wake: (() => void) | undefined;
  let closed = false;
  const listener = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr,
    async accept(): Promise<Deno.TcpConn> {
      for (let i = 0; i < 1000; i++) {
        if (closed) throw new Deno.errors.BadResource("listener closed");
        const next = items.shift();
        if (next instanceof Error) throw next;
        if (next) return next;
        await new Promise<void>((resolve) => wake = resolve);
      }
      throw new Error("fake listener: too many accepts");
    },
    close() {
      closed = true;
      wake?.();
    },
  };
  return {
    listener: listener as unknown as Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    push(item: Deno.TcpConn | Error) {
      items.push(item);
      wake?.();
    },
  };
}

interface Served {
  conn: Deno.TcpConn;
  signal: AbortSignal;
  handler: ConnectionHandler;
  finish(): void;
}

function fakeServe() {
  const served: Served[] = [];
  let onServed: (() => void) | undefined;
  const serve: ServeConnection = (conn, signal, handler) => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => finish = resolve);
    signal.addEventListener("abort", () => finish(), { once: true });
    served.push({ conn, signal, handler, finish });
    onServed?.();
    return { finished, shutdown: () => (finish(), finished) };
  };
  const waitFor = async (count: number) => {
    for (let i = 0; i < 100 && served.length < count; i++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        onServed = resolve;
        timer = setTimeout(resolve, 50);
      });
      clearTimeout(timer);
    }
    assert.equal(served.length, count);
  };
  return { serve, served, waitFor };
}

function aborted(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(true)), { once: true });
  });
}

function guard(
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
  serve: ServeConnection,
  options: { now?: () => number; maxConnectionsPerIp?: number; maxConnections?: number } = {},
) {
  return new ConnectionGuard({
    listener,
    serveConnection: serve,
    handler: () => new Response("ok"),
    log: new NullLogger(),
    headersTimeoutMs: 1000,
    idleTimeoutMs: 2000,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? 0,
    maxConnections: options.maxConnections ?? 0,
    ...(options.now ? { now: options.now } : {}),
  });
}

Deno.test("accept errors (out of descriptors) do not end the accept loop", async () => {
  const emfile = new Error("Too many open files (os error 24)");
  const { listener, push } = fakeListener([emfile, emfile, emfile]);
  const { serve, waitFor } = fakeServe();
  const g = guard(listener, serve);
  push(fakeConn("10.0.0.1"));
  await waitFor(1);
  await g.shutdown();
});

Deno.test("a client address over its cap has the extra connection closed, others are served", async () => {
  const { listener, push } = fakeListener([]);
  const { serve, waitFor } = fakeServe();
  const g = guard(listener, serve, { maxConnectionsPerIp: 2 });
  const a = [fakeConn("10.0.0.1"), fakeConn("10.0.0.1"), fakeConn("10.0.0.1")];
  for (const conn of a) push(conn);
  await waitFor(2);
  push(fakeConn("10.0.0.2"));
  await waitFor(3);
  assert.deepEqual(a.map((c) => c.closed), [false, false, true]);
  await g.shutdown();
});

Deno.test("a connection with no complete request by its deadline is closed; one in flight is not", async () => {
  let now = 0;
  const { listener, push } = fakeListener([]);
  const { serve, served, waitFor } = fakeServe();
  const g = guard(listener, serve, { now: () => now });
  push(fakeConn("10.0.0.1"));
  push(fakeConn("10.0.0.2"));
  await waitFor(2);
  // The second one has a request in flight whose response is not sent yet.
  let complete!: () => void;
  const completed = new Promise<void>((resolve) => complete = resolve);
  await served[1]!.handler(new Request("http://x/"), {
    remoteAddr: served[1]!.conn.remoteAddr as Deno.NetAddr,
    completed,
  });
  now = 1500; // past the header deadline
  assert.equal(await aborted(served[0]!.signal, 5_000), true, "the silent connection stayed open");
  // The same sweep saw both: the busy one is untouched.
  assert.equal(served[1]!.signal.aborted, false, "the busy connection was closed");
  complete();
  await completed;
  now = 1500 + 2500; // past the idle deadline after its response
  assert.equal(await aborted(served[1]!.signal, 5_000), true, "the idle connection stayed open");
  await g.shutdown();
});
