import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { EventStreamCodec, Int64 } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { EventStreamDecoder, type EventStreamFrame } from "../../../lib/amazonq/event_stream_decoder.ts";
import { ProtocolError } from "../../../lib/errors.ts";
import {
  chunked,
  collect,
  concat,
  eventFrame,
  exceptionFrame,
  hex,
  randomSplit,
  seeded,
  splitAt,
  streamOf,
} from "../../_helpers/amazonq_helpers.ts";

const VECTOR_TEXT = hex(
  "0000007c0000005c3bddcf780b3a6576656e742d74797065070016617373697374616e74526573706f6e73654576656e740d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74223a224869227db02babdc",
);
const VECTOR_EXCEPTION = hex(
  "0000008300000061a9d144e50f3a657863657074696f6e2d747970650700135468726f74746c696e67457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74797065070009657863657074696f6e7b226d657373616765223a22736c6f77227d7224f209",
);
const VECTOR_MIXED = hex(
  "00000037000000253d276fb80b3a6576656e742d7479706507000178016200016904000000070174080000018bcfe568007b7ddaaec211",
);

function decode(chunks: Uint8Array[], options = {}): Promise<EventStreamFrame[]> {
  return collect(streamOf(chunks).pipeThrough(new EventStreamDecoder(options)));
}

const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A comparable form of frames (payload as text, offsets included). */
function shape(frames: EventStreamFrame[]) {
  return frames.map((f) => ({ headers: f.headers, payload: utf8(f.payload), offset: f.offset }));
}

Deno.test("EventStreamDecoder decodes the spec test vectors", async () => {
  const frames = await decode([VECTOR_TEXT, VECTOR_EXCEPTION, VECTOR_MIXED]);
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0]!.headers, {
    ":event-type": "assistantResponseEvent",
    ":content-type": "application/json",
    ":message-type": "event",
  });
  assert.equal(utf8(frames[0]!.payload), '{"content":"Hi"}');
  assert.equal(frames[1]!.headers[":exception-type"], "ThrottlingException");
  assert.equal(frames[1]!.headers[":message-type"], "exception");
  assert.equal(utf8(frames[1]!.payload), '{"message":"slow"}');
  assert.equal(frames[1]!.offset, 124);
  const mixed = frames[2]!.headers;
  assert.equal(mixed[":event-type"], "x");
  assert.equal(mixed.b, true);
  assert.equal(mixed.i, 7);
  assert.ok(mixed.t instanceof Date);
  assert.equal((mixed.t as Date).getTime(), 1700000000000);
  assert.equal(utf8(frames[2]!.payload), "{}");
});

Deno.test("EventStreamDecoder decodes every header value type the smithy codec writes", async () => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const bytes = codec.encode({
    headers: {
      t: { type: "boolean", value: true },
      f: { type: "boolean", value: false },
      byte: { type: "byte", value: -7 },
      short: { type: "short", value: -1234 },
      int: { type: "integer", value: 123456789 },
      long: { type: "long", value: Int64.fromNumber(-5_000_000_000) },
      bin: { type: "binary", value: new Uint8Array([0, 1, 254, 255]) },
      str: { type: "string", value: "héllo ✓" },
      ts: { type: "timestamp", value: new Date(1_700_000_000_123) },
      id: { type: "uuid", value: "0123abcd-4567-89ab-cdef-0123456789ab" },
    },
    body: fromUtf8("payload"),
  });
  const [frame] = await decode([bytes]);
  const h = frame!.headers;
  assert.equal(h.t, true);
  assert.equal(h.f, false);
  assert.equal(h.byte, -7);
  assert.equal(h.short, -1234);
  assert.equal(h.int, 123456789);
  assert.equal(h.long, -5_000_000_000n);
  assert.deepEqual(h.bin, new Uint8Array([0, 1, 254, 255]));
  assert.equal(h.str, "héllo ✓");
  assert.equal((h.ts as Date).getTime(), 1_700_000_000_123);
  assert.equal(h.id, "0123abcd-4567-89ab-cdef-0123456789ab");
  assert.equal(utf8(frame!.payload), "payload");
});

