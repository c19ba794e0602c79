/**
 * `upstreamCall`: one HTTP call to an upstream, with the limits and policies every channel needs.
 *
 * - Time limits: `headersMs` until the response headers arrive, `idleMs` between body bytes while the reader
 *   waits, `totalMs` for the whole call including the body. Each ends the call with a
 *   `transient` `UpstreamError` naming the limit, so the pool fails over while the client has seen nothing,
 *   and the stream ends with one error event saying what happened once it has.
 * - A body that breaks off (connection closed or reset) errors with `brokeOff`, never a bare runtime error.
 * - Redirects are never followed: upstream URLs are set by admins, and following a 307 would re-send the
 *   conversation to wherever it points. A 3xx is an error that names the location's host.
 * - A client that goes away aborts the call; its abort reason is passed on unchanged, since that failure
 *   says nothing about the account.
 * - `client` is where a per-account HTTP client (proxy, TLS options) is handed to `fetch`.
 *
 * It does not read error bodies, classify statuses or retry: those are particular to each upstream.
 */
import { UpstreamError } from "../errors.ts";
import { brokeOff } from "./broke_off.ts";

export interface UpstreamTimeouts {
  /** Until the response headers arrive. */
  headersMs: number;
  /** Between body bytes while the reader is waiting. */
  idleMs: number;
  /** The whole call, body included. */
  totalMs: number;
}

export const DEFAULT_UPSTREAM_TIMEOUTS: UpstreamTimeouts = {
  headersMs: 300_000,
  idleMs: 120_000,
  totalMs: 3_600_000,
};

export interface UpstreamCallOptions {
  fetch: typeof fetch;
  /** Names the upstream in errors (`amazonq`, `gemini`, `openai`, ...). */
  provider: string;
  /** The client's signal: aborting it cancels the call. */
  signal?: AbortSignal | undefined;
  timeouts?: Partial<UpstreamTimeouts> | undefined;
  /** A per-account HTTP client for `fetch` (proxy, TLS options). */
  client?: Deno.HttpClient | undefined;
}

export interface UpstreamRequestInit {
  method: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

/** The runtime's message and its causes' ("fetch failed" alone says nothing), minus the request URL. */
function describe(cause: unknown): string {
  const parts: string[] = [];
  let at: unknown = cause;
  for (let depth = 0; depth < 4 && at !== undefined && at !== null; depth++) {
    const text = at instanceof Error ? at.message : String(at);
    parts.push(text.replace(/error sending request .*?: /, ""));
    at = at instanceof Error ? at.cause : undefined;
  }
  return parts.filter((p) => p && p !== "fetch failed").join(": ") || "fetch failed";
}

/** A fetch failure that is a cut connection rather than a host that cannot be reached. */
const CUT = /closed|reset|broken pipe|eof|incomplete|aborted by peer/i;

export async function upstreamCall(
  url: string,
  init: UpstreamRequestInit,
  options: UpstreamCallOptions,
): Promise<Response> {
  const { provider, signal } = options;
  const limits = { ...DEFAULT_UPSTREAM_TIMEOUTS, ...options.timeouts };
  if (signal?.aborted) throw signal.reason;
  const controller = new AbortController();
  let failure: UpstreamError | undefined;
  const fail = (message: string) => {
    failure ??= new UpstreamError("transient", message, { provider });
    controller.abort(failure);
  };
  const onClientAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onClientAbort, { once: true });
  const totalTimer = setTimeout(
    () => fail(`upstream exceeded the total time limit of ${seconds(limits.totalMs)} s`),
    limits.totalMs,
  );
  const headersTimer = setTimeout(
    () => fail(`upstream sent no response headers within ${seconds(limits.headersMs)} s`),
    limits.headersMs,
  );
  let finished = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
    clearTimeout(headersTimer);
    signal?.removeEventListener("abort", onClientAbort);
  };
  /** What a failed read or fetch means: the client left, a limit passed, or the connection broke. */
  const explain = (cause: unknown, before: boolean): unknown => {
    if (signal?.aborted) return signal.reason ?? cause;
    if (failure) return failure;
    if (cause instanceof UpstreamError) return cause;
    const why = describe(cause);
    if (before && !CUT.test(why)) {
      return new UpstreamError("transient", `upstream could not be reached: ${why}`, { provider, cause });
    }
    return brokeOff(provider, before ? `connection closed before the response: ${why}` : why, cause);
  };

  let response: Response;
  try {
    response = await options.fetch(url, {
      method: init.method,
      headers: init.headers ?? {},
      body: init.body ?? null,
      redirect: "manual",
      signal: controller.signal,
      ...(options.client ? { client: options.client } : {}),
    } as RequestInit);
  } catch (cause) {
    finish();
    throw explain(cause, true);
  } finally {
    clearTimeout(headersTimer);
  }

  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => {});
    finish();
    const location = response.headers.get("location");
    let host = "an unnamed location";
    if (location) {
      try {
        host = new URL(location, url).host;
      } catch {
        host = "an invalid location";
      }
    }
    throw new UpstreamError(
      "transient",
      `upstream redirected to ${host} (HTTP ${response.status}); redirects are not followed`,
      { provider, upstreamStatus: response.status },
    );
  }
  if (!response.body) {
    finish();
    return response;
  }

  const reader = response.body.getReader();
  // Aborting the fetch is not relied on to end a read of the body: the runtime ties the body to a signal
  // derived from ours, and once the Response is dropped a garbage collection can sever that tie, after which
  // the abort never reaches a read that is waiting (a stalled stream then stayed open until the upstream hung
  // up). Cancelling the reader ends a waiting read at once, whatever the runtime does with the signal; the
  // read then reports "done", and `pull` turns that into the reason the call was stopped.
  // (Only the limits and the client abort our controller, and `finish` disarms both.)
  const stopBody = () => void reader.cancel(controller.signal.reason).catch(() => {});
  controller.signal.addEventListener("abort", stopBody, { once: true });
  if (controller.signal.aborted) stopBody();
  // The idle limit counts only while the reader waits for a chunk (a slow client is never an upstream stall)
  // and is kept by one timer per call: a chunk costs a clock read, not a timer set and cleared, and no
  // separate stage sits in the body's path.
  let waitingSince = -1;
  const watchIdle = () => {
    if (finished || controller.signal.aborted) return;
    const waited = waitingSince < 0 ? 0 : performance.now() - waitingSince;
    if (waited >= limits.idleMs) return fail(`upstream stalled: no data for ${seconds(limits.idleMs)} s`);
    idleTimer = setTimeout(watchIdle, limits.idleMs - waited);
  };
  watchIdle();
  const body = new ReadableStream<Uint8Array>({
    async pull(out) {
      waitingSince = performance.now();
      try {
        const { done, value } = await reader.read();
        waitingSince = -1;
        if (controller.signal.aborted) throw controller.signal.reason;
        if (done) {
          finish();
          out.close();
        } else out.enqueue(value);
      } catch (cause) {
        finish();
        throw explain(cause, false);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
