// A writer's queue of records, in two parts:
// - slots: what write() was given this turn, stored as it is (a string, a Uint8Array) in
//   a ring allocated once; write() costs a slot store, never an encode or a copy;
// - chunks: encode() (the writer calls it in a microtask once the turn's writes are
//   done, and take() before it takes) joins the strings and encodes them, and copies
//   the byte arrays, into reused chunks of bytes. So the program's strings die young,
//   in the turn that made them, instead of being kept and promoted while the queue
//   waits for the socket: measured, keeping them costs more CPU in garbage collection
//   than encoding them.
// take() hands out the head chunk whole, with HEADER_ROOM free bytes in front for a
// frame header; its buffer is reused once the next take() says the batch is done.

import { Ends } from "./ends.ts";
import { type Item, Slots } from "./slots.ts";

/** Bytes left free in front of every batch, for a transport's frame header. */
export const HEADER_ROOM = 4;

/** Strings are joined and encoded together up to this many UTF-16 units. */
const RUN_UNITS = 16 * 1024;
/** The first chunk's size; chunks grow while the queue backs up. */
const FIRST_CHUNK = 64 * 1024;
/** Emptied chunk buffers kept for reuse. */
const MAX_SPARE = 4;
/**
 * Past this many bytes encoded and queued, records stay as written until taken: a
 * queue that deep grows faster than it drains, and encoding it would cost fresh
 * memory for every byte (faulting in a fresh MiB costs far more than rewriting a used
 * one), where the reused chunks of a shallow queue cost none.
 */
export const ENCODE_LIMIT = 32 * 1024 * 1024;
/** The same for byte arrays: past this many bytes queued they are kept, not copied. */
export const COPY_LIMIT = 4 * 1024 * 1024;
const encoder = new TextEncoder();

/** A run of encoded records. */
interface Chunk {
  buf: Uint8Array;
  /** Where its room ends: a reused buffer may be larger than the chunk. */
  limit: number;
  /** Where the next record goes. */
  fill: number;
  /** Where each record ends. */
  ends: Ends;
  /** Index in `ends` of the first record not dropped. */
  first: number;
}

/** Records taken from the head of a {@linkcode RecordQueue}. */
export interface Taken {
  /** {@linkcode HEADER_ROOM} free bytes, then the records. Valid until the next take(). */
  bytes: Uint8Array;
  /** Records in it. */
  records: number;
  /**
   * Where each record ends, as offsets in the buffer behind `bytes` (the first record
   * starts at `start`): a transport may tell the far side where it can cut.
   */
  ends: Uint32Array;
  /** Where the first record starts, in the same buffer. */
  start: number;
}

/**
 * A FIFO of records. Sizes count a string by its UTF-16 length until it is encoded
 * (its size in bytes for ASCII), then in bytes.
 */
export class RecordQueue {
  readonly #slots = new Slots();
  #slotUnits = 0;
  #chunks: Chunk[] = [];
  #encodedRecords = 0;
  #encodedSize = 0;
  #spare: Uint8Array[] = [];
  /** The buffer of the last batch taken: reused from the next take() on. */
  #lent: Uint8Array | null = null;
  #chunkSize: number;
  readonly #batchBytes: number;
  /** Reused to join a run of strings, of #runUnits UTF-16 units. */
  #parts: string[] = [];
  #runUnits = 0;
  /** Where records past the encoding limit are encoded when taken. */
  #batch: Uint8Array = new Uint8Array(64 * 1024);
  /** The record ends of a batch encoded when taken. */
  #batchEnds = new Ends();

  /** @param batchBytes Bytes in one chunk, so in one batch, at most (a larger record gets its own). */
  constructor(batchBytes: number) {
    this.#batchBytes = batchBytes;
    this.#chunkSize = Math.min(FIRST_CHUNK, batchBytes);
  }

  /** Records queued. */
  get records(): number {
    return this.#slots.count + this.#encodedRecords;
  }

  /** Their size (see the class). */
  get size(): number {
    return this.#slotUnits + this.#encodedSize;
  }

  /** Adds a record at the tail, as it is. */
  push(data: Item): void {
    this.#slots.push(data);
    this.#slotUnits += data.length;
  }

