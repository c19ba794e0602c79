/**
 * `readErrorBody`: the text of a refused upstream answer, read up to a size bound.
 *
 * Error bodies are short JSON or a small page; reading more would only let a broken proxy make us buffer
 * megabytes. A body that breaks off still classifies by its status, so read failures give what was read.
 * The body is always consumed or cancelled, so the connection (and its timers) are released.
 */

/** Default bound: enough for any JSON error, not a whole HTML page. */
export const ERROR_BODY_LIMIT = 64 * 1024;

export async function readErrorBody(response: Response, limit = ERROR_BODY_LIMIT): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // What arrived before the break still helps; the status alone classifies the rest.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all.subarray(0, limit));
}
