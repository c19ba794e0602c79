/**
 * The token-count worker's module: counts the texts it is sent with its own `Cl100kCounter` and posts the
 * counts back under the same job id. It runs in a `Worker` so that counting megabytes of text never holds up
 * the server's event loop. Its first message is the rank table's shared arrays (`BpeRankTable.parts`): the
 * counter reads the same memory as the event loop's, so the worker loads no rank data of its own.
 */
import { BpeRankTable, type BpeRankTableParts } from "./bpe_rank_table.ts";
import { Cl100kCounter } from "./cl100k_counter.ts";

type Message = { ranks: BpeRankTableParts } | { id: number; buffers: Uint8Array[] };

interface WorkerScope {
  onmessage: ((event: MessageEvent<Message>) => void) | null;
  postMessage(message: unknown): void;
}

/** Answers jobs on `scope`; the counter is made from the first message. */
function serve(scope: WorkerScope): void {
  let counter: Cl100kCounter | undefined;
  const decoder = new TextDecoder();
  scope.onmessage = (event) => {
    const message = event.data;
    if ("ranks" in message) {
      counter = new Cl100kCounter(BpeRankTable.fromParts(message.ranks));
      return;
    }
    const { id, buffers } = message;
    try {
      if (!counter) throw new Error("no rank table received");
      const ready = counter;
      scope.postMessage({ id, counts: buffers.map((bytes) => ready.count(decoder.decode(bytes))) });
    } catch (error) {
      scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

// This module only ever runs as a worker's main module.
serve(self as unknown as WorkerScope);
