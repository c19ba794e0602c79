/**
 * The real server as a subprocess (`main.ts` with the flags of `deno task start`), for tests and the soak
 * script that need the process itself: its sockets, its descriptor limit, its memory, whether it survived.
 * Optionally under a lowered `ulimit -n`. The port comes from the `listening` log line (`PORT=0`).
 */
import { fileURLToPath } from "node:url";

/** `main.ts` and the flags of `deno task start`, for every test that starts the server as a process. */
export const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
export const FLAGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--unstable-cron",
  "--unstable-no-legacy-abort",
];
const KEEP_LINES = 400;

export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** Settles when the process exits. */
  exited: Promise<Deno.CommandStatus>;
  alive(): boolean;
  /** The last log lines (stdout and stderr). */
  lines(): string[];
  /** The last warnings and errors (and anything not a JSON log line), kept apart from busy info lines. */
  warnings(): string[];
  /** Peak resident set size in MiB (`VmHWM`), or undefined once the process is gone. */
  peakRssMiB(): number | undefined;
  /** SIGKILL if still running; waits for the exit. */
  kill(): Promise<void>;
}

/** Only what Deno itself needs; the server's variables come from the caller. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "NPM_CONFIG_REGISTRY"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Calls `onLine` with each line of a child's output until it ends (or the process is gone). */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        onLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    }
  } catch { /* the process is gone */ }
}

export async function startServer(
  env: Record<string, string>,
  options: { ulimitNoFile?: number; timeoutMs?: number; cwd?: string } = {},
): Promise<ServerProcess> {
  const deno = [Deno.execPath(), ...FLAGS, MAIN];
  // `exec` keeps one process, so the pid is the server's own (for /proc and signals).
  const [cmd, args] = options.ulimitNoFile
    ? ["sh", ["-c", `ulimit -n ${options.ulimitNoFile} && exec "$@"`, "sh", ...deno]]
    : [deno[0]!, deno.slice(1)];
  const child = new Deno.Command(cmd, {
    args,
    clearEnv: true,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...baseEnv(), PORT: "0", DATABASE_URL: "sqlite::memory:", LOG_LEVEL: "info", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const warnings: string[] = [];
  let done = false;
  const exited = child.status.then((status) => {
    done = true;
    return status;
  });
  let onListening: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => onListening = resolve);
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > KEEP_LINES) lines.shift();
    if (!/^\{"time":"[^"]*","level":"(debug|info)"/.test(line)) {
      warnings.push(line);
      if (warnings.length > KEEP_LINES) warnings.shift();
    }
    const url = /"msg":"listening".*"url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
    if (url) onListening(url);
  };
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    listening,
    exited.then((s) => Promise.reject(new Error(`server exited (${s.code}): ${lines.join("\n")}`))),
    new Promise<never>((_, reject) =>
      timer = setTimeout(() => reject(new Error(`no "listening" within ${timeoutMs} ms`)), timeoutMs)
    ),
  ]).catch(async (error) => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await exited;
    throw error;
  }).finally(() => clearTimeout(timer));
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    exited,
    alive: () => !done,
    lines: () => [...lines],
    warnings: () => [...warnings],
    peakRssMiB: () => {
      try {
        const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
        return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
      } catch {
        return undefined;
      }
    },
    kill: async () => {
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await exited;
    },
  };
}

/** `fetch` that gives up after `ms` (the body is read too); never throws: a status or an error class. */
export async function timedFetch(
  url: string,
  init: RequestInit & { timeoutMs: number },
): Promise<{ status: number; text: string } | { error: string }> {
  const signal = AbortSignal.timeout(init.timeoutMs);
  try {
    const response = await fetch(url, { ...init, signal });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    return { error: name === "TimeoutError" || name === "AbortError" ? "client timeout" : `${name}` };
  }
}
