/**
 * The load harness's load generator, a process of its own so its CPU is never the server's. One job per
 * run, given as JSON in the first argument: `{url, apiKey?, kind, raw, concurrency, total, timeoutMs,
 * durationMs?, rampPerSecond?}`. It sends up to `total` streaming requests, `concurrency` at a time (their
 * first starts spread at `rampPerSecond`, so a herd of connects measures the server rather than the kernel's
 * accept backlog), over keep-alive connections. With `durationMs` it starts nothing after that time and cuts
 * the streams still open then (counted as `cut at the end of the window`, not as failures; only deltas that
 * arrived inside the window count), so a phase takes the same time on a slow machine. It times each request:
 * response headers (ttfb), the first content delta, the last byte. `raw` is the floor's answer (Amazon Q
 * event-stream bytes piped through): a delta is an `assistantResponseEvent` frame and the end is the
 * `metadataEvent`; otherwise a delta is an SSE `content_block_delta` and the end is `message_stop`. Streams
 * that end without their end marker, with an `error` event, a non-200 status or a client time-out are
 * counted by class. Prints one JSON line: `{wallMs, ttfb[], firstDelta[], last[], deltas, outcomes}`.
 */
import { claudeCodeRequest } from "../_claude_code_request.ts";

interface Job {
  url: string;
  apiKey?: string;
  kind: "short" | "long" | "slow" | "big";
  raw: boolean;
  concurrency: number;
  total: number;
  timeoutMs: number;
  durationMs?: number;
  rampPerSecond?: number;
}

const job = JSON.parse(Deno.args[0]!) as Job;
const marker = `[[load:${job.kind === "big" ? "short" : job.kind}]]`;
const body = job.kind === "big"
  ? JSON.stringify(
    claudeCodeRequest({ bytes: 2 * 1024 * 1024, toolResultChars: 6000, lastText: `${marker} Continue.` }),
  )
  : JSON.stringify({
    model: "claude-sonnet-4-6",
    max_tokens: 1024,
    stream: true,
    messages: [{ role: "user", content: `${marker} Say something.` }],
  });
const headers: Record<string, string> = {
  "content-type": "application/json",
  "anthropic-version": "2023-06-01",
};
if (job.apiKey) headers["x-api-key"] = job.apiKey;
const deltaMark = job.raw ? "assistantResponseEvent" : "event: content_block_delta";
const endMark = job.raw ? "metadataEvent" : "event: message_stop";
const errorMark = job.raw ? ":exception-type" : "event: error";

const ttfb: number[] = [];
const firstDelta: number[] = [];
const last: number[] = [];
const outcomes: Record<string, number> = {};
let deltas = 0;

function count(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

const windowEnd = new AbortController();
const CUT = "cut at the end of the window";

async function one(): Promise<string> {
  const started = performance.now();
  const signal = AbortSignal.any([AbortSignal.timeout(job.timeoutMs), windowEnd.signal]);
  try {
    const response = await fetch(job.url, { method: "POST", headers, body, signal });
    ttfb.push(performance.now() - started);
    if (response.status !== 200) {
      await response.body?.cancel();
      return `HTTP ${response.status}`;
    }
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    let carry = "";
    let seen = 0;
    let ended = false;
    let errored = false;
    for await (const chunk of response.body!) {
      const text = carry + decoder.decode(chunk, { stream: true });
      const n = count(text, deltaMark);
      if (n > 0 && seen === 0) firstDelta.push(performance.now() - started);
      seen += n;
      deltas += n;
      if (text.includes(endMark)) ended = true;
      if (text.includes(errorMark)) errored = true;
      // A tail one shorter than the delta mark (the longest mark) finds a mark straddling two chunks, and
      // never counts a delta twice.
      carry = text.slice(-(deltaMark.length - 1));
    }
    last.push(performance.now() - started);
    if (errored) return "stream error event";
    return ended ? "ok" : "stream ended without its end";
  } catch (error) {
    if (windowEnd.signal.aborted) return CUT;
    const name = error instanceof Error ? error.name : "Error";
    return name === "TimeoutError" || name === "AbortError" ? "client timeout" : `network ${name}`;
  }
}

const started = performance.now();
let next = 0;
let windowMs = Infinity;
const timer = job.durationMs === undefined ? undefined : setTimeout(() => {
  windowMs = performance.now() - started;
  windowEnd.abort();
}, job.durationMs);
await Promise.all(Array.from({ length: Math.min(job.concurrency, job.total) }, async (_, worker) => {
  if (job.rampPerSecond) {
    await new Promise((resolve) => setTimeout(resolve, worker * 1000 / job.rampPerSecond!));
  }
  while (next < job.total && !windowEnd.signal.aborted) {
    next++;
    const outcome = await one();
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
}));
clearTimeout(timer);
const wallMs = Math.min(windowMs, performance.now() - started);
// deno-lint-ignore no-console
console.log(JSON.stringify({ wallMs, ttfb, firstDelta, last, deltas, outcomes }));
