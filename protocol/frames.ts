/**
 * Record framing. offlog/1 sends frames: a 4-byte big-endian payload length, then
 * the payload, a run of whole records that the server writes contiguously. A 0.x
 * stream has no frames, so the server cuts it after the last newline instead.
 *
 * @module
 */

import {
  ENDS_FRAME,
  FRAME_HEADER_BYTES,
  MAX_RECORD_BYTES,
  SYNC_FRAME,
} from "./constants.ts";
import { type BufferSource, Parts } from "./_parts.ts";
import type { ProtocolVersion } from "./opening.ts";
import { features } from "./versions.ts";

/** A frame with at least this much still to come is read straight into its buffer. */
const DIRECT_READ_BYTES = 64 * 1024;

/**
 * Writes a frame header into the first {@linkcode FRAME_HEADER_BYTES} bytes of
 * `frame`, whose payload follows it.
 *
 * @param frame The whole frame, header space included.
 *
 * @example
 * ```ts
 * import { writeFrameHeader } from "./frames.ts";
 * import assert from "node:assert/strict";
 * const frame = new Uint8Array([0, 0, 0, 0, 104, 105]);
 * writeFrameHeader(frame);
 * assert.deepEqual(frame.subarray(0, 4), new Uint8Array([0, 0, 0, 2]));
 * ```
 */
export function writeFrameHeader(frame: Uint8Array): void {
  const length = frame.length - FRAME_HEADER_BYTES;
  if (length < 0 || length > MAX_RECORD_BYTES) {
    throw new RangeError(
      `Cannot frame ${length} bytes: the maximum is ${MAX_RECORD_BYTES}`,
    );
  }
  new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).setUint32(0, length);
}

/**
 * Bytes that must be written contiguously: one frame's payload, or a run of whole
 * 0.x lines, possibly in several parts as the reads delivered them.
 *
 * @example
 * ```ts
 * import type { Unit } from "./frames.ts";
 * const unit: Unit = { parts: [new Uint8Array([104, 105, 10])], bytes: 3 };
 * ```
 */
export interface Unit {
  /** The bytes, in order. */
  parts: Uint8Array[];
  /** Their total length. */
  bytes: number;
  /**
   * Set on the empty unit that stands for a sync request ({@linkcode SYNC_FRAME}):
   * the client asks for `SYNCED` once its records so far are on disk.
   */
  sync?: true;
  /**
   * Set when the bytes are in a buffer of their own, from the reader's
   * {@linkcode BufferSource}: it now belongs to whoever takes the unit, who may keep
   * it or give it back to the source once done.
   */
  buffer?: Uint8Array;
  /**
   * offlog/2: the lengths of the frame's records but the last, as its record-ends
   * frame gave them (see `record_ends.ts`), in a buffer of their own.
   */
  ends?: Uint8Array;
}

/**
 * Cuts a client's byte stream into units to write, whatever the protocol version:
 * {@linkcode FrameReader} for offlog/1, {@linkcode LineReader} for 0.x. The server
 * reads every client with one loop over this interface.
 *
 * @example
 * ```ts
 * import { recordReader, type RecordReader } from "./frames.ts";
 * import assert from "node:assert/strict";
 * const reader: RecordReader = recordReader("0.x");
 * const units = reader.push(new TextEncoder().encode("a\nb"));
 * assert.equal(units.length, 1); // "a\n"
 * assert.equal(reader.heldBytes, 1); // "b", until a newline or the end
 * assert.equal(reader.end()?.bytes, 1);
 * ```
 */
export interface RecordReader {
  /**
   * Adds the bytes of one read.
   *
   * @param chunk The bytes; the caller may reuse them once done with the units.
   * @returns The units this chunk completed, in order (up to an `error`), valid until
   * the next `push()`: they may refer to `chunk` or to a buffer the reader reuses.
   */
  push(chunk: Uint8Array): Unit[];
  /**
   * Takes what may still be written when the stream ends: a 0.x stream's unfinished
   * last line; nothing for offlog/1, whose unfinished frame is dropped. After it,
   * {@linkcode RecordReader.heldBytes} counts the bytes dropped.
   *
   * @returns The unit to write, or `null`.
   */
  end(): Unit | null;
  /** Bytes of an unfinished record held (frames: header included). */
  readonly heldBytes: number;
  /**
   * Memory set aside for the unfinished record: what is held and the room taken for
   * the rest of it (a frame's buffer is sized from its header). The server counts this
   * against its budget, so that a header alone cannot make it allocate unaccounted.
   */
  readonly reservedBytes: number;
  /**
   * Where the next read may go directly: the rest of a large frame already begun, in
   * the buffer that collects it, so that its bytes are not copied again. `null`: read
   * into the connection's buffer.
   */
  readTarget(): Uint8Array | null;
  /** Why the stream cannot go on (a frame over the maximum), or `null`. */
  readonly error: string | null;
}