  /**
   * Encodes the records held as written into chunks, while less than
   * {@linkcode ENCODE_LIMIT} bytes are encoded; past it they stay as written.
   */
  encode(): void {
    const slots = this.#slots;
    const runLimit = Math.min(RUN_UNITS, this.#batchBytes);
    let runStart = 0;
    let runUnits = 0;
    let units = 0;
    let i = 0;
    for (; i < slots.count; i++) {
      const item = slots.at(i);
      if (typeof item === "string") {
        if (i > runStart && runUnits + item.length > runLimit) {
          this.#encodeRun(runStart, i, runUnits);
          runStart = i;
          runUnits = 0;
          if (this.#encodedSize >= ENCODE_LIMIT) break;
        }
        runUnits += item.length;
        units += item.length;
        continue;
      }
      if (i > runStart) this.#encodeRun(runStart, i, runUnits);
      runStart = i;
      runUnits = 0;
      // A copy of an array the program made anyway is only more fresh memory.
      if (this.#encodedSize >= COPY_LIMIT) break;
      runStart = i + 1;
      let chunk = this.#chunks[this.#chunks.length - 1];
      const length = item.length;
      if (chunk === undefined || chunk.limit - chunk.fill < length) {
        chunk = this.#room(length);
      }
      const buf = chunk.buf;
      const fill = chunk.fill;
      // A short array is copied faster by hand than by set(), whose call costs more.
      if (length <= 64) { for (let k = 0; k < length; k++) buf[fill + k] = item[k]!; }
      else buf.set(item, fill);
      chunk.fill = fill + length;
      chunk.ends.push(chunk.fill);
      this.#encodedRecords++;
      this.#encodedSize += length;
      units += length;
    }
    if (i > runStart) this.#encodeRun(runStart, i, runUnits);
    this.#dropSlots(i, units);
  }

  /** Lets go of the first `count` slots, of `units` in all. */
  #dropSlots(count: number, units: number): void {
    this.#slots.drop(count);
    this.#slotUnits -= units;
  }

  /**
   * Takes the records at the head: a chunk of about `batchBytes`, or less, encoded,
   * after {@linkcode HEADER_ROOM} free bytes. The previous batch is done with.
   *
   * @returns The batch; empty when nothing is queued.
   */
  take(): Taken {
    if (this.#lent !== null) this.#recycle(this.#lent);
    this.#lent = null;
    if (this.#chunks.length === 0 && this.#slots.count > 0) {
      // Kept past a limit, or written since the last encode(): encoded here, straight
      // into the batch buffer, which is reused.
      return this.#takeSlots();
    }
    const chunk = this.#chunks.shift();
    if (chunk === undefined) {
      return { bytes: new Uint8Array(HEADER_ROOM), records: 0, ends: NO_ENDS, start: 0 };
    }
    const ends = chunk.ends;
    const start = chunk.first === 0 ? HEADER_ROOM : ends.list[chunk.first - 1]!;
    const records = ends.count - chunk.first;
    this.#encodedRecords -= records;
    this.#encodedSize -= chunk.fill - start;
    if (this.#chunks.length === 0) {
      this.#chunkSize = Math.min(FIRST_CHUNK, this.#batchBytes);
    }
    this.#lent = chunk.buf;
    // Dropped records leave their bytes in front: the header goes over them.
    return {
      bytes: chunk.buf.subarray(start - HEADER_ROOM, chunk.fill),
      records,
      ends: ends.list.subarray(chunk.first, ends.count),
      start,
    };
  }

  /**
   * Drops the record at the head.
   *
   * @returns Its size, 0 when the queue is empty.
   */
  shift(): number {
    const chunk = this.#chunks[0];
    if (chunk !== undefined) {
      const ends = chunk.ends.list;
      const start = chunk.first === 0 ? HEADER_ROOM : ends[chunk.first - 1]!;
      const size = ends[chunk.first++]! - start;
      this.#encodedRecords--;
      this.#encodedSize -= size;
      if (chunk.first === chunk.ends.count) {
        this.#chunks.shift();
        this.#recycle(chunk.buf);
      }
      return size;
    }
    if (this.#slots.count === 0) return 0;
    const item = this.#slots.at(0);
    this.#slots.drop(1);
    this.#slotUnits -= item.length;
    return item.length;
  }

  /** Encodes about `batchBytes` of records held as written into the batch buffer. */
  #takeSlots(): Taken {
    const slots = this.#slots;
    let buffer = this.#batch;
    let offset = HEADER_ROOM;
    let count = 0;
    let units = 0;
    let runStart = 0;
    let runUnits = 0;
    this.#batchEnds.count = 0;
    while (count < slots.count) {
      const item = slots.at(count);
      if (count > 0 && units + item.length > this.#batchBytes) break;
      if (typeof item === "string") {
        if (count > runStart && runUnits + item.length > RUN_UNITS) {
          buffer = this.#batchRoom(buffer, offset, runUnits * 3);
          offset = this.#encodeInto(buffer, offset, runStart, count);
          runStart = count;
          runUnits = 0;
        }
        runUnits += item.length;
      } else {
        if (count > runStart) {
          buffer = this.#batchRoom(buffer, offset, runUnits * 3);
          offset = this.#encodeInto(buffer, offset, runStart, count);
        }
        runUnits = 0;
        runStart = count + 1;
        buffer = this.#batchRoom(buffer, offset, item.length);
        buffer.set(item, offset);
        offset += item.length;
        this.#batchEnds.push(offset);
      }
      count++;
      units += item.length;
    }
    if (count > runStart) {
      buffer = this.#batchRoom(buffer, offset, runUnits * 3);
      offset = this.#encodeInto(buffer, offset, runStart, count);
    }
    this.#dropSlots(count, units);
    return {
      bytes: buffer.subarray(0, offset),
      records: count,
      ends: this.#batchEnds.list.subarray(0, this.#batchEnds.count),
      start: HEADER_ROOM,
    };
  }

  /**
   * Encodes strings [start, stop) joined, each as it would alone, at `offset`, and
   * notes where each ends.
   *
   * @returns Where the last ends.
   */
  #encodeInto(buffer: Uint8Array, offset: number, start: number, stop: number): number {
    const parts = this.#runParts(start, stop);
    const written = encoder.encodeInto(parts.join(""), buffer.subarray(offset)).written;
    let end = this.#batchEnds.pushStrings(parts, this.#runUnits, offset, written);
    if (end < 0) {
      end = offset;
      for (const one of parts) {
        this.#batchEnds.push(
          end += encoder.encodeInto(one, buffer.subarray(end)).written,
        );
      }
    }
    parts.length = 0;
    return end;
  }

  /** Slots [start, stop), strings, in the reused parts array; their length in #runUnits. */
  #runParts(start: number, stop: number): string[] {
    const parts = this.#parts;
    let units = 0;
    for (let i = start; i < stop; i++) {
      const text = this.#slots.at(i) as string;
      units += text.length;
      parts.push(text);
    }
    this.#runUnits = units;
    return parts;
  }

  /** `buffer`, or a larger copy of its first `offset` bytes with `more` free. */
  #batchRoom(buffer: Uint8Array, offset: number, more: number): Uint8Array {
    if (buffer.length - offset >= more) return buffer;
    const larger = new Uint8Array(Math.max(offset + more, buffer.length * 2));
    larger.set(buffer.subarray(0, offset));
    if (larger.length <= this.#batchBytes * 3 + HEADER_ROOM) this.#batch = larger;
    return larger;
  }

  /** Encodes the strings of slots [start, stop) (from the head), joined. */
  #encodeRun(start: number, stop: number, units: number): void {
    const parts = this.#runParts(start, stop);
    // join() builds one flat string; `+=` builds a rope that costs four times as much
    // to flatten when encoded.
    const text = parts.length === 1 ? parts[0]! : parts.join("");
    // Room for ASCII first; text that did not fit is encoded again with room for the
    // worst case (3 bytes per UTF-16 unit).
    let chunk = this.#room(units);
    let result = encoder.encodeInto(text, chunk.buf.subarray(chunk.fill));
    if (result.read < text.length) {
      chunk = this.#room(units * 3);
      result = encoder.encodeInto(text, chunk.buf.subarray(chunk.fill));
    }
    let end = chunk.ends.pushStrings(parts, units, chunk.fill, result.written);
    if (end < 0) {
      chunk = this.#room(units * 3);
      end = chunk.fill;
      for (const one of parts) {
        chunk.ends.push(end += encoder.encodeInto(one, chunk.buf.subarray(end)).written);
      }
    }
    parts.length = 0;
    this.#encodedRecords += stop - start;
    this.#encodedSize += end - chunk.fill;
    chunk.fill = end;
  }

