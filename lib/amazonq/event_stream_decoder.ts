/**
 * `EventStreamDecoder`: bytes of an `application/vnd.amazon.eventstream` body -> decoded frames.
 *
 * The AWS event-stream framing: `[total u32][headers-len u32][prelude CRC32][headers]
 * [payload][message CRC32]`, big-endian, zlib CRC-32. It verifies both checksums, decodes all ten header value
 * types, bounds frame and header sizes, and fails with a `ProtocolError` on anything corrupt or truncated. It
 * never resynchronises by skipping bytes: after a bad frame nothing that follows can be trusted. It is not an
 * interpreter of the frames (that is `AmazonQToClaude`) and it does not parse payload JSON.
 *
 * Buffering is linear: incoming chunks are kept in a list and copied once, when a whole frame is present (or
 * not at all when the frame sits inside one chunk), so the output does not depend on how the input is split.
 */
import { crc32 } from "node:zlib";
import { ProtocolError } from "../errors.ts";

/** A decoded header value; `long` is a bigint, `timestamp` a Date, `uuid` its canonical text form. */
export type EventStreamHeaderValue = boolean | number | bigint | string | Uint8Array | Date;

export interface EventStreamFrame {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
  /** Byte offset of the frame in the stream (for error messages). */
  offset: number;
}

export interface EventStreamDecoderOptions {
  /** Largest accepted frame, prelude and CRC included (default 16 MiB, the aws-c-event-stream limit). */
  maxFrameBytes?: number;
  /** Largest accepted header section (default 128 KiB, as aws-c-event-stream). */
  maxHeaderBytes?: number;
}

const PRELUDE = 12;
const MIN_FRAME = 16;

/** The decoding state machine, kept apart from the stream plumbing so its state is per instance. */
class FrameReader {
  readonly #maxFrame: number;
  readonly #maxHeaders: number;
  readonly #text = new TextDecoder("utf-8", { fatal: true });
  #chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk (the array is compacted now and then, not shifted per chunk). */
  #first = 0;
  /** Read position inside `#chunks[#first]`. */
  #head = 0;
  #buffered = 0;
  /** Stream offset of the first buffered byte. */
  #offset = 0;
  /** Total length of the frame whose prelude was already validated, or 0. */
  #pending = 0;

  constructor(options: EventStreamDecoderOptions) {
    this.#maxFrame = options.maxFrameBytes ?? 16 * 1024 * 1024;
    this.#maxHeaders = options.maxHeaderBytes ?? 128 * 1024;
  }

