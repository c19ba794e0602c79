/** A webhook receiver for the alert tests, on 127.0.0.1 port 0. */

export interface Hook {
  url: string;
  bodies: Array<Record<string, unknown>>;
  /** Requests answered so far (including refused ones). */
  hits: number;
  close(): Promise<void>;
}

/** Answers `status` once `gate` resolves; keeps the bodies of the alerts it accepted (status 200). */
export function webhook(status: number, gate: Promise<void> = Promise.resolve()): Hook {
  const hook: Hook = { url: "", bodies: [], hits: 0, close: async () => {} };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.json();
    await gate;
    hook.hits++;
    if (status === 200) hook.bodies.push(body);
    return new Response(status === 200 ? "ok" : "refused", { status });
  });
  hook.url = `http://127.0.0.1:${server.addr.port}/hook`;
  hook.close = () => server.shutdown();
  return hook;
}
