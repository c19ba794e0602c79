import assert from "node:assert/strict";
import { join } from "node:path";
import { baseEnv, FLAGS, MAIN } from "../_helpers/server_process.ts";

const API_KEY = "sk-startup-test-key-01";

function spawnServer(cwd: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, MAIN],
    cwd,
    clearEnv: true,
    env: { ...baseEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads JSON log lines until `listening`; rejects after `ms`. Keeps draining stdout afterwards. */
async function waitForListening(child: Deno.ChildProcess, ms: number, seen: string[] = []): Promise<string> {
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no "listening" line within ${ms} ms; saw: ${seen.join("\n")}`)),
      ms,
    );
  });
  const read = (async () => {
    while (true) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`stdout closed before "listening"; saw: ${seen.join("\n")}`);
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        seen.push(line);
        const record = JSON.parse(line);
        if (record.msg === "listening") return record.url as string;
      }
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    // Drain the rest so the child never blocks on a full pipe; ends when the child exits.
    (async () => {
      try {
        while (!(await lines.read()).done) { /* discard */ }
      } catch { /* the child is gone */ }
    })();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch { /* already exited */ }
}

Deno.test({
  name: "main.ts started from another directory serves /health, /admin and auth, and stops on SIGTERM",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "amq2api-startup-" });
    const child = spawnServer(dir, { PORT: "0", DATA_DIR: join(dir, "data"), API_KEY });
    const stderr = new Response(child.stderr).text();
    let exited = false;
    try {
      const logged: string[] = [];
      const url = await waitForListening(child, 30_000, logged);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      // No admin exists yet: the log says where to create one.
      const hint = logged.map((line) => JSON.parse(line).msg as string).find((m) => m.includes("/admin"));
      assert.equal(hint, `no admin account yet: open ${url}/admin on this machine to create it`);

      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");

      // The console is found relative to the module, not the working directory (which has no static/).
      const admin = await fetch(`${url}/admin`);
      assert.equal(admin.status, 200);
      assert.match(admin.headers.get("content-type") ?? "", /text\/html/);
      assert.match(await admin.text(), /^<!doctype html>/i);

      const noKey = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-sonnet-4-6",
          max_tokens: 5,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(noKey.status, 401);
      assert.equal((await noKey.json()).error.type, "authentication_error");

      child.kill("SIGTERM");
      const status = await withTimeout(child.status, 10_000, "shutdown");
      exited = true;
      assert.equal(status.code, 0, await stderr);
      assert.ok((await Deno.stat(join(dir, "data", "amq2api.db"))).isFile);
      // Nothing was written to the working directory.
      const entries = [];
      for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
      assert.deepEqual(entries, ["data"]);
    } finally {
      if (!exited) {
        killQuietly(child);
        await child.status;
      }
      await stderr;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a bad PORT stops the start with one stderr line naming PORT, before anything listens", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-startup-" });
  const child = spawnServer(dir, { PORT: "abc", DATA_DIR: join(dir, "data") });
  let exited = false;
  try {
    const [status, stdout, stderr] = await withTimeout(
      Promise.all([child.status, new Response(child.stdout).text(), new Response(child.stderr).text()]),
      30_000,
      "a failing start",
    );
    exited = true;
    assert.notEqual(status.code, 0);
    const lines = stderr.split("\n").filter((line) => line.trim() !== "");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /PORT/);
    assert.ok(!stdout.includes("listening"), stdout);
    // The store was not even opened.
    await assert.rejects(Deno.stat(join(dir, "data")), Deno.errors.NotFound);
  } finally {
    if (!exited) {
      killQuietly(child);
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "SIGTERM lets an in-flight stream finish (within SHUTDOWN_DRAIN_SECONDS), then the process exits 0",
  sanitizeResources: false,
  fn: async () => {
    // A slow OpenAI-format upstream: six chunks, 150 ms apart.
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      await req.body?.cancel();
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let i = 0; i < 6; i++) {
            const delta = i === 5 ? {} : { content: `part${i} ` };
            const chunk = { choices: [{ index: 0, delta, finish_reason: i === 5 ? "stop" : null }] };
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`));
            await new Promise((r) => setTimeout(r, 150));
          }
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    });
    const dir = await Deno.makeTempDir({ prefix: "amq2api-drain-" });
    const child = spawnServer(dir, {
      PORT: "0",
      DATA_DIR: join(dir, "data"),
      API_KEY,
      ADMIN_USERNAME: "admin",
      ADMIN_PASSWORD: "drain-test-password",
      SHUTDOWN_DRAIN_SECONDS: "10",
    });
    const stderr = new Response(child.stderr).text();
    let exited = false;
    try {
      const url = await waitForListening(child, 30_000);
      const login = await fetch(`${url}/api/admin/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: "drain-test-password" }),
      });
      const { token } = await login.json();
      const created = await fetch(`${url}/v2/accounts`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-session-token": token },
        body: JSON.stringify({
          type: "custom_api",
          clientSecret: "sk-upstream",
          other: { api_base: `http://127.0.0.1:${upstream.addr.port}/v1`, format: "openai", model: "slow" },
        }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      await created.body?.cancel();

      const response = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": API_KEY },
        body: JSON.stringify({
          model: "slow",
          max_tokens: 50,
          stream: true,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(response.status, 200);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = (await reader.read()).value ?? "";
      // The answer is under way: stop the server now.
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      assert.match(text, /part4/);
      assert.match(text, /event: message_stop/);
      assert.ok(!text.includes("event: error"), text);
      const status = await withTimeout(child.status, 15_000, "drain and exit");
      exited = true;
      assert.equal(status.code, 0, await stderr);
    } finally {
      if (!exited) {
        killQuietly(child);
        await child.status;
      }
      await stderr;
      await upstream.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a REFRESH_CRON that Deno's cron parser refuses stops the start with one line naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-startup-" });
  const child = spawnServer(dir, { PORT: "0", DATA_DIR: join(dir, "data"), REFRESH_CRON: "99 * * * *" });
  let exited = false;
  try {
    const [status, stdout, stderr] = await withTimeout(
      Promise.all([child.status, new Response(child.stdout).text(), new Response(child.stderr).text()]),
      30_000,
      "a failing start",
    );
    exited = true;
    assert.notEqual(status.code, 0);
    const lines = stderr.split("\n").filter((line) => line.trim() !== "");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /REFRESH_CRON/);
    assert.ok(!stdout.includes('"listening"'), stdout);
  } finally {
    if (!exited) {
      killQuietly(child);
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
