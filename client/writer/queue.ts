// A writer's queue of records: write() stores the string or byte array as it is, in a
// slot of a ring that is allocated once and grows only when full, and returns. The pump
// takes records from the head a batch at a time and encodes them into one reused
// buffer, off the caller's path: write() costs a slot store, never an encode or a copy.
// So a Uint8Array must not be changed after write().

/** Bytes left free in front of every batch, for a transport's frame header. */
export const HEADER_ROOM = 4;

/** A run of strings is joined and encoded at once up to this many UTF-16 units. */
const RUN_UNITS = 64 * 1024;
const FIRST_SLOTS = 1024;
const encoder = new TextEncoder();

type Item = string | Uint8Array;

/** Records taken from the head of a {@linkcode RecordQueue}. */
export interface Taken {
  /** {@linkcode HEADER_ROOM} free bytes, then the records encoded. Valid until the next take(). */
  bytes: Uint8Array;
  /** Records in it. */
  records: number;
  /** Their size as the queue counted it (UTF-16 units for strings). */
  units: number;
}

/**
 * A FIFO of records kept as written. Sizes count a string by its UTF-16 length (its
 * size in bytes for ASCII) and bytes by their length.
 */
export class RecordQueue {
  #slots: (Item | undefined)[] = new Array(FIRST_SLOTS);
  #mask = FIRST_SLOTS - 1;
  #head = 0;
  #records = 0;
  #size = 0;
  #buffer: Uint8Array;
  #batchBytes: number;

  /** @param batchBytes The payload of one batch at most, unless one record is larger. */
  constructor(batchBytes: number) {
    this.#batchBytes = batchBytes;
    this.#buffer = new Uint8Array(Math.min(batchBytes, 64 * 1024) + HEADER_ROOM);
  }

  /** Records queued. */
  get records(): number {
    return this.#records;
  }

  /** Their size (see the class). */
  get size(): number {
    return this.#size;
  }

  /** Adds a record at the tail. */
  push(data: Item): void {
    if (this.#records === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#records) & this.#mask] = data;
    this.#records++;
    this.#size += data.length;
  }

  /**
   * Drops the record at the head.
   *
   * @returns Its size, 0 when the queue is empty.
   */
  shift(): number {
    if (this.#records === 0) return 0;
    const item = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#records--;
    this.#size -= item.length;
    return item.length;
  }

  /**
   * Takes whole records from the head, at least one and about `batchBytes`, encoded
   * into the reused buffer after {@linkcode HEADER_ROOM} free bytes.
   *
   * @returns The batch; empty when nothing is queued.
   */
  take(): Taken {
    const slots = this.#slots;
    const mask = this.#mask;
    const target = this.#batchBytes;
    let buffer = this.#buffer;
    let offset = HEADER_ROOM;
    let count = 0;
    let units = 0;
    // A run of strings [runStart, count) not yet encoded, and its units.
    let runStart = 0;
    let runUnits = 0;
    while (count < this.#records) {
      const item = slots[(this.#head + count) & mask]!;
      if (count > 0 && units + item.length > target) break;
      if (typeof item === "string") {
        runUnits += item.length;
        count++;
        units += item.length;
        // A string ending in half a surrogate pair ends its run, so that the next
        // record's other half is never joined to it: each record encodes as it would
        // alone.
        const last = item.charCodeAt(item.length - 1);
        if (runUnits >= RUN_UNITS || (last >= 0xd800 && last <= 0xdbff)) {
          buffer = this.#room(buffer, offset, runUnits * 3);
          offset += this.#encodeRun(buffer, offset, runStart, count);
          runStart = count;
          runUnits = 0;
        }
        continue;
      }
      if (runUnits > 0) {
        buffer = this.#room(buffer, offset, runUnits * 3);
        offset += this.#encodeRun(buffer, offset, runStart, count);
        runUnits = 0;
      }
      buffer = this.#room(buffer, offset, item.length);
      buffer.set(item, offset);
      offset += item.length;
      count++;
      runStart = count;
      units += item.length;
    }
    if (runUnits > 0) {
      buffer = this.#room(buffer, offset, runUnits * 3);
      offset += this.#encodeRun(buffer, offset, runStart, count);
    }
    for (let i = 0; i < count; i++) slots[(this.#head + i) & mask] = undefined;
    this.#head = (this.#head + count) & mask;
    this.#records -= count;
    this.#size -= units;
    return { bytes: buffer.subarray(0, offset), records: count, units };
  }

  /** Encodes the strings of slots [start, end) (from the head), joined, at `offset`. */
  #encodeRun(buffer: Uint8Array, offset: number, start: number, end: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let text: string;
    if (end - start === 1) {
      text = slots[(this.#head + start) & mask] as string;
    } else {
      text = "";
      for (let i = start; i < end; i++) text += slots[(this.#head + i) & mask] as string;
    }
    return encoder.encodeInto(text, buffer.subarray(offset)).written;
  }

  /** `buffer`, or a larger copy of its first `offset` bytes with `more` bytes free. */
  #room(buffer: Uint8Array, offset: number, more: number): Uint8Array {
    if (buffer.length - offset >= more) return buffer;
    const larger = new Uint8Array(Math.max(offset + more, buffer.length * 2));
    larger.set(buffer.subarray(0, offset));
    // Kept for the next batches while it is no larger than a batch needs.
    if (larger.length <= this.#batchBytes * 3 + HEADER_ROOM) this.#buffer = larger;
    return larger;
  }

  #grow(): void {
    const old = this.#slots;
    const slots: (Item | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#records; i++) slots[i] = old[(this.#head + i) & this.#mask];
    this.#slots = slots;
    this.#mask = slots.length - 1;
    this.#head = 0;
  }
}

/**
 * The UTF-8 length of a string as `TextEncoder` encodes it (a lone surrogate becomes
 * U+FFFD, 3 bytes), counted without encoding.
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