  push(chunk: Uint8Array, emit: (frame: EventStreamFrame) => void): void {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#pending === 0) {
        if (this.#buffered < PRELUDE) return;
        this.#pending = this.#readPrelude();
      }
      if (this.#buffered < this.#pending) return;
      const offset = this.#offset;
      const bytes = this.#take(this.#pending);
      this.#pending = 0;
      emit(this.#decode(bytes, offset));
    }
  }

  end(): void {
    if (this.#buffered > 0) {
      const expected = this.#pending > 0 ? ` of a ${this.#pending}-byte frame` : "";
      throw new ProtocolError(
        `event stream ended inside a frame: ${this.#buffered} bytes${expected} left over at offset ${this.#offset}`,
        { offset: this.#offset },
      );
    }
  }

  /** Validates the prelude of the next frame and returns its total length. */
  #readPrelude(): number {
    const prelude = this.#peek(PRELUDE);
    const view = new DataView(prelude.buffer, prelude.byteOffset, PRELUDE);
    const total = view.getUint32(0);
    const headers = view.getUint32(4);
    // Check the prelude CRC before trusting either length: a corrupted length must not make us wait for
    // gigabytes that will never come.
    if (crc32(prelude.subarray(0, 8)) !== view.getUint32(8)) {
      throw new ProtocolError(`event stream prelude checksum mismatch at offset ${this.#offset}`, {
        offset: this.#offset,
      });
    }
    if (total < MIN_FRAME) {
      throw new ProtocolError(`event stream frame length ${total} is below the minimum of ${MIN_FRAME}`, {
        offset: this.#offset,
      });
    }
    if (total > this.#maxFrame) {
      throw new ProtocolError(`event stream frame of ${total} bytes exceeds the limit of ${this.#maxFrame}`, {
        offset: this.#offset,
      });
    }
    if (headers > total - MIN_FRAME || headers > this.#maxHeaders) {
      throw new ProtocolError(`event stream header length ${headers} is invalid for a ${total}-byte frame`, {
        offset: this.#offset,
      });
    }
    return total;
  }

  /** The first `n` buffered bytes without consuming them (n is small: the prelude). */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[this.#first]!;
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let start = this.#head;
    for (let i = this.#first; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i]!;
      const part = chunk.subarray(start, start + (n - filled));
      out.set(part, filled);
      filled += part.length;
      start = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Consumes `n` buffered bytes; copies only when they span chunks. */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    this.#offset += n;
    const first = this.#chunks[this.#first]!;
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) this.#dropFirst();
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#first]!;
      const part = chunk.subarray(this.#head, this.#head + (n - filled));
      out.set(part, filled);
      filled += part.length;
      this.#head += part.length;
      if (this.#head === chunk.length) this.#dropFirst();
    }
    return out;
  }

  #dropFirst(): void {
    this.#head = 0;
    this.#first += 1;
    if (this.#first === this.#chunks.length) {
      this.#chunks = [];
      this.#first = 0;
    } else if (this.#first >= 1024) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }

  #decode(frame: Uint8Array, offset: number): EventStreamFrame {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const total = frame.length;
    const headerLength = view.getUint32(4);
    const expected = view.getUint32(total - 4);
    if (crc32(frame.subarray(0, total - 4)) !== expected) {
      throw new ProtocolError(`event stream message checksum mismatch in the frame at offset ${offset}`, {
        offset,
      });
    }
    const headers = this.#headers(frame, view, PRELUDE, PRELUDE + headerLength, offset);
    return { headers, payload: frame.subarray(PRELUDE + headerLength, total - 4), offset };
  }

  #headers(
    frame: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    offset: number,
  ): Record<string, EventStreamHeaderValue> {
    const headers: Record<string, EventStreamHeaderValue> = {};
    const fail = (why: string): never => {
      throw new ProtocolError(`malformed event stream headers in the frame at offset ${offset}: ${why}`, {
        offset,
      });
    };
    let p = start;
    const need = (n: number) => {
      if (p + n > end) fail("a header runs past the header section");
    };
    while (p < end) {
      need(1);
      const nameLength = view.getUint8(p);
      p += 1;
      if (nameLength === 0) fail("empty header name");
      need(nameLength + 1);
      const name = this.#utf8(frame.subarray(p, p + nameLength), fail);
      p += nameLength;
      const type = view.getUint8(p);
      p += 1;
      let value: EventStreamHeaderValue;
      switch (type) {
        case 0:
          value = true;
          break;
        case 1:
          value = false;
          break;
        case 2:
          need(1);
          value = view.getInt8(p);
          p += 1;
          break;
        case 3:
          need(2);
          value = view.getInt16(p);
          p += 2;
          break;
        case 4:
          need(4);
          value = view.getInt32(p);
          p += 4;
          break;
        case 5:
          need(8);
          value = view.getBigInt64(p);
          p += 8;
          break;
        case 6:
        case 7: {
          need(2);
          const length = view.getUint16(p);
          p += 2;
          need(length);
          const bytes = frame.subarray(p, p + length);
          value = type === 6 ? bytes.slice() : this.#utf8(bytes, fail);
          p += length;
          break;
        }
        case 8:
          need(8);
          value = new Date(Number(view.getBigInt64(p)));
          p += 8;
          break;
        case 9: {
          need(16);
          let hex = "";
          for (let i = 0; i < 16; i++) hex += frame[p + i]!.toString(16).padStart(2, "0");
          value = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
            hex.slice(20)
          }`;
          p += 16;
          break;
        }
        default:
          return fail(`unknown header value type ${type}`);
      }
      headers[name] = value;
    }
    return headers;
  }

  #utf8(bytes: Uint8Array, fail: (why: string) => never): string {
    // Header names and values are short ASCII (`:event-type`, `assistantResponseEvent`): building them in JS
    // avoids a TextDecoder call per header, which showed as the decoder's largest cost in a profile.
    if (bytes.length <= 64) {
      let ascii = true;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i]! > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return this.#text.decode(bytes);
    } catch {
      return fail("header text is not valid UTF-8");
    }
  }
}

export class EventStreamDecoder extends TransformStream<Uint8Array, EventStreamFrame> {
  constructor(options: EventStreamDecoderOptions = {}) {
    super(EventStreamDecoder.transformer(options));
  }

  /** The decoder as a transformer, to run in a `StageChain`. */
  static transformer(options: EventStreamDecoderOptions = {}): Transformer<Uint8Array, EventStreamFrame> {
    const reader = new FrameReader(options);
    return {
      transform(chunk, controller) {
        reader.push(chunk, (frame) => controller.enqueue(frame));
      },
      flush() {
        reader.end();
      },
    };
  }
}
