// Frames and 0.x lines (protocol/frames.ts): FrameReader, LineReader, recordReader() and
// writeFrameHeader(), with property tests over every way a stream can be cut into reads.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FrameReader,
  LineReader,
  MAX_RECORD_BYTES,
  recordReader,
  writeFrameHeader,
} from "../protocol/mod.ts";
import { frame, join } from "./fixtures/reliability_lib.ts";
import { cut, lineText, records, toFrames } from "./_streams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("reliability: FrameReader returns the same whole frames however the stream is cut or cut short", () => {
  fc.assert(
    fc.property(
      records,
      fc.array(fc.nat({ max: 3 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.nat(),
      (recs, sizes, points, end) => {
        const { payloads, bytes } = toFrames(recs, sizes);
        const reader = new FrameReader();
        const got: string[] = [];
        const decoder = new TextDecoder();
        for (const piece of cut(bytes, points)) {
          for (const unit of reader.push(piece)) {
            got.push(decoder.decode(join(unit.parts)));
          }
        }
        assert.equal(reader.error, null);
        assert.equal(reader.heldBytes, 0);
        // Empty frames are skipped; every other frame comes back whole, in order.
        assert.deepEqual(got, payloads.filter((p) => p !== ""));
        // The stream ends part-way: exactly the whole frames before the end come back.
        const stop = end % (bytes.length + 1);
        let boundary = 0; // the end of the last whole frame before `stop`
        const complete: string[] = [];
        for (const p of payloads) {
          const size = 4 + encoder.encode(p).length;
          if (boundary + size > stop) break;
          boundary += size;
          if (p !== "") complete.push(p);
        }
        const partial = new FrameReader();
        const before: string[] = [];
        for (const piece of cut(bytes.subarray(0, stop), points)) {
          for (const unit of partial.push(piece)) {
            before.push(decoder.decode(join(unit.parts)));
          }
        }
        assert.deepEqual(before, complete);
        // What was cut short is not handed out, and is counted as dropped.
        assert.equal(partial.end(), null);
        assert.equal(partial.heldBytes, stop - boundary);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("reliability: FrameReader.heldBytes counts the unfinished frame's header, as documented", () => {
  // What the server logs as "disconnected with an unfinished record (N bytes
  // dropped)" for a client killed mid-frame, and whether it logs it at all.
  const bytes = frame("four is never finished\n");
  for (const stop of [2, 4, 10]) {
    const reader = new FrameReader();
    assert.deepEqual(reader.push(bytes.subarray(0, stop)), []);
    assert.equal(reader.heldBytes, stop, `after ${stop} bytes of a frame`);
  }
});

Deno.test("reliability: LineReader lets through only whole lines and, at the end, the same bytes however the stream is cut", () => {
  fc.assert(
    fc.property(
      fc.array(lineText, { maxLength: 50 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 30 }),
      (lines, unfinished, points) => {
        const text = lines.join("\n") + (unfinished ? "" : "\n");
        const bytes = encoder.encode(text);
        const reader = new LineReader();
        const out: Uint8Array[] = [];
        for (const piece of cut(bytes, points)) {
          const units = reader.push(piece);
          assert.ok(units.length <= 1, "one unit per read at most");
          for (const unit of units) {
            const joined = join(unit.parts);
            assert.equal(joined.length, unit.bytes);
            assert.equal(joined.at(-1), 10, "a unit ends at a newline");
            out.push(joined);
          }
        }
        const last = reader.end();
        if (last !== null) out.push(join(last.parts));
        assert.deepEqual(join(out), bytes);
      },
    ),
    { numRuns: 300 },
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

Deno.test("writeFrameHeader() writes the payload length big-endian at the frame's own offset", () => {
  for (const length of [0, 1, 258, 65_536 + 3]) {
    const buffer = new Uint8Array(10 + 4 + length + 7).fill(0xee);
    const frame = buffer.subarray(10, 10 + 4 + length);
    writeFrameHeader(frame);
    const expected = [
      length >>> 24,
      (length >>> 16) & 255,
      (length >>> 8) & 255,
      length & 255,
    ];
    assert.deepEqual([...buffer.subarray(10, 14)], expected, `length ${length}`);
    assert.ok(
      buffer.subarray(0, 10).every((b) => b === 0xee),
      "nothing before the frame",
    );
    assert.ok(buffer.subarray(14).every((b) => b === 0xee), "the payload is untouched");
  }
  const max = new Uint8Array(4 + MAX_RECORD_BYTES);
  writeFrameHeader(max);
  assert.deepEqual([...max.subarray(0, 4)], [1, 0, 0, 0]);
  assert.throws(
    () => writeFrameHeader(new Uint8Array(4 + MAX_RECORD_BYTES + 1)),
    RangeError,
  );
  assert.throws(() => writeFrameHeader(new Uint8Array(3)), RangeError);
});

Deno.test("FrameReader ignores empty frames, counts held bytes, and stops for good after an oversized frame", () => {
  const reader = new FrameReader();
  const stream = [
    ...frame(new Uint8Array(0)),
    ...frame(encoder.encode("ab")),
    ...frame(new Uint8Array(0)),
    ...frame(encoder.encode("cde")),
  ];
  assert.deepEqual(reader.push(new Uint8Array(stream.slice(0, 6))), []);
  assert.equal(reader.heldBytes, 2, "two header bytes of the next frame");
  const units = reader.push(new Uint8Array(stream.slice(6, 13)));
  assert.deepEqual(units.map((u) => decoder.decode(join(u.parts))), ["ab"]);
  assert.equal(reader.heldBytes, 3, "3 header bytes of the next frame");
  assert.deepEqual(
    reader.push(new Uint8Array(stream.slice(13))).map((u) =>
      decoder.decode(join(u.parts))
    ),
    ["cde"],
  );
  assert.equal(reader.heldBytes, 0);
  assert.equal(reader.error, null);

  const bad = new FrameReader();
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, MAX_RECORD_BYTES + 1);
  assert.deepEqual(bad.push(header.subarray(0, 2)), []);
  assert.equal(bad.error, null, "not known before the whole header");
  assert.deepEqual(bad.push(header.subarray(2)), []);
  assert.equal(
    bad.error,
    `record of ${
      MAX_RECORD_BYTES + 1
    } bytes is larger than the maximum of ${MAX_RECORD_BYTES} bytes`,
  );
  assert.deepEqual(bad.push(frame(encoder.encode("later\n"))), [], "nothing after it");

  const exact = new FrameReader();
  const maxHeader = new Uint8Array(4);
  new DataView(maxHeader.buffer).setUint32(0, MAX_RECORD_BYTES);
  assert.deepEqual(exact.push(maxHeader), []);
  assert.equal(exact.error, null, "a frame of exactly MAX_RECORD_BYTES is fine");
});

Deno.test("recordReader() reads frames for offlog/1 and lines for 0.x; after end(), heldBytes is what was dropped", () => {
  const frames = recordReader("offlog/1");
  assert.ok(frames instanceof FrameReader);
  assert.equal(frames.push(frame(encoder.encode("whole"))).length, 1);
  assert.deepEqual(frames.push(frame(encoder.encode("cut")).subarray(0, 5)), []);
  assert.equal(frames.end(), null, "an unfinished frame is not written");
  assert.equal(frames.heldBytes, 5, "its header and first byte are dropped");

  const lines = recordReader("0.x");
  assert.ok(lines instanceof LineReader);
  assert.equal(lines.error, null);
  assert.deepEqual(
    lines.push(encoder.encode("a\nb")).map((u) => decoder.decode(join(u.parts))),
    [
      "a\n",
    ],
  );
  const last = lines.end();
  assert.equal(last === null ? null : decoder.decode(join(last.parts)), "b");
  assert.equal(lines.heldBytes, 0, "the unfinished line is handed out, not dropped");
});

Deno.test("LineReader lets a line longer than MAX_RECORD_BYTES through rather than hold it forever", () => {
  const reader = new LineReader();
  const piece = new Uint8Array(MAX_RECORD_BYTES / 2).fill(0x78);
  assert.deepEqual(reader.push(piece), []);
  assert.deepEqual(reader.push(piece), [], "exactly the maximum is still held");
  assert.equal(reader.heldBytes, MAX_RECORD_BYTES);
  const units = reader.push(new Uint8Array([0x78]));
  assert.equal(units.length, 1);
  assert.equal(units[0]!.bytes, MAX_RECORD_BYTES + 1);
  assert.equal(reader.heldBytes, 0);
  assert.equal(reader.end(), null);
});

/**
 * Feeds `pieces` to `reader` as the server does: each through one reused read buffer,
 * which is overwritten with garbage once the units of a read are used.
 */
function throughOneBuffer(
  reader: { push(chunk: Uint8Array): { parts: Uint8Array[]; bytes: number }[] },
  pieces: Uint8Array[],
): Uint8Array[] {
  const buffer = new Uint8Array(Math.max(1, ...pieces.map((p) => p.length)));
  const out: Uint8Array[] = [];
  for (const piece of pieces) {
    buffer.set(piece);
    for (const unit of reader.push(buffer.subarray(0, piece.length))) {
      out.push(join(unit.parts).slice());
    }
    buffer.fill(0x58); // "X": the next read reuses the buffer
  }
  return out;
}

Deno.test("FrameReader and LineReader keep no view of a read: the server reuses its read buffer, and records that span reads stay right", () => {
  fc.assert(
    fc.property(
      records,
      fc.array(fc.nat({ max: 3 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (recs, sizes, points) => {
        const { payloads, bytes } = toFrames(recs, sizes);
        const frames = throughOneBuffer(new FrameReader(), cut(bytes, points));
        assert.deepEqual(
          frames.map((f) => decoder.decode(f)),
          payloads.filter((p) => p !== ""),
        );
        const text = encoder.encode(recs.join(""));
        const lines = new LineReader();
        const got = throughOneBuffer(lines, cut(text, points));
        assert.equal(lines.end(), null);
        assert.equal(decoder.decode(join(got)), recs.join(""));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FrameReader gives a frame that spanned reads in a buffer of its own from its source; a frame within one read needs none", () => {
  const given: Uint8Array[] = [];
  const reader = new FrameReader({
    get(size) {
      const buffer = new Uint8Array(size);
      given.push(buffer);
      return buffer;
    },
    put() {},
  });
  const bytes = frame("x".repeat(1000));
  assert.equal(reader.push(bytes.subarray(0, 500)).length, 0);
  const [unit] = reader.push(bytes.subarray(500));
  assert.equal(unit?.bytes, 1000);
  assert.equal(given.length, 1, "one buffer, sized for the whole frame");
  assert.equal(unit?.buffer, given[0], "the unit carries it: the taker gives it back");
  assert.equal(decoder.decode(unit!.parts[0]), "x".repeat(1000));
  const [whole] = reader.push(frame("whole in one read"));
  assert.equal(whole?.buffer, undefined);
  assert.equal(given.length, 1, "a frame within one read needs no buffer");
});

Deno.test("FrameReader: the rest of a large frame is read straight into its buffer, and counted as reserved from its header on", () => {
  const reader = new FrameReader();
  const payload = new Uint8Array(300_000).map((_, i) => i % 251);
  const bytes = new Uint8Array(4 + payload.length);
  bytes.set(frame("").subarray(0, 4));
  new DataView(bytes.buffer).setUint32(0, payload.length);
  bytes.set(payload, 4);
  assert.equal(reader.readTarget(), null, "nothing begun");
  assert.deepEqual(reader.push(bytes.subarray(0, 1000)), []);
  assert.equal(reader.heldBytes, 1000);
  assert.equal(reader.reservedBytes, 4 + payload.length, "the whole frame is set aside");
  let offset = 1000;
  let unit;
  while (offset < bytes.length) {
    const target = reader.readTarget();
    const left = bytes.length - offset;
    const n = Math.min(70_000, left);
    let chunk: Uint8Array = bytes.subarray(offset, offset + n);
    if (left >= 64 * 1024) {
      assert.ok(target !== null && target.length === left, "the rest of the frame");
      target.set(chunk); // as a socket read into it would
      chunk = target.subarray(0, n);
    } else assert.equal(target, null, "under 64 KiB left: the connection's buffer");
    const units = reader.push(chunk);
    offset += n;
    if (units.length > 0) unit = units[0];
    else assert.equal(reader.heldBytes, offset);
  }
  assert.deepEqual(join(unit!.parts), payload);
  assert.equal(reader.readTarget(), null);
  assert.equal(reader.reservedBytes, 0);
  // Not for a small frame: its rest goes through the connection's buffer.
  const small = frame("x".repeat(1000));
  reader.push(small.subarray(0, 10));
  assert.equal(reader.readTarget(), null);
});
