/**
 * Reads a request body as JSON and validates it with a zod schema, turning every problem into a Claude
 * `invalid_request_error` whose message names the offending field (`messages.0.content.1.type: ...`), the
 * way Anthropic's API words them.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.ts";
import { assertJsonDepth } from "./json_depth_guard.ts";

/**
 * The body as text, read chunk by chunk. `Request.text()` collects the whole body in one runtime call that
 * holds the event loop while megabytes arrive (a few hundred milliseconds for 8 MB on a busy machine, with
 * `/health` waiting behind it); reading the stream lets other requests run between chunks, and decoding each
 * chunk as it comes spreads the UTF-8 decoding the same way. The body limit in front bounds the loop.
 */
async function readText(c: Context): Promise<string> {
  const body = c.req.raw.body;
  // Read before (Hono keeps what it read): take it from there.
  if (!body || c.req.raw.bodyUsed) return await c.req.text();
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join("");
}

/**
 * The body parsed as JSON; a 400 when it is not JSON or nested too deep (a body over the limit stays a 413).
 * `invalid` replaces the message of the "not JSON" error for routes that word it their own way.
 */
export async function readJson(c: Context, invalid = "request body is not valid JSON"): Promise<unknown> {
  let text: string;
  try {
    text = await readText(c);
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw new ApiError("invalid_request_error", "request body could not be read", { cause });
  }
  assertJsonDepth(text);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ApiError("invalid_request_error", invalid, { cause });
  }
}

export async function readJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const result = schema.safeParse(await readJson(c));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join(".");
    let message = issue.message;
    if (issue.code === "invalid_type" && message.includes("received undefined")) message = "Field required";
    const text = path ? `${path}: ${message}` : message;
    // Messages quote offending keys and paths; a megabyte-long key must not come back as a megabyte error.
    throw new ApiError("invalid_request_error", text.length > 500 ? `${text.slice(0, 500)}…` : text);
  }
  return result.data;
}
