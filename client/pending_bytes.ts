/**
 * The queue behind every non-blocking writer: records are encoded soon after they are
 * written, into reused chunks of bytes, and leave as batches that are views of those
 * chunks, with room for a frame header in front.
 *
 * @module
 */

/**
 * One batch taken from a {@linkcode PendingBytes} queue.
 *
 * @example
 * ```ts
 * import { PendingBytes, type Batch } from "./pending_bytes.ts";
 * import assert from "node:assert/strict";
 * const queue = new PendingBytes();
 * queue.push("hi\n");
 * const batch: Batch = queue.take(65536, 0);
 * assert.equal(batch.records, 1);
 * ```
 */
export interface Batch {
  /** Reserved header bytes, then the encoded records. Valid until the next `take()`. */
  bytes: Uint8Array;
  /** How many records the batch holds. */
  records: number;
}

import { RefBlock } from "./_ref_block.ts";

const encoder = new TextEncoder();

/** Bytes kept free at the start of every chunk for a batch's header. */
export const MAX_HEADER_BYTES = 4;
/** Strings are encoded this many at a time: few enough to still be young garbage. */
const GROUP = 128;
/** A group is also encoded once it holds this many UTF-16 units. */
const GROUP_UNITS = 16 * 1024;
/** The first chunk's size; chunks grow while the queue backs up. */
const FIRST_CHUNK = 64 * 1024;
/** Emptied chunks kept for reuse. */
const MAX_SPARE = 2;
/**
 * Past this many bytes queued, strings are kept as written (by reference) instead of
 * encoded: a queue that deep grows faster than it drains, and encoding it would cost
 * fresh memory for every byte. Below it, encoding wins: the program's fresh strings
 * die young instead of being promoted and joined later.
 */
export const ENCODE_LIMIT = 32 * 1024 * 1024;
/**
 * Past this many bytes queued, byte arrays are kept by reference instead of copied
 * (a copy of an array the program made anyway is only more fresh memory); and once
 * records are being kept, they go on being kept until the queue is below half of it.
 */
export const COPY_LIMIT = 4 * 1024 * 1024;

/** A run of encoded records. */
interface Chunk {
  buf: Uint8Array;
  /** Where the next record goes. */
  fill: number;
  /** Where the first record not yet taken begins. */
  start: number;
  /** Each record's end offset. */
  ends: Uint32Array;
  /** Records in the chunk: `ends[0..count)`. */
  count: number;
  /** Index in `ends` of the first record not yet taken. */
  first: number;
}

/**
 * A FIFO of pending records. `push()` of a string keeps it with the last few, which
 * are then joined and encoded together (so an application's fresh strings die young
 * instead of being kept until the pump runs); a `Uint8Array` is copied in. Past
 * {@linkcode COPY_LIMIT} bytes queued a `Uint8Array` is kept by reference (do not
 * change it), and past {@linkcode ENCODE_LIMIT} a string is kept as written; kept
 * records are encoded when taken. `take()` returns whole records
 * from the head as one view.
 *
 * Sizes are UTF-8 bytes; strings not yet encoded (the group, at most 128, and those
 * kept past the limit) count by their UTF-16 length, their size in bytes for ASCII.
 *
 * @example
 * ```ts
 * import { PendingBytes } from "./pending_bytes.ts";
 * import assert from "node:assert/strict";
 * const queue = new PendingBytes();
 * queue.push("héllo ");
 * queue.push(new Uint8Array([119, 10]));
 * const { bytes } = queue.take(1 << 16, 0);
 * assert.equal(new TextDecoder().decode(bytes), "héllo w\n");
 * ```
 */
export class PendingBytes {
  /** Runs of encoded records (chunks) and, past the encoding limit, of kept ones. */
  #chunks: (Chunk | RefBlock)[] = [];
  /** Where a batch of kept records is encoded. */
  #scratch: Uint8Array = new Uint8Array(0);
  #spare: Uint8Array[] = [];
  /** Chunks used up while a batch may still refer to them: spare at the next take(). */
  #retired: Uint8Array[] = [];
  /** The chunk the last batch came from; its bytes are not reused before the next take(). */
  #lent: Chunk | null = null;
  #chunkSize = FIRST_CHUNK;
  #maxChunk: number;
  #group: string[] = [];
  #groupUnits = 0;
  #records = 0;
  #size = 0;

  /**
   * An empty queue.
   *
   * @param maxChunk Bytes of one chunk at most, which bounds a batch (a larger record
   * gets a chunk of its own).
   */
  constructor(maxChunk: number = 1024 * 1024) {
    this.#maxChunk = Math.max(FIRST_CHUNK, maxChunk);
  }

