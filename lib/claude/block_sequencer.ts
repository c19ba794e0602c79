/**
 * Keeps a Claude stream's content blocks well-formed while an upstream stage writes into it.
 *
 * Upstream stages say "here is text", "here is thinking", "a tool call starts"; the sequencer opens and
 * closes blocks so that indexes run 0, 1, 2 ..., each block starts after the previous one stopped, and
 * deltas always match the open block's type, as Claude clients require of a Messages stream. It holds no
 * I/O and no clock; it is owned by one stage instance.
 */
import type { ClaudeStreamEvent, StartContentBlock } from "./events.ts";

type OpenKind = "text" | "thinking" | "tool_use" | "other";

export class BlockSequencer {
  #emit: (event: ClaudeStreamEvent) => void;
  #index = -1;
  #open: OpenKind | null = null;
  #thinkingSigned = false;
  #kinds = new Set<string>();

  constructor(emit: (event: ClaudeStreamEvent) => void) {
    this.#emit = emit;
  }

  /** Index of the block that is open, or -1. */
  get openIndex(): number {
    return this.#open === null ? -1 : this.#index;
  }

  /** The kind of the open block, if any. */
  get openKind(): OpenKind | null {
    return this.#open;
  }

  /** Number of blocks started so far. */
  get blockCount(): number {
    return this.#index + 1;
  }

  /** True once a block of this type has been started (e.g. `"tool_use"`). */
  hasStarted(type: StartContentBlock["type"]): boolean {
    return this.#kinds.has(type);
  }

  /** Appends text, opening a text block if needed. Empty text is ignored. */
  text(text: string): void {
    if (text.length === 0) return;
    if (this.#open !== "text") this.#start({ type: "text", text: "" }, "text");
    this.#emit({ type: "content_block_delta", index: this.#index, delta: { type: "text_delta", text } });
  }

  /** Appends thinking, opening a thinking block if needed. Empty text is ignored. */
  thinking(thinking: string): void {
    if (thinking.length === 0) return;
    if (this.#open !== "thinking" || this.#thinkingSigned) {
      this.#start({ type: "thinking", thinking: "", signature: "" }, "thinking");
    }
    this.#emit({
      type: "content_block_delta",
      index: this.#index,
      delta: { type: "thinking_delta", thinking },
    });
  }

  /**
   * Sends the signature of the open thinking block (opening an empty one if none is open, so a signature
   * that arrives alone is not lost). A thinking block takes one signature; more text starts a new block.
   */
  signature(signature: string): void {
    if (this.#open !== "thinking" || this.#thinkingSigned) {
      this.#start({ type: "thinking", thinking: "", signature: "" }, "thinking");
    }
    this.#emit({
      type: "content_block_delta",
      index: this.#index,
      delta: { type: "signature_delta", signature },
    });
    this.#thinkingSigned = true;
  }

  /** True when the open block is a thinking block still waiting for its signature. */
  get thinkingNeedsSignature(): boolean {
    return this.#open === "thinking" && !this.#thinkingSigned;
  }

  /** Starts a tool_use block (closing whatever is open). */
  startToolUse(id: string, name: string): void {
    this.#start({ type: "tool_use", id, name, input: {} }, "tool_use");
  }

  /** Appends a fragment of the open tool_use block's input JSON. */
  toolInput(partialJson: string): void {
    if (this.#open !== "tool_use") throw new Error("toolInput without an open tool_use block");
    if (partialJson.length === 0) return;
    this.#emit({
      type: "content_block_delta",
      index: this.#index,
      delta: { type: "input_json_delta", partial_json: partialJson },
    });
  }

  /** Emits a complete block that has no deltas (server_tool_use, web_search_tool_result, redacted_thinking). */
  whole(block: StartContentBlock): void {
    this.#start(block, "other");
    this.close();
  }

  /** Closes the open block, if any. */
  close(): void {
    if (this.#open === null) return;
    this.#emit({ type: "content_block_stop", index: this.#index });
    this.#open = null;
  }

  #start(block: StartContentBlock, kind: OpenKind): void {
    this.close();
    this.#index += 1;
    this.#open = kind;
    this.#thinkingSigned = false;
    this.#kinds.add(block.type);
    this.#emit({ type: "content_block_start", index: this.#index, content_block: block });
  }
}
