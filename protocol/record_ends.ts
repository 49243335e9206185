/**
 * Record ends (offlog/2). A frame carries many records; a record-ends frame sent just
 * before it ({@linkcode ENDS_FRAME} plus its length, then the payload) lists the
 * lengths of its records but the last, so that the server can cut the frame between two
 * of them. Each length is an unsigned LEB128 number: 7 bits a byte, low bits first, the
 * high bit set on every byte of a number but its last. The last record is what is left.
 *
 * @module
 */

import { ENDS_FRAME, FRAME_HEADER_BYTES } from "./constants.ts";

/** LEB128 bytes of a length up to 2^28 - 1: more than a record may have. */
const MAX_VARINT_BYTES = 4;

/**
 * Encodes the record-ends frame for `count` records that start at `start` and end at
 * `ends[0]`, `ends[1]`, … (offsets in one buffer, ascending).
 *
 * @param ends Each record's end offset.
 * @param start Where the first record starts.
 * @param count How many records.
 * @returns The whole frame, header included; `null` for fewer than two records, which
 * need none.
 *
 * @example
 * ```ts
 * import { encodeRecordEnds } from "./record_ends.ts";
 * import assert from "node:assert/strict";
 * // Three records of 3, 200 and 5 bytes, from offset 4.
 * const frame = encodeRecordEnds([7, 207, 212], 4, 3)!;
 * assert.deepEqual([...frame], [0x80, 0, 0, 3, 3, 0xc8, 0x01]);
 * assert.equal(encodeRecordEnds([7], 4, 1), null);
 * ```
 */
export function encodeRecordEnds(
  ends: ArrayLike<number>,
  start: number,
  count: number,
): Uint8Array | null {
  if (count < 2) return null;
  const out = new Uint8Array(FRAME_HEADER_BYTES + (count - 1) * MAX_VARINT_BYTES);
  let at = FRAME_HEADER_BYTES;
  let previous = start;
  for (let i = 0; i < count - 1; i++) {
    const end = ends[i]!;
    let length = end - previous;
    previous = end;
    while (length >= 0x80) {
      out[at++] = (length & 0x7f) | 0x80;
      length >>>= 7;
    }
    out[at++] = length;
  }
  new DataView(out.buffer).setUint32(0, ENDS_FRAME + (at - FRAME_HEADER_BYTES));
  return out.subarray(0, at);
}

/**
 * Where a frame may be cut after a record, as {@linkcode cutAfterRecord} finds it.
 *
 * @example
 * ```ts
 * import type { RecordCut } from "./record_ends.ts";
 * const cut: RecordCut = { bytes: 3, headEnds: 0, tailEnds: 1 };
 * ```
 */
export interface RecordCut {
  /** Bytes of the frame before the cut: whole records. */
  bytes: number;
  /** The ends of the records before the cut are `ends.subarray(0, headEnds)`. */
  headEnds: number;
  /** The ends of the records after it are `ends.subarray(tailEnds)`. */
  tailEnds: number;
}

/**
 * Finds the first record of a frame that ends at or after byte `atLeast`, and the cut
 * after it.
 *
 * @param ends The frame's record ends (the payload of its record-ends frame).
 * @param frameBytes The frame's payload bytes.
 * @param atLeast Bytes that must stay before the cut (at least 1).
 * @returns The cut; `null` when that record is the frame's last, or when `ends` does
 * not describe the frame (then the frame is one record to the server).
 *
 * @example
 * ```ts
 * import { cutAfterRecord, encodeRecordEnds } from "./record_ends.ts";
 * import assert from "node:assert/strict";
 * const ends = encodeRecordEnds([3, 203, 208], 0, 3)!.subarray(4);
 * assert.deepEqual(cutAfterRecord(ends, 208, 1), { bytes: 3, headEnds: 0, tailEnds: 1 });
 * assert.deepEqual(cutAfterRecord(ends, 208, 4), { bytes: 203, headEnds: 1, tailEnds: 3 });
 * assert.equal(cutAfterRecord(ends, 208, 204), null); // the last record
 * ```
 */
export function cutAfterRecord(
  ends: Uint8Array,
  frameBytes: number,
  atLeast: number,
): RecordCut | null {
  let total = 0;
  let at = 0;
  while (at < ends.length) {
    const begin = at;
    let length = 0;
    let shift = 0;
    for (;;) {
      if (at === ends.length || at - begin === MAX_VARINT_BYTES) return null;
      const byte = ends[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    total += length;
    if (length === 0 || total >= frameBytes) return null;
    if (total >= Math.max(1, atLeast)) {
      return { bytes: total, headEnds: begin, tailEnds: at };
    }
  }
  return null;
}
