import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeMessage,
  encodeOpening,
  FrameReader,
  LineReader,
  MAX_RECORD_BYTES,
  MessageDecoder,
  OpeningReader,
  parseMessage,
  PATH_MAX,
  type Unit,
  writeFrameHeader,
} from "../protocol/mod.ts";
import { PendingBytes } from "../client/pending_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const join = (unit: Unit) => {
  const out = new Uint8Array(unit.bytes);
  let offset = 0;
  for (const part of unit.parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** Cuts `bytes` at the given points (sorted, deduplicated, within range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) =>
    a - b
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.slice(start, point));
    start = point;
  }
  pieces.push(bytes.slice(start));
  return pieces;
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(payload, 4);
  writeFrameHeader(out);
  return out;
}

Deno.test("OpeningReader reads 0.x and offlog/1 openings, and refuses over PATH_MAX", () => {
  let result = new OpeningReader().push(encoder.encode("/tmp/a.log\0data"));
  assert.equal(result.state, "done");
  assert.ok(result.state === "done");
  assert.equal(result.version, "0.x");
  assert.equal(decoder.decode(result.path), "/tmp/a.log");
  assert.equal(decoder.decode(result.rest), "data");

  const reader = new OpeningReader();
  const bytes = encodeOpening("/tmp/b.log", "offlog/1");
  assert.equal(reader.push(bytes.subarray(0, 5)).state, "more");
  result = reader.push(bytes.subarray(5));
  assert.ok(result.state === "done");
  assert.equal(result.version, "offlog/1");
  assert.equal(decoder.decode(result.path), "/tmp/b.log");

  const long = new OpeningReader();
  assert.equal(long.push(new Uint8Array(PATH_MAX).fill(97)).state, "more");
  assert.deepEqual(long.push(new Uint8Array([97])), {
    state: "refused",
    name: "ValueError",
    message: "path longer than PATH_MAX",
  });
});

Deno.test("MessageDecoder splits messages at NUL across reads; parseMessage knows each kind", () => {
  const messages = new MessageDecoder();
  const bytes = encoder.encode(
    "OK\0ACK 123\0ROTATED\0OSError: offlog server exited\0BYE\0",
  );
  const out = split(bytes, [1, 4, 5, 20]).flatMap((piece) => messages.push(piece));
  assert.deepEqual(out, [
    { type: "ok" },
    { type: "ack", bytes: 123 },
    { type: "rotated" },
    { type: "error", name: "OSError", message: "offlog server exited" },
    { type: "bye" },
  ]);
  assert.deepEqual(parseMessage("something odd"), {
    type: "error",
    name: "ValueError",
    message: "something odd",
  });
  assert.deepEqual([...encodeMessage("OK")], [79, 75, 0]);
});

Deno.test("FrameReader yields the same frames however the stream is split into reads", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const stream = payloads.map(frame).reduce((a, b) => {
          const out = new Uint8Array(a.length + b.length);
          out.set(a);
          out.set(b, a.length);
          return out;
        }, new Uint8Array(0));
        const reader = new FrameReader();
        const units = split(stream, cuts).flatMap((piece) => reader.push(piece));
        assert.deepEqual(
          units.map(join),
          payloads.filter((p) => p.length > 0),
        );
        assert.equal(reader.heldBytes, 0);
      },
    ),
  );
});

Deno.test("FrameReader stops at a frame over the maximum and keeps the frames before it", () => {
  const reader = new FrameReader();
  const bad = new Uint8Array(4);
  new DataView(bad.buffer).setUint32(0, MAX_RECORD_BYTES + 1);
  const good = frame(encoder.encode("ok\n"));
  const both = new Uint8Array(good.length + bad.length);
  both.set(good);
  both.set(bad, good.length);
  const units = reader.push(both);
  assert.equal(units.length, 1);
  assert.match(reader.error ?? "", /larger than the maximum/);
});

Deno.test("LineReader yields only whole lines, the same file however the stream is split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ maxLength: 40 }).map((s) => s.replaceAll("\n", "")), {
        maxLength: 30,
      }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 30 }),
      (lines, unfinished, cuts) => {
        const text = lines.join("\n") + (unfinished ? "" : "\n");
        const stream = encoder.encode(text);
        const reader = new LineReader();
        const out: Uint8Array[] = [];
        for (const piece of split(stream, cuts)) {
          const unit = reader.push(piece);
          if (unit !== null) {
            const bytes = join(unit);
            assert.equal(bytes.at(-1), 10, "a unit ends with a newline");
            out.push(bytes);
          }
        }
        const tail = reader.end();
        if (tail !== null) out.push(join(tail));
        assert.equal(out.map((b) => decoder.decode(b)).join(""), text);
      },
    ),
  );
});

Deno.test("PendingBytes.take() encodes whole records in batches, strings and bytes mixed", () => {
  const queue = new PendingBytes();
  queue.push("héllo ");
  queue.push(new Uint8Array([119, 10]));
  queue.push("x".repeat(100));
  queue.push("y".repeat(100));
  assert.equal(queue.records, 4);
  const first = queue.take(110, 4);
  assert.equal(first.records, 3, "stops before the record that would pass the target");
  assert.equal(decoder.decode(first.bytes.subarray(4)), "héllo w\n" + "x".repeat(100));
  const second = queue.take(10, 0);
  assert.equal(second.records, 1, "a larger first record is taken whole");
  assert.equal(decoder.decode(second.bytes), "y".repeat(100));
  assert.equal(queue.records, 0);
  assert.equal(queue.size, 0);
  assert.equal(queue.take(10, 0).records, 0);
  queue.push("a");
  queue.push("bb");
  assert.equal(queue.shift(), 1);
  assert.equal(decoder.decode(queue.take(100, 0).bytes), "bb");
});

Deno.test("PendingBytes gives back every record, in order and encoded, across blocks and batch sizes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 })), {
        maxLength: 10_000,
      }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50 }),
      fc.nat({ max: 20 }),
      (items, targets, drops) => {
        const queue = new PendingBytes();
        for (const item of items) queue.push(item);
        const kept = items.slice(Math.min(drops, items.length));
        for (let i = 0; i < drops; i++) queue.shift();
        const expected = kept.map((item) =>
          typeof item === "string" ? encoder.encode(item) : item
        );
        const want = new Uint8Array(expected.reduce((n, b) => n + b.length, 0));
        let at = 0;
        for (const bytes of expected) {
          want.set(bytes, at);
          at += bytes.length;
        }
        const got = new Uint8Array(want.length);
        let offset = 0;
        let records = 0;
        for (let t = 0; queue.records > 0; t++) {
          const batch = queue.take(targets[t % targets.length]!, 3);
          assert.ok(batch.records > 0);
          records += batch.records;
          got.set(batch.bytes.subarray(3), offset);
          offset += batch.bytes.length - 3;
        }
        assert.equal(records, kept.length);
        assert.equal(queue.size, 0);
        assert.equal(offset, want.length);
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 100 },
  );
});
