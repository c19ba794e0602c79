/**
 * Measures how long the worst token-count inputs take and how `/health` answers meanwhile, against the real
 * server started as a subprocess with the flags of `deno task start` (key-less, loopback, temporary data
 * directory). Run: `deno run -A bench/count_tokens_stall.ts`. Bounded: five requests, each probed until it
 * ends or 120 s pass; the server is stopped at the end.
 */
const dir = await Deno.makeTempDir();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--unstable-cron",
    "--unstable-no-legacy-abort",
    new URL("../main.ts", import.meta.url).pathname,
  ],
  env: { HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dir, LOG_LEVEL: "error" },
  stdout: "null",
  stderr: "inherit",
}).spawn();
const url = `http://127.0.0.1:${port}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomLetters(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const out: string[] = [];
  let x = 9;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(alphabet[(x >>> 16) % alphabet.length]!);
  }
  return out.join("");
}

try {
  for (let i = 0; i < 100; i++) {
    const up = await fetch(url + "/health").then((r) => r.body?.cancel().then(() => true), () => false);
    if (up) break;
    await sleep(100);
  }
  const blob = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(60_000))));
  const message = (text: string) =>
    JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] });
  const inputs: Array<[string, string]> = [
    ["8 MB base64", message(blob.repeat(Math.ceil(8e6 / blob.length)).slice(0, 8e6))],
    ["1 M repeated letters", message("a".repeat(1e6))],
    ["6 M repeated letters", message("a".repeat(6e6))],
    ["4 M random letters", message(randomLetters(4e6))],
    ["JSON nested 10^6 deep", "[".repeat(1e6) + "]".repeat(1e6)],
  ];
  for (const [name, body] of inputs) {
    const probes: number[] = [];
    let done = false;
    const started = performance.now();
    const counted = fetch(url + "/v1/messages/count_tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).then(async (r) => `${r.status} ${(await r.text()).slice(0, 60)}`).finally(() => done = true);
    while (!done && performance.now() - started < 120_000) {
      const probe = performance.now();
      await (await fetch(url + "/health")).body?.cancel();
      probes.push(performance.now() - probe);
      await sleep(10);
    }
    const result = await counted;
    const ms = Math.round(performance.now() - started);
    probes.sort((a, b) => a - b);
    const p50 = probes[Math.floor(probes.length / 2)] ?? 0;
    const max = probes.at(-1) ?? 0;
    // deno-lint-ignore no-console
    console.log(
      `${name}: ${result} in ${ms} ms; /health p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms ` +
        `(${probes.length} probes)`,
    );
  }
} finally {
  server.kill("SIGTERM");
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