/**
 * The reader for a client speaking `version`.
 *
 * @param version The negotiated protocol version.
 * @param source Where the reader's buffers for records that span reads come from.
 * @returns A {@linkcode FrameReader} when the version has frames, else a
 * {@linkcode LineReader}.
 *
 * @example
 * ```ts
 * import { FrameReader, recordReader } from "./frames.ts";
 * import assert from "node:assert/strict";
 * assert.ok(recordReader("offlog/1") instanceof FrameReader);
 * ```
 */
export function recordReader(
  version: ProtocolVersion,
  source?: BufferSource,
): RecordReader {
  const { frames, recordEnds } = features(version);
  return frames ? new FrameReader(source, recordEnds) : new LineReader(source);
}

/**
 * Reassembles offlog/1 frames from the bytes of successive reads.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./frames.ts";
 * import assert from "node:assert/strict";
 * const reader = new FrameReader();
 * const units = reader.push(new Uint8Array([0, 0, 0, 2, 104, 105, 0, 0]));
 * assert.equal(units.length, 1); // "hi"
 * assert.equal(reader.heldBytes, 2); // half of the next header
 * ```
 */
export class FrameReader implements RecordReader {
  #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #need = -1;
  #parts: Parts;
  #error: string | null = null;
  readonly #acceptEnds: boolean;
  /** A record-ends frame being read, and its bytes so far. */
  #ends: Uint8Array | null = null;
  #endsFill = 0;
  /** The record ends of the next frame, read whole. */
  #nextEnds: Uint8Array | null = null;

  /**
   * A reader at the start of a stream.
   *
   * @param source Where the buffers for frames that span reads come from.
   * @param recordEnds Whether record-ends frames may come (offlog/2); else their header
   * is refused as a frame over the maximum, as offlog/1 always did.
   */
  constructor(source?: BufferSource, recordEnds = false) {
    this.#parts = new Parts(source);
    this.#acceptEnds = recordEnds;
  }

  /**
   * Set when a frame announced more than {@linkcode MAX_RECORD_BYTES}: the stream
   * cannot go on. Frames before it were returned.
   */
  get error(): string | null {
    return this.#error;
  }

