/**
 * Connection hygiene of the real server process: idle keep-alive connections and connections that never
 * finish their headers are closed after the configured times, a flood of idle connections past the
 * descriptor limit neither kills the process nor keeps it from serving once the flood ends, and a client
 * that never reads a long streamed answer does not hold up anyone else. Loopback only; every wait bounded.
 */
import assert from "node:assert/strict";
import { startFakeAmazonQ } from "../_helpers/fake_amazonq_server.ts";
import { type ServerProcess, startServer, timedFetch } from "../_helpers/server_process.ts";

const encoder = new TextEncoder();

async function connect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** Reads until the server closes the connection; "open" if it is still open after `ms`. */
async function readUntilClosed(conn: Deno.TcpConn, ms: number): Promise<{ bytes: number } | "open"> {
  const buffer = new Uint8Array(16 * 1024);
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), ms));
  const read = (async () => {
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) return { bytes };
        bytes += n;
      }
    } catch {
      return { bytes }; // reset by the server: closed too
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

async function withServer(
  env: Record<string, string>,
  fn: (server: ServerProcess) => Promise<void>,
  options: { ulimitNoFile?: number } = {},
): Promise<void> {
  const server = await startServer(env, options);
  try {
    await fn(server);
  } finally {
    await server.kill();
  }
}

Deno.test({
  name: "an idle keep-alive connection is closed after IDLE_TIMEOUT_SECONDS",
  sanitizeResources: false,
  fn: () =>
    withServer({ IDLE_TIMEOUT_SECONDS: "1", HEADERS_TIMEOUT_SECONDS: "30" }, async (server) => {
      const conn = await connect(server.port);
      await conn.write(encoder.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      const result = await readUntilClosed(conn, 15_000);
      assert.notEqual(result, "open", "the idle connection was still open after 15 s");
      assert.ok(result !== "open" && result.bytes > 0, "the request was answered before the close");
    }),
});

Deno.test({
  name: "a connection that never finishes its headers is closed after HEADERS_TIMEOUT_SECONDS",
  sanitizeResources: false,
  fn: () =>
    withServer({ IDLE_TIMEOUT_SECONDS: "60", HEADERS_TIMEOUT_SECONDS: "1" }, async (server) => {
      const partial = await connect(server.port);
      await partial.write(encoder.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
      const silent = await connect(server.port);
      const [a, b] = await Promise.all([readUntilClosed(partial, 15_000), readUntilClosed(silent, 15_000)]);
      assert.deepEqual(a, { bytes: 0 }, "the half-sent request was not closed (or was answered)");
      assert.deepEqual(b, { bytes: 0 }, "the silent connection was not closed");
      const health = await timedFetch(`${server.url}/health`, { timeoutMs: 5_000 });
      assert.equal("status" in health ? health.status : health.error, 200);
    }),
});

Deno.test({
  name: "a client address over MAX_CONNECTIONS_PER_IP has its extra connection closed at once",
  sanitizeResources: false,
  fn: () =>
    withServer({ MAX_CONNECTIONS_PER_IP: "3", HEADERS_TIMEOUT_SECONDS: "60" }, async (server) => {
      const held = [await connect(server.port), await connect(server.port), await connect(server.port)];
      try {
        const extra = await connect(server.port);
        assert.deepEqual(await readUntilClosed(extra, 10_000), { bytes: 0 });
      } finally {
        for (const conn of held) conn.close();
      }
      let health: Awaited<ReturnType<typeof timedFetch>> = { error: "not tried" };
      for (let i = 0; i < 10 && !("status" in health && health.status === 200); i++) {
        health = await timedFetch(`${server.url}/health`, { timeoutMs: 2_000 });
      }
      assert.equal("status" in health ? health.status : health.error, 200);
    }),
});

Deno.test({
  name: "a flood of idle connections past the descriptor limit: the process lives and serves once it ends",
  sanitizeResources: false,
  fn: () =>
    withServer(
      // No caps of its own, so the flood really runs the process out of descriptors.
      { HEADERS_TIMEOUT_SECONDS: "300", MAX_CONNECTIONS: "0", MAX_CONNECTIONS_PER_IP: "0" },
      async (server) => {
        const flood: Deno.TcpConn[] = [];
        try {
          for (let i = 0; i < 400; i++) {
            try {
              flood.push(await connect(server.port));
            } catch {
              break; // the backlog is full: past the limit already
            }
          }
          assert.ok(flood.length > 256, `only ${flood.length} connections opened`);
          // Held long enough for the server to try (and fail) to accept the ones past its limit.
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline && !server.warnings().some((l) => /Too many open files/.test(l))) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.ok(server.warnings().some((l) => /Too many open files/.test(l)), "the server never ran out");
          assert.ok(server.alive(), `the server died: ${server.lines().slice(-5).join("\n")}`);
        } finally {
          for (const conn of flood) {
            try {
              conn.close();
            } catch { /* reset */ }
          }
        }
        let health: Awaited<ReturnType<typeof timedFetch>> = { error: "not tried" };
        for (let i = 0; i < 10 && !("status" in health && health.status === 200); i++) {
          health = await timedFetch(`${server.url}/health`, { timeoutMs: 2_000 });
        }
        assert.equal("status" in health ? health.status : health.error, 200);
        assert.ok(server.alive(), "the server died after the flood");
      },
      { ulimitNoFile: 256 },
    ),
});

Deno.test({
  name: "a client that never reads a long streamed answer does not hold up other clients",
  sanitizeResources: false,
  fn: async () => {
    const upstream = await startFakeAmazonQ();
    try {
      await withServer(upstream.env(), async (server) => {
        const request = (content: string) =>
          JSON.stringify({
            model: "claude-sonnet-4-6",
            max_tokens: 64,
            stream: true,
            messages: [{ role: "user", content }],
          });
        const stuck: Deno.TcpConn[] = [];
        try {
          for (let i = 0; i < 4; i++) {
            const conn = await connect(server.port);
            const body = encoder.encode(request("[[big]] send me everything"));
            await conn.write(encoder.encode(
              `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
                `content-length: ${body.length}\r\n\r\n`,
            ));
            await conn.write(body);
            stuck.push(conn); // never read
          }
          // The stuck answers have filled their socket buffers by now.
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          for (let i = 0; i < 5; i++) {
            const health = await timedFetch(`${server.url}/health`, { timeoutMs: 5_000 });
            assert.equal("status" in health ? health.status : health.error, 200);
            const answer = await timedFetch(`${server.url}/v1/messages`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: request("hello"),
              timeoutMs: 10_000,
            });
            assert.equal("status" in answer ? answer.status : answer.error, 200);
            assert.match("text" in answer ? answer.text : "", /from the fake/);
            assert.match("text" in answer ? answer.text : "", /event: message_stop/);
          }
          assert.ok(server.alive());
        } finally {
          for (const conn of stuck) {
            try {
              conn.close();
            } catch { /* reset */ }
          }
        }
        // The abandoned streams end without taking the process with them.
        const health = await timedFetch(`${server.url}/health`, { timeoutMs: 5_000 });
        assert.equal("status" in health ? health.status : health.error, 200);
      });
    } finally {
      await upstream.close();
    }
  },
});

Deno.test({
  name: "a port already in use stops the start with one line and a non-zero exit, not a silent process",
  sanitizeResources: false,
  fn: async () => {
    const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await assert.rejects(
        startServer({ PORT: String(holder.addr.port) }, { timeoutMs: 20_000 }),
        /server exited \(1\)[\s\S]*cannot listen on 127\.0\.0\.1:\d+/,
      );
    } finally {
      holder.close();
    }
  },
});
