// Record ends (protocol/record_ends.ts), and how FrameReader takes record-ends frames:
// only under offlog/2, only right before their frame, never larger than it.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  cutAfterRecord,
  encodeRecordEnds,
  ENDS_FRAME,
  FrameReader,
  MAX_RECORD_BYTES,
  recordReader,
  SYNC_FRAME,
  type Unit,
} from "../protocol/mod.ts";

function header(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function frameOf(payload: Uint8Array): Uint8Array {
  return join([header(payload.length), payload]);
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Record lengths to end offsets from `start`. */
function endsOf(lengths: number[], start: number): number[] {
  let end = start;
  return lengths.map((length) => end += length);
}

Deno.test("encodeRecordEnds() and cutAfterRecord(): every cut falls at the end of the first record that reaches the byte asked for", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 9 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (lengths, start, where) => {
        const total = lengths.reduce((a, b) => a + b, 0);
        const frame = encodeRecordEnds(endsOf(lengths, start), start, lengths.length);
        if (lengths.length === 1) return assert.equal(frame, null);
        assert.ok(frame !== null);
        assert.equal(
          new DataView(frame.buffer).getUint32(0),
          ENDS_FRAME + frame.length - 4,
        );
        const ends = frame.subarray(4);
        assert.ok(ends.length < total, "the ends are smaller than their frame");
        const atLeast = 1 + Math.floor(where * (total - 1));
        const cut = cutAfterRecord(ends, total, atLeast);
        const offsets = endsOf(lengths, 0);
        const k = offsets.findIndex((end) => end >= atLeast);
        if (k === lengths.length - 1) return assert.equal(cut, null);
        assert.ok(cut !== null);
        assert.equal(cut.bytes, offsets[k]);
        // The two parts' record ends describe the two parts.
        const head = ends.subarray(0, cut.headEnds);
        const tail = ends.subarray(cut.tailEnds);
        assert.equal(
          cutAfterRecord(head, cut.bytes, 1)?.bytes,
          k > 0 ? offsets[0] : undefined,
        );
        if (k + 2 < lengths.length) {
          assert.equal(cutAfterRecord(tail, total - cut.bytes, 1)?.bytes, lengths[k + 1]);
        } else assert.equal(tail.length, 0);
      },
    ),
  );
});

Deno.test("cutAfterRecord() takes record ends that do not describe the frame as one record", () => {
  const ends = encodeRecordEnds([3, 6, 9], 0, 3)!.subarray(4);
  assert.equal(cutAfterRecord(ends, 6, 4), null, "records past the frame's end");
  assert.equal(cutAfterRecord(new Uint8Array([0, 3]), 9, 1), null, "an empty record");
  assert.equal(cutAfterRecord(new Uint8Array([0x80, 0x80]), 9, 1), null, "cut short");
  assert.equal(
    cutAfterRecord(new Uint8Array([0x80, 0x80, 0x80, 0x80, 1]), 1 << 30, 1),
    null,
    "a length of five bytes",
  );
});

Deno.test("FrameReader (offlog/2) gives a frame the record ends sent before it, however the stream is cut", () => {
  const payload = new TextEncoder().encode("ab\ncde\nf\n");
  const ends = encodeRecordEnds([3, 7, 10], 0, 3)!;
  const other = new TextEncoder().encode("alone\n");
  const stream = join([ends, frameOf(payload), frameOf(other)]);
  for (let at = 0; at <= stream.length; at++) {
    const reader = recordReader("offlog/2");
    const units: Unit[] = [
      ...reader.push(stream.slice(0, at)),
      ...reader.push(stream.slice(at)),
    ];
    assert.equal(reader.error, null);
    assert.equal(units.length, 2, `cut at ${at}`);
    assert.deepEqual([...units[0]!.ends!], [...ends.subarray(4)], `cut at ${at}`);
    assert.equal(units[0]!.bytes, payload.length);
    assert.equal(units[1]!.ends, undefined, "a frame without record ends has none");
    assert.equal(reader.heldBytes, 0);
  }
});

Deno.test("FrameReader counts record ends waiting for their frame as held and reserved", () => {
  const reader = new FrameReader(undefined, true);
  reader.push(header(ENDS_FRAME + 1000));
  assert.equal(reader.reservedBytes, 4 + 1000, "room for the ends from their header on");
  assert.equal(reader.heldBytes, 4);
  reader.push(new Uint8Array(1000).fill(1));
  assert.equal(reader.heldBytes, 4 + 1000);
  reader.push(header(2000));
  assert.equal(reader.heldBytes, 4 + 1000 + 4, "and the frame's header");
  assert.equal(reader.end(), null);
});

Deno.test("FrameReader refuses record-ends frames that break the rules, and offlog/1 refuses them all", () => {
  const cases: [Uint8Array, RegExp][] = [
    [
      join([header(ENDS_FRAME + 1), new Uint8Array([2]), header(ENDS_FRAME + 1)]),
      /in a row/,
    ],
    [
      join([header(ENDS_FRAME + 1), new Uint8Array([2]), header(SYNC_FRAME)]),
      /sync request/,
    ],
    [
      join([header(ENDS_FRAME + 2), new Uint8Array([1, 1]), header(2)]),
      /cannot describe/,
    ],
    [join([header(ENDS_FRAME + 1), new Uint8Array([1]), header(0)]), /cannot describe/],
    [header(ENDS_FRAME), /must be 1 to/],
    [header(ENDS_FRAME + MAX_RECORD_BYTES + 1), /must be 1 to/],
  ];
  for (const [stream, expected] of cases) {
    const reader = new FrameReader(undefined, true);
    reader.push(stream);
    assert.match(reader.error ?? "", expected);
  }
  const v1 = recordReader("offlog/1");
  v1.push(join([header(ENDS_FRAME + 1), new Uint8Array([2])]));
  assert.match(v1.error ?? "", /record of 2147483649 bytes is larger than the maximum/);
});
