/**
 * The token-count worker's module: counts the texts it is sent with its own `Cl100kCounter` and posts the
 * counts back under the same job id. It runs in a `Worker` so that counting megabytes of text never holds up
 * the server's event loop; the counter (and its rank table) is built when the worker starts, which happens
 * only once a request brings a text too large to count inline.
 */
import { Cl100kCounter } from "./cl100k_counter.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<{ id: number; buffers: Uint8Array[] }>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as WorkerScope;
// The worker's one counter: this module only ever runs as a worker's main module.
const counter = new Cl100kCounter();
const decoder = new TextDecoder();

scope.onmessage = (event) => {
  const { id, buffers } = event.data;
  try {
    scope.postMessage({ id, counts: buffers.map((bytes) => counter.count(decoder.decode(bytes))) });
  } catch (error) {
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
