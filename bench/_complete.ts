/**
 * Fails a bench run whose SSE output does not end with `message_stop`: a pipeline that ends in an `error`
 * event would otherwise be timed as if it had done the whole job.
 */
export function assertComplete(lastChunk: Uint8Array): void {
  const tail = new TextDecoder().decode(lastChunk.subarray(-200));
  if (!tail.includes("event: message_stop") || tail.includes("event: error")) {
    throw new Error(`bench pipeline did not end with message_stop: ...${tail}`);
  }
}