Deno.test("EventStreamDecoder output does not depend on how the input is split", async () => {
  const stream = concat([
    VECTOR_TEXT,
    eventFrame("toolUseEvent", { toolUseId: "t1", name: "Bash", input: '{"a":', stop: false }),
    VECTOR_MIXED,
    eventFrame("assistantResponseEvent", { content: "日本語 ✓" }),
    exceptionFrame("ThrottlingException", { message: "slow" }),
  ]);
  const expected = shape(await decode([stream]));
  assert.equal(expected.length, 5);
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.deepEqual(shape(await decode(splitAt(stream, [cut]))), expected, `split at ${cut}`);
  }
  assert.deepEqual(shape(await decode(chunked(stream, 1))), expected, "one byte at a time");
  const random = seeded(42);
  for (let round = 0; round < 50; round++) {
    assert.deepEqual(shape(await decode(randomSplit(stream, random, 1 + round % 20))), expected);
  }
});

Deno.test("EventStreamDecoder rejects a bad prelude checksum without waiting for the frame", async () => {
  const bad = VECTOR_TEXT.slice();
  bad[9]! ^= 0xff;
  const error = await decode([bad]).then(() => null, (e) => e);
  assert.ok(error instanceof ProtocolError);
  assert.match(error.message, /prelude checksum/);
  assert.equal(error.offset, 0);
  // A corrupted length is caught by the prelude CRC too (not waited for).
  const badLength = VECTOR_TEXT.slice(0, 12);
  badLength[1] = 0x7f;
  await assert.rejects(decode([badLength]), /prelude checksum/);
});

Deno.test("EventStreamDecoder rejects a bad message checksum and never resynchronises", async () => {
  const bad = VECTOR_TEXT.slice();
  bad[bad.length - 8]! ^= 0x01; // inside the payload
  const error = await decode([concat([VECTOR_MIXED, bad, VECTOR_TEXT])]).then(() => null, (e) => e);
  assert.ok(error instanceof ProtocolError);
  assert.match(error.message, /message checksum/);
  assert.equal(error.offset, VECTOR_MIXED.length);
});

Deno.test("EventStreamDecoder reports a truncated final frame as an error", async () => {
  for (const cut of [1, 11, 12, 50, VECTOR_TEXT.length - 1]) {
    const error = await decode([concat([VECTOR_MIXED, VECTOR_TEXT.subarray(0, cut)])]).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof ProtocolError, `cut ${cut}`);
    assert.match(error.message, /ended inside a frame/);
  }
});

Deno.test("EventStreamDecoder bounds the frame size", async () => {
  const big = eventFrame("assistantResponseEvent", { content: "x".repeat(2000) });
  await assert.rejects(decode([big], { maxFrameBytes: 1024 }), (e) => {
    assert.ok(e instanceof ProtocolError);
    assert.match(e.message, /exceeds the limit of 1024/);
    return true;
  });
  assert.equal((await decode([big], { maxFrameBytes: big.length })).length, 1);
});

Deno.test("EventStreamDecoder rejects a zero length prefix instead of looping", async () => {
  const prelude = new Uint8Array(16);
  new DataView(prelude.buffer).setUint32(8, crc32(prelude.subarray(0, 8)));
  await assert.rejects(decode([prelude]), /below the minimum/);
});

Deno.test("EventStreamDecoder rejects an unknown header type", async () => {
  // One header "a" with type tag 10, payload empty; both CRCs valid.
  const headers = new Uint8Array([1, 0x61, 10]);
  const total = 16 + headers.length;
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headers.length);
  view.setUint32(8, crc32(frame.subarray(0, 8)));
  frame.set(headers, 12);
  view.setUint32(total - 4, crc32(frame.subarray(0, total - 4)));
  await assert.rejects(decode([frame]), /unknown header value type 10/);
});

Deno.test("EventStreamDecoder accepts an empty body", async () => {
  assert.deepEqual(await decode([]), []);
});
