/**
 * Fake upstreams that fail the way real ones do, on 127.0.0.1:0: one that never sends its headers, one
 * that stops sending mid-body, one that keeps trickling, one that answers with a redirect, and a raw TCP
 * one that closes or resets the connection at a chosen point of an HTTP/1.1 answer.
 */

export interface Stoppable {
  url: string;
  /** Requests received. */
  hits: number;
  stop(): Promise<void>;
}

/** An HTTP server whose handler gets the request and its abort signal; `hits` counts requests. */
export function serveFake(
  handler: (request: Request) => Response | Promise<Response>,
): Stoppable {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    fake.hits++;
    await request.arrayBuffer();
    return await handler(request);
  });
  const fake: Stoppable = {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: 0,
    stop: () => server.shutdown(),
  };
  return fake;
}

/**
 * Withholds the headers until the client gives up, or for at most `ms` (the server cannot always tell that
 * an aborted client left, and the test must be able to stop it), then answers something nobody reads.
 */
export async function neverAnswer(request: Request, ms = 1_000): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
    request.signal.addEventListener("abort", resolve, { once: true });
  });
  clearTimeout(timer);
  return new Response("too late");
}

/** A 200 whose body sends `first` and then nothing, until the client goes away. */
export function stallAfter(first: Uint8Array | string, contentType: string): Response {
  const bytes = typeof first === "string" ? new TextEncoder().encode(first) : first;
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
      },
    }),
    { headers: { "content-type": contentType } },
  );
}

/**
 * A raw HTTP/1.1 server: reads the request head (and body, by content-length), writes `answer`, then
 * closes the connection (`reset: false`) or drops it without answering at all when `answer` is empty.
 */
export function rawServer(answer: Uint8Array): Stoppable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const fake: Stoppable = {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    hits: 0,
    stop: async () => {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await accepting;
    },
  };
  const serveOne = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      const buffer = new Uint8Array(64 * 1024);
      let text = "";
      for (let i = 0; i < 100; i++) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
        if (text.length - end - 4 >= length) break;
      }
      fake.hits++;
      if (answer.length > 0) await conn.write(answer);
    } catch {
      // the client went away first
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serveOne(conn);
    } catch {
      // listener closed
    }
  })();
  return fake;
}

/** The head of a chunked 200 answer followed by one chunk of `body`, with no terminating chunk. */
export function chunkedHead(contentType: string, body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const head = new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\n\r\n` +
      (bytes.length > 0 ? `${bytes.length.toString(16)}\r\n` : ""),
  );
  const out = new Uint8Array(head.length + bytes.length + (bytes.length > 0 ? 2 : 0));
  out.set(head);
  out.set(bytes, head.length);
  if (bytes.length > 0) out.set(new TextEncoder().encode("\r\n"), head.length + bytes.length);
  return out;
}
