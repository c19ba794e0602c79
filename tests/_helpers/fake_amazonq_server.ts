/**
 * A fake Amazon Q for subprocess tests and the soak script: one server on 127.0.0.1:0 that plays the Kiro
 * token endpoint (`POST /refreshToken`) and the streaming API (`POST /`), answering in real AWS
 * event-stream frames and failing the way the service does. The behaviour is switchable at run time, and a
 * marker in the conversation (`[[big]]`) asks for a long answer whatever the mode. Tokens not issued since
 * the last `revokeTokens()` are refused with the 403 the service sends for an invalid bearer token.
 *
 * It is a `node:http` server rather than `Deno.serve` because cutting a connection after the headers needs
 * the socket (`Deno.serve` can only error the body, and reports every such error on stderr).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { eventFrame, text } from "./amazonq_helpers.ts";

export type FakeAmazonQMode = "normal" | "stall-headers" | "stall-mid" | "cut-early";

export interface FakeAmazonQ {
  url: string;
  /** Environment for `main.ts` that seeds one account pointing here. */
  env(): Record<string, string>;
  setMode(mode: FakeAmazonQMode): void;
  /** Tokens issued so far are refused (403 invalid token) from now on; a refresh gives a good one. */
  revokeTokens(): void;
  stats: { calls: number; refreshes: number; refused: number };
  close(): Promise<void>;
}

const BIG_FRAMES = 20_000;
const STALL_CAP_MS = 120_000;
const EVENT_STREAM = "application/vnd.amazon.eventstream";

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", () => resolve(""));
  });
}

export async function startFakeAmazonQ(): Promise<FakeAmazonQ> {
  let mode: FakeAmazonQMode = "normal";
  let generation = 1;
  const stats = { calls: 0, refreshes: 0, refused: 0 };
  const stalls = new Set<() => void>();
  /** Resolves after the cap, when the proxy hangs up, or when the fake closes. */
  const stall = (response: ServerResponse) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stalls.delete(done);
        resolve();
      };
      const timer = setTimeout(done, STALL_CAP_MS);
      stalls.add(done);
      response.on("close", done);
    });
  const json = (response: ServerResponse, status: number, value: unknown) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(value));
  };

  const server = createServer(async (request, response) => {
    response.on("error", () => {});
    const body = await readBody(request);
    if (request.url === "/refreshToken") {
      stats.refreshes++;
      return json(response, 200, { accessToken: `fake-access-${generation}`, expiresIn: 3600 });
    }
    stats.calls++;
    const token = request.headers.authorization?.replace(/^Bearer /, "");
    if (token !== `fake-access-${generation}`) {
      stats.refused++;
      return json(response, 403, {
        __type: "AccessDeniedException",
        message: "The bearer token included in the request is invalid.",
      });
    }
    const end = eventFrame("metadataEvent", { tokenUsage: { outputTokens: 4 } });
    if (body.includes("[[big]]")) {
      response.writeHead(200, { "content-type": EVENT_STREAM });
      const filler = text("x".repeat(1024));
      let sent = 0;
      const pump = () => {
        while (sent < BIG_FRAMES) {
          sent++;
          if (!response.write(filler)) return void response.once("drain", pump);
        }
        response.end(end);
      };
      response.on("close", () => sent = BIG_FRAMES + 1);
      return pump();
    }
    switch (mode) {
      case "stall-headers":
        await stall(response);
        return json(response, 504, { message: "stalled" });
      case "stall-mid":
        response.writeHead(200, { "content-type": EVENT_STREAM });
        response.write(text("Hello"));
        await stall(response);
        return response.end();
      case "cut-early":
        // Headers, then the connection breaks before any frame.
        response.writeHead(200, { "content-type": EVENT_STREAM });
        response.flushHeaders();
        return void setTimeout(() => response.socket?.destroy(), 5);
      default:
        response.writeHead(200, { "content-type": EVENT_STREAM });
        response.write(text("Hello"));
        response.write(text(" from the fake."));
        return response.end(end);
    }
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    env: () => ({
      AMAZONQ_REFRESH_TOKEN: "fake-refresh-token-0123456789",
      AMAZONQ_API_ENDPOINT: `${url}/`,
      KIRO_REFRESH_ENDPOINT: `${url}/refreshToken`,
    }),
    setMode: (next) => mode = next,
    revokeTokens: () => {
      generation++;
    },
    stats,
    close: async () => {
      for (const done of [...stalls]) done();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