  /**
   * Adds the bytes of one read.
   *
   * @param chunk The bytes; the caller may reuse them once done with the units.
   * @returns The frames this chunk completed, in order, up to a bad one (see `error`):
   * valid until the next `push()`, as they may refer to `chunk`.
   */
  push(chunk: Uint8Array): Unit[] {
    const units: Unit[] = [];
    let offset = 0;
    while (offset < chunk.length && this.#error === null) {
      if (this.#need < 0 && this.#ends === null) {
        const take = Math.min(
          FRAME_HEADER_BYTES - this.#headerFill,
          chunk.length - offset,
        );
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < FRAME_HEADER_BYTES) break;
        this.#headerFill = 0;
        const header = new DataView(this.#header.buffer).getUint32(0);
        this.#error = this.#headerError(header);
        if (this.#error !== null) break;
        if (header === SYNC_FRAME) {
          units.push({ parts: [], bytes: 0, sync: true });
          continue;
        }
        if (header > MAX_RECORD_BYTES) {
          this.#ends = new Uint8Array(header - ENDS_FRAME);
          this.#endsFill = 0;
          continue;
        }
        if (header > 0) this.#need = header;
        continue;
      }
      if (this.#ends !== null) {
        const take = Math.min(this.#ends.length - this.#endsFill, chunk.length - offset);
        this.#ends.set(chunk.subarray(offset, offset + take), this.#endsFill);
        this.#endsFill += take;
        offset += take;
        if (this.#endsFill === this.#ends.length) {
          this.#nextEnds = this.#ends;
          this.#ends = null;
        }
        continue;
      }
      const take = Math.min(this.#need, chunk.length - offset);
      if (take === this.#need && this.#parts.bytes === 0) {
        // The whole payload is in this read: no copy.
        units.push(
          this.#withEnds({ parts: [chunk.subarray(offset, offset + take)], bytes: take }),
        );
        this.#need = -1;
        offset += take;
        continue;
      }
      this.#parts.add(chunk.subarray(offset, offset + take), this.#need);
      this.#need -= take;
      offset += take;
      if (this.#need === 0) {
        units.push(this.#withEnds(this.#parts.take()));
        this.#need = -1;
      }
    }
    return units;
  }

  /** Why a frame header cannot be, or `null`. */
  #headerError(header: number): string | null {
    const ends = this.#nextEnds;
    if (this.#acceptEnds && header !== SYNC_FRAME && header >= ENDS_FRAME) {
      const length = header - ENDS_FRAME;
      if (ends !== null) return "two record-ends frames in a row";
      if (length === 0 || length > MAX_RECORD_BYTES) {
        return `record-ends frame of ${length} bytes: it must be 1 to ${MAX_RECORD_BYTES}`;
      }
      return null;
    }
    if (header === SYNC_FRAME) {
      return ends === null ? null : "a sync request between record ends and their frame";
    }
    if (header > MAX_RECORD_BYTES) {
      return `record of ${header} bytes is larger than the maximum of ${MAX_RECORD_BYTES} bytes`;
    }
    // Each length takes at most as many bytes as it counts, and the last has none.
    if (ends !== null && ends.length >= header) {
      return `record ends of ${ends.length} bytes cannot describe a frame of ${header} bytes`;
    }
    return null;
  }

  /** `unit`, given the record ends read before it. */
  #withEnds(unit: Unit): Unit {
    if (this.#nextEnds !== null) {
      unit.ends = this.#nextEnds;
      this.#nextEnds = null;
    }
    return unit;
  }

  /**
   * Ends the stream: an unfinished frame is not written, and stays counted in
   * {@linkcode FrameReader.heldBytes} as the bytes dropped.
   *
   * @returns Always `null`.
   */
  end(): null {
    return null;
  }

  /**
   * Bytes of the frame whose payload is still expected, or `-1` between frames.
   * The server counts them against its memory budget before they arrive.
   */
  get pendingPayloadBytes(): number {
    return this.#need;
  }

  /** Bytes of an incomplete frame held, headers (and its record ends) included. */
  get heldBytes(): number {
    return this.#parts.bytes + this.#endsHeld(this.#endsFill) +
      (this.#need >= 0 ? FRAME_HEADER_BYTES : this.#headerFill);
  }

  /** {@inheritDoc RecordReader.reservedBytes} */
  get reservedBytes(): number {
    return this.#parts.reserved + this.#endsHeld(this.#ends?.length ?? 0) +
      (this.#need >= 0 ? FRAME_HEADER_BYTES : this.#headerFill);
  }

  /** Bytes of record ends held: `reading` of the frame being read, or the last read. */
  #endsHeld(reading: number): number {
    if (this.#ends !== null) return FRAME_HEADER_BYTES + reading;
    if (this.#nextEnds !== null) return FRAME_HEADER_BYTES + this.#nextEnds.length;
    return 0;
  }

  /** {@inheritDoc RecordReader.readTarget} */
  readTarget(): Uint8Array | null {
    if (this.#need < DIRECT_READ_BYTES || this.#parts.bytes === 0) return null;
    const room = this.#parts.room(this.#need);
    return room.length >= DIRECT_READ_BYTES ? room : null;
  }
}

const NEWLINE = 10;

/**
 * Cuts a 0.x byte stream after its last newline, so that only whole lines are
 * written while other clients write to the same file. A line longer than
 * {@linkcode MAX_RECORD_BYTES} is let through unfinished rather than held forever.
 *
 * @example
 * ```ts
 * import { LineReader } from "./frames.ts";
 * import assert from "node:assert/strict";
 * const reader = new LineReader();
 * const [unit] = reader.push(new TextEncoder().encode("a\nb"));
 * assert.equal(unit?.bytes, 2); // "a\n"
 * assert.equal(reader.heldBytes, 1); // "b"
 * ```
 */
export class LineReader implements RecordReader {
  #parts: Parts;

  /**
   * A reader at the start of a stream.
   *
   * @param source Where the buffers for lines that span reads come from.
   */
  constructor(source?: BufferSource) {
    this.#parts = new Parts(source);
  }

  /** Always `null`: any byte stream is made of lines. */
  get error(): null {
    return null;
  }

  /**
   * Adds the bytes of one read.
   *
   * @param chunk The bytes; the caller may reuse them once done with the unit.
   * @returns The whole lines now complete, as one unit, or none: valid until the next
   * `push()`, as it may refer to `chunk`.
   */
  push(chunk: Uint8Array): Unit[] {
    const end = chunk.lastIndexOf(NEWLINE) + 1;
    if (end === 0) {
      this.#parts.add(chunk);
      return this.#parts.bytes > MAX_RECORD_BYTES ? this.#takeAll() : [];
    }
    const head = end === chunk.length ? chunk : chunk.subarray(0, end);
    let unit: Unit;
    if (this.#parts.bytes === 0) {
      unit = { parts: [head], bytes: end };
    } else {
      this.#parts.add(head);
      unit = this.#parts.take();
    }
    if (end < chunk.length) this.#parts.add(chunk.subarray(end));
    return [unit];
  }

  /**
   * Takes what is held when the stream ends.
   *
   * @returns The unfinished last line, or `null` when there is none.
   */
  end(): Unit | null {
    return this.#takeAll()[0] ?? null;
  }

  #takeAll(): Unit[] {
    if (this.#parts.bytes === 0) return [];
    return [this.#parts.take()];
  }

  /** Bytes held after the last newline. */
  get heldBytes(): number {
    return this.#parts.bytes;
  }

  /** {@inheritDoc RecordReader.reservedBytes} */
  get reservedBytes(): number {
    return this.#parts.reserved;
  }

  /** Always `null`: lines are read into the connection's buffer. */
  readTarget(): null {
    return null;
  }
}
