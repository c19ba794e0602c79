/**
 * A fake Amazon Q for subprocess tests and the soak script: one `Deno.serve` on 127.0.0.1:0 that plays the
 * Kiro token endpoint (`POST /refreshToken`) and the streaming API (`POST /`), answering in real AWS
 * event-stream frames and failing the way the service does. The behaviour is switchable at run time, and a
 * marker in the conversation (`[[big]]`) asks for a long answer whatever the mode.
 */
import { eventFrame, text } from "../amazonq/_helpers.ts";

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

export function startFakeAmazonQ(): FakeAmazonQ {
  let mode: FakeAmazonQMode = "normal";
  let generation = 1;
  const stats = { calls: 0, refreshes: 0, refused: 0 };
  const closing = new AbortController();
  const stall = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STALL_CAP_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      closing.signal.addEventListener("abort", done, { once: true });
    });
  const frames = (parts: Uint8Array[], then?: (c: ReadableStreamDefaultController<Uint8Array>) => void) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const p of parts) controller.enqueue(p);
          if (then) then(controller);
          else controller.close();
        },
      }),
      { headers: { "content-type": EVENT_STREAM } },
    );

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/refreshToken") {
      await request.body?.cancel();
      stats.refreshes++;
      return Response.json({ accessToken: `fake-access-${generation}`, expiresIn: 3600 });
    }
    stats.calls++;
    const body = await request.text();
    const token = request.headers.get("authorization")?.replace(/^Bearer /, "");
    if (token !== `fake-access-${generation}`) {
      stats.refused++;
      return Response.json(
        { __type: "AccessDeniedException", message: "The bearer token included in the request is invalid." },
        { status: 403 },
      );
    }
    const answer = [text("Hello"), text(" from the fake.")];
    const end = eventFrame("metadataEvent", { tokenUsage: { outputTokens: 4 } });
    if (body.includes("[[big]]")) {
      let sent = 0;
      const filler = text("x".repeat(1024));
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < BIG_FRAMES) controller.enqueue(filler);
            else {
              controller.enqueue(end);
              controller.close();
            }
          },
        }, { highWaterMark: 4 }),
        { headers: { "content-type": EVENT_STREAM } },
      );
    }
    switch (mode) {
      case "stall-headers":
        await stall(request.signal);
        return new Response(null, { status: 504 });
      case "stall-mid":
        return frames([answer[0]!], (controller) => {
          stall(request.signal).then(() => {
            try {
              controller.close();
            } catch { /* cancelled */ }
          });
        });
      case "cut-early":
        // Headers, then the connection breaks before any frame.
        return frames([], (controller) => controller.error(new Error("connection reset")));
      default:
        return frames([...answer, end]);
    }
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
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
      closing.abort();
      await server.shutdown();
    },
  };
}