  /** The tail chunk if it has room for `bytes` more, else a new one. */
  #room(bytes: number): Chunk {
    const tail = this.#chunks[this.#chunks.length - 1];
    if (tail !== undefined) {
      if (tail.limit - tail.fill >= bytes) return tail;
      if (tail.ends.count === 0) {
        // Too small for what did not fit after all: never leave it empty at the head.
        this.#chunks.pop();
        this.#recycle(tail.buf);
      } else {
        // The queue backs up: the next chunks are larger, and the batches with them.
        this.#chunkSize = Math.min(this.#chunkSize * 2, this.#batchBytes);
      }
    }
    const size = Math.max(this.#chunkSize + HEADER_ROOM, bytes + HEADER_ROOM);
    const index = this.#spare.findIndex((buf) => buf.length >= size);
    const buf = index >= 0 ? this.#spare.splice(index, 1)[0]! : new Uint8Array(size);
    const chunk: Chunk = {
      buf,
      limit: size,
      fill: HEADER_ROOM,
      ends: new Ends(),
      first: 0,
    };
    this.#chunks.push(chunk);
    return chunk;
  }

  #recycle(buf: Uint8Array): void {
    if (buf.length > this.#batchBytes + HEADER_ROOM) return; // one large record's
    if (this.#spare.length === MAX_SPARE) this.#spare.shift();
    this.#spare.push(buf);
  }
}

const NO_ENDS = new Uint32Array(0);
