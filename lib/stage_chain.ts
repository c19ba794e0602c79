/**
 * `StageChain`: several synchronous stages run as one `TransformStream`.
 *
 * Every `pipeThrough` costs each chunk a write, a queue, a read and a handful of promises; an answer that
 * passes ten stages spends more time in that plumbing than in the stages themselves. A chain hands each
 * output of one stage straight to the next one's `transform`, synchronously, so a chunk crosses the whole
 * chain in one call and the chain costs one pipe. The stages stay what they are (small transformers, each
 * usable alone as a `TransformStream`); the chain keeps the semantics a pipe between them would have:
 * - `terminate()` by a stage ends its input there: the stages before it are cancelled, the stages after it
 *   are flushed, then the output closes (and the chain's input is cancelled, as a pipe would cancel the
 *   source).
 * - `error(e)` by a stage, or an exception from one, errors the output; every other stage hears `cancel(e)`,
 *   as a piped stage hears the abort of its input or the cancel of its output.
 * - The end of the input flushes the stages in order; a cancelled output cancels every stage.
 * Stages must be synchronous (a `transform` or `flush` returning a promise is a programming error here).
 */

type AnyTransformer = Transformer<unknown, unknown>;

/** A transformer whose `transform` and `flush` finish before they return. */
export type SyncTransformer<I, O> = Transformer<I, O>;

export class StageChain<I, O> extends TransformStream<I, O> {
  /**
   * @param stages the transformers, in order
   * @param first chunks of the input already read by the caller, handled before the rest of the input
   */
  constructor(stages: readonly SyncTransformer<never, unknown>[], first: readonly I[] = []) {
    const chain = stages as readonly AnyTransformer[];
    const n = chain.length;
    /** Stages whose input has ended (flushed or terminated): they take no more chunks. */
    const ended: boolean[] = new Array(n).fill(false);
    let output!: TransformStreamDefaultController<O>;
    let finished = false;
    const controllers: TransformStreamDefaultController<unknown>[] = [];

    const sync = (result: unknown, what: string) => {
      if (result instanceof Promise) throw new TypeError(`StageChain: a stage's ${what} must be synchronous`);
    };
    const deliver = (k: number, chunk: unknown): void => {
      if (k === n) {
        if (!finished) output.enqueue(chunk as O);
        return;
      }
      if (ended[k]) return;
      const transform = chain[k]!.transform;
      if (transform) sync(transform.call(chain[k], chunk, controllers[k]!), "transform");
      else controllers[k]!.enqueue(chunk);
    };
    const flushFrom = (k: number): void => {
      for (let j = k; j < n; j++) {
        if (ended[j]) continue;
        ended[j] = true;
        const flush = chain[j]!.flush;
        if (flush) sync(flush.call(chain[j], controllers[j]!), "flush");
      }
    };
    /** Tells every stage but `except` that the chain is over (the piped equivalent of abort and cancel). */
    const cancelAll = (reason: unknown, except = -1): void => {
      for (let j = n - 1; j >= 0; j--) {
        ended[j] = true;
        if (j === except) continue;
        try {
          chain[j]!.cancel?.call(chain[j], reason);
        } catch {
          // A stage that fails to hear the end must not hide the reason the chain ended.
        }
      }
    };

    for (let k = 0; k < n; k++) {
      controllers.push({
        get desiredSize() {
          return output.desiredSize;
        },
        enqueue: (chunk: unknown) => deliver(k + 1, chunk),
        error: (reason: unknown) => {
          if (finished) return;
          finished = true;
          cancelAll(reason, k);
          output.error(reason);
        },
        terminate: () => {
          if (finished) return;
          for (let j = 0; j <= k; j++) ended[j] = true;
          // The stages before it lose their reader, as a piped stage's output would be cancelled.
          for (let j = k - 1; j >= 0; j--) chain[j]!.cancel?.call(chain[j], undefined);
          flushFrom(k + 1);
          finished = true;
          output.terminate();
        },
      });
    }

    /** Runs a step; an exception from a stage errors the chain after the others heard of it. */
    const guarded = (step: () => void) => {
      try {
        step();
      } catch (error) {
        if (!finished) {
          finished = true;
          cancelAll(error);
        }
        throw error;
      }
    };

    super({
      start(controller) {
        output = controller;
        guarded(() => {
          for (let k = 0; k < n; k++) {
            const start = chain[k]!.start;
            if (start) sync(start.call(chain[k], controllers[k]!), "start");
          }
          for (const chunk of first) deliver(0, chunk);
        });
      },
      transform(chunk) {
        guarded(() => deliver(0, chunk));
      },
      flush() {
        guarded(() => flushFrom(0));
      },
      cancel(reason) {
        if (finished) return;
        finished = true;
        cancelAll(reason);
      },
    });
  }
}
