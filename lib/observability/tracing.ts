/**
 * `Tracing`: the server's own spans, through the OpenTelemetry API that Deno's built-in telemetry serves.
 *
 * With `OTEL_DENO=true` the runtime exports over OTLP (configured with the standard `OTEL_EXPORTER_OTLP_*`
 * variables), instruments `Deno.serve` and `fetch` by itself, and backs `@opentelemetry/api` with its own
 * provider; without it the API is a no-op and these calls cost a function call each. The request's span is
 * the one the runtime opens for `Deno.serve` (the server names it after the matched route and adds the
 * serving channel; a request handed to the app in-process gets a span of its own), and the server adds one
 * span per upstream call attempt (channel, account id, model, outcome, attempt number, failover hops). Attributes are identifiers and classes only: never a token, a
 * key or prompt text.
 *
 * Upstream spans are written when the attempt is over, with its measured start and end, so the gateway
 * needs no extra bookkeeping; the request's context is captured when the stream commits, so the span of a
 * stream that ends after the response headers still hangs under its request.
 */
import { type Context, context, type Span, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";

/** The request context a late upstream span attaches to. */
export type UpstreamSpanContext = Context;

export interface UpstreamSpan {
  channel: string;
  accountId: string;
  model: string;
  /** `success` or the failure class. */
  outcome: string;
  /** 0 for the first attempt: also the number of failover hops before this one. */
  attempt: number;
  /** `performance.now()` values. */
  startedMs: number;
  endedMs: number;
  parent?: UpstreamSpanContext | undefined;
}

export class Tracing {
  #tracer: Tracer;

  constructor(tracer: Tracer = trace.getTracer("amq2api")) {
    this.#tracer = tracer;
  }

  /**
   * Runs `fn` inside the request's span: the one `Deno.serve` opened for it when there is one (it then only
   * gains the route and channel), else a span of its own (requests handed to the app in-process).
   */
  async request(
    method: string,
    fn: () => Promise<{ route: string; status: number; channel: string }>,
  ): Promise<void> {
    const server = trace.getActiveSpan();
    if (server) {
      await this.#annotated(server, method, fn, false);
      return;
    }
    await this.#tracer.startActiveSpan(`${method}`, (span: Span) => this.#annotated(span, method, fn, true));
  }

  async #annotated(
    span: Span,
    method: string,
    fn: () => Promise<{ route: string; status: number; channel: string }>,
    own: boolean,
  ): Promise<void> {
    try {
      const { route, status, channel } = await fn();
      span.updateName(`${method} ${route}`);
      // One call: each crosses into the runtime's span. Its own span records method and status itself.
      span.setAttributes(
        own
          ? {
            "http.route": route,
            "amq2api.channel": channel,
            "http.request.method": method,
            "http.response.status_code": status,
          }
          : { "http.route": route, "amq2api.channel": channel },
      );
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : "error" });
      throw error;
    } finally {
      if (own) span.end();
    }
  }

  /** The active context, for a span written later. */
  capture(): UpstreamSpanContext {
    return context.active();
  }

  /** Writes one finished upstream call attempt. */
  upstreamSpan(s: UpstreamSpan): void {
    const origin = performance.timeOrigin;
    const span = this.#tracer.startSpan(`upstream ${s.channel}`, {
      startTime: origin + s.startedMs,
      attributes: {
        "amq2api.channel": s.channel,
        "amq2api.account_id": s.accountId,
        "amq2api.model": s.model,
        "amq2api.outcome": s.outcome,
        "amq2api.retries": s.attempt,
        "amq2api.failover_hops": s.attempt,
      },
    }, s.parent ?? context.active());
    if (s.outcome !== "success") span.setStatus({ code: SpanStatusCode.ERROR, message: s.outcome });
    span.end(origin + s.endedMs);
  }
}