  /**
   * Adds a record at the tail.
   *
   * @param data The record; a string is encoded as UTF-8, a byte array copied.
   */
  push(data: string | Uint8Array): void {
    this.#records++;
    const size = this.#size;
    if (
      size >= COPY_LIMIT / 2 &&
      (size >= (typeof data === "string" ? ENCODE_LIMIT : COPY_LIMIT) ||
        this.#chunks[this.#chunks.length - 1] instanceof RefBlock)
    ) {
      return this.#keep(data);
    }
    if (typeof data === "string") {
      this.#group.push(data);
      this.#groupUnits += data.length;
      this.#size += data.length;
      // A record ending in half a surrogate pair is the last of its group, so that the
      // next record's first half is never joined to it: what reaches the file does not
      // depend on how records were grouped.
      const last = data.charCodeAt(data.length - 1);
      if (
        this.#group.length === GROUP || this.#groupUnits >= GROUP_UNITS ||
        (last >= 0xd800 && last <= 0xdbff)
      ) {
        this.#encodeGroup();
      }
      return;
    }
    if (this.#group.length > 0) this.#encodeGroup();
    const chunk = this.#room(data.length);
    chunk.buf.set(data, chunk.fill);
    chunk.fill += data.length;
    addEnd(chunk, chunk.fill);
    this.#size += data.length;
  }

  /** Records queued. */
  get records(): number {
    return this.#records;
  }

  /** Bytes queued (see the class: the last strings count by their length). */
  get size(): number {
    return this.#size;
  }

  /**
   * Removes whole records from the head, at least one and at most about `target`
   * bytes, as one view with `headerBytes` free bytes in front. The view and its
   * header room are the caller's until the next `take()`.
   *
   * @param target Bytes to take; a larger first record is taken whole.
   * @param headerBytes Bytes to leave free at the start; up to
   * {@linkcode MAX_HEADER_BYTES} without a copy.
   * @returns The batch, empty when nothing is queued.
   */
  take(target: number, headerBytes: number): Batch {
    this.#lend(null);
    if (this.#group.length > 0) this.#encodeGroup();
    const chunk = this.#chunks[0];
    if (chunk instanceof RefBlock) {
      const taken = chunk.take(target, headerBytes, this.#scratch);
      this.#scratch = taken.buffer;
      this.#records -= taken.records;
      this.#size -= taken.units;
      if (chunk.records === 0) this.#chunks.shift();
      return { bytes: taken.buffer.subarray(0, taken.end), records: taken.records };
    }
    if (chunk === undefined || chunk.first === chunk.count) {
      return { bytes: new Uint8Array(headerBytes), records: 0 };
    }
    const start = chunk.start;
    let last = chunk.count;
    if (chunk.fill - start > target) {
      last = chunk.first + 1;
      while (last < chunk.count && chunk.ends[last]! - start <= target) last++;
    }
    const end = chunk.ends[last - 1]!;
    const records = last - chunk.first;
    chunk.first = last;
    chunk.start = end;
    this.#records -= records;
    this.#size -= end - start;
    this.#lend(chunk);
    this.#dropIfDone(chunk);
    if (headerBytes <= start) {
      return { bytes: chunk.buf.subarray(start - headerBytes, end), records };
    }
    const bytes = new Uint8Array(headerBytes + end - start);
    bytes.set(chunk.buf.subarray(start, end), headerBytes);
    return { bytes, records };
  }

  /**
   * Drops the record at the head.
   *
   * @returns Its size in bytes, 0 when the queue is empty.
   */
  shift(): number {
    if (this.#records === 0) return 0;
    if (this.#group.length > 0) this.#encodeGroup();
    const chunk = this.#chunks[0]!;
    if (chunk instanceof RefBlock) {
      const size = chunk.shift();
      this.#records--;
      this.#size -= size;
      if (chunk.records === 0) this.#chunks.shift();
      return size;
    }
    const end = chunk.ends[chunk.first++]!;
    const size = end - chunk.start;
    chunk.start = end;
    this.#records--;
    this.#size -= size;
    this.#dropIfDone(chunk);
    return size;
  }

  /**
   * Empties the queue.
   *
   * @returns How many records and bytes were dropped.
   */
  clear(): { records: number; size: number } {
    const dropped = { records: this.#records, size: this.#size };
    for (const chunk of this.#chunks) {
      if (!(chunk instanceof RefBlock)) this.#retired.push(chunk.buf);
    }
    this.#chunks = [];
    this.#group = [];
    this.#groupUnits = 0;
    this.#records = 0;
    this.#size = 0;
    return dropped;
  }

  /** Keeps a record as it is, behind everything queued. */
  #keep(data: string | Uint8Array): void {
    if (this.#group.length > 0) this.#encodeGroup();
    let tail = this.#chunks[this.#chunks.length - 1];
    if (tail !== undefined && !(tail instanceof RefBlock) && tail.first === tail.count) {
      // An emptied chunk must not stay at the head in front of kept records.
      this.#chunks.pop();
      this.#retired.push(tail.buf);
      tail = this.#chunks[this.#chunks.length - 1];
    }
    if (!(tail instanceof RefBlock) || tail.full) {
      tail = new RefBlock();
      this.#chunks.push(tail);
    }
    tail.items.push(data);
    this.#size += data.length;
  }

  /** Encodes the strings of the group, joined, and records where each ends. */
  #encodeGroup(): void {
    const group = this.#group;
    const units = this.#groupUnits;
    this.#group = [];
    this.#groupUnits = 0;
    const text = group.length === 1 ? group[0]! : group.join("");
    // Room for ASCII first; text that did not fit is encoded again with room for the
    // worst case (3 bytes per UTF-16 unit).
    let chunk = this.#room(units);
    let result = encoder.encodeInto(text, chunk.buf.subarray(chunk.fill));
    if (result.read < text.length) {
      chunk = this.#room(units * 3);
      result = encoder.encodeInto(text, chunk.buf.subarray(chunk.fill));
    }
    const written = result.written;
    let end = chunk.fill;
    if (written === units) {
      // Only ASCII: each string is as many bytes as it is long.
      for (const record of group) addEnd(chunk, end += record.length);
    } else {
      for (const record of group) addEnd(chunk, end += utf8Length(record));
    }
    chunk.fill += written;
    this.#size += written - units;
  }

  /** The tail chunk, with room for `bytes` more. */
  #room(bytes: number): Chunk {
    const last = this.#chunks[this.#chunks.length - 1];
    const tail = last instanceof RefBlock ? undefined : last;
    if (tail !== undefined) {
      if (tail.buf.length - tail.fill >= bytes) return tail;
      const empty = tail.first === tail.count;
      if (empty && tail !== this.#lent && tail.buf.length - MAX_HEADER_BYTES >= bytes) {
        // Everything in it was taken and no batch refers to it: start it over.
        reset(tail);
        return tail;
      }
      if (!empty && tail.start - MAX_HEADER_BYTES < tail.buf.length / 2) {
        // More than half of the full chunk is still queued: the pump is behind, so the
        // next chunks are larger and the batches with them.
        this.#chunkSize = Math.min(this.#chunkSize * 2, this.#maxChunk);
      }
      if (empty) {
        this.#chunks.pop();
        this.#retired.push(tail.buf);
      }
    }
    const size = Math.max(this.#chunkSize, bytes + MAX_HEADER_BYTES);
    let buf = size === this.#chunkSize ? this.#spare.pop() : undefined;
    if (buf === undefined || buf.length !== size) buf = new Uint8Array(size);
    const chunk: Chunk = {
      buf,
      fill: MAX_HEADER_BYTES,
      start: MAX_HEADER_BYTES,
      ends: new Uint32Array(1024),
      count: 0,
      first: 0,
    };
    this.#chunks.push(chunk);
    return chunk;
  }

  /** Retires a head chunk whose records are all taken, unless it is the tail. */
  #dropIfDone(chunk: Chunk): void {
    if (chunk.first < chunk.count || this.#chunks.length === 1) return;
    this.#chunks.shift();
    this.#retired.push(chunk.buf);
  }

  /** The last batch is done with (`null`), or a new one refers to `chunk`. */
  #lend(chunk: Chunk | null): void {
    this.#lent = chunk;
    if (chunk !== null) return;
    for (const buf of this.#retired) {
      if (buf.length === this.#chunkSize && this.#spare.length < MAX_SPARE) {
        this.#spare.push(buf);
      }
    }
    this.#retired = [];
    const only = this.#chunks.length === 1 ? this.#chunks[0]! : null;
    if (only !== null && !(only instanceof RefBlock) && only.first === only.count) {
      reset(only);
    }
  }
}

/** Notes where the next record of `chunk` ends. */
function addEnd(chunk: Chunk, end: number): void {
  if (chunk.count === chunk.ends.length) {
    const ends = new Uint32Array(chunk.ends.length * 2);
    ends.set(chunk.ends);
    chunk.ends = ends;
  }
  chunk.ends[chunk.count++] = end;
}

function reset(chunk: Chunk): void {
  chunk.fill = MAX_HEADER_BYTES;
  chunk.start = MAX_HEADER_BYTES;
  chunk.count = 0;
  chunk.first = 0;
}

/**
 * The UTF-8 length of a string as `TextEncoder` encodes it: a lone surrogate becomes
 * U+FFFD (3 bytes).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
