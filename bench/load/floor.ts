/**
 * The floor the load harness measures the server against: a bare `Deno.serve` that forwards each request's
 * body to the fake Amazon Q with `fetch` and pipes the reply's bytes back, parsing nothing. Whatever this
 * costs is what the runtime and the fake upstream cost; the server's ratio to it is what the server adds.
 * Usage: `floor.ts <upstream url>`; prints `{"port":N}` on stdout once listening; exits when stdin closes.
 */
const upstream = Deno.args[0]!;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  const response = await fetch(upstream, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer load-access-token" },
    body: request.body,
  });
  return new Response(response.body, {
    status: response.status,
    headers: { "content-type": response.headers.get("content-type") ?? "application/octet-stream" },
  });
});
// deno-lint-ignore no-console
console.log(JSON.stringify({ port: server.addr.port }));
(async () => {
  for await (const _ of Deno.stdin.readable) { /* until the harness goes away */ }
  Deno.exit(0);
})();
