/**
 * The queue behind every non-blocking writer: records go in as they are written,
 * uncopied and unencoded, and come out as large encoded batches.
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

const encoder = new TextEncoder();

type Item = string | Uint8Array;
/** Records per block of the queue. */
const BLOCK = 4096;
/** Emptied blocks kept for reuse. */
const MAX_SPARE = 16;

/**
 * A FIFO of pending records. `push()` stores a reference and adds a length, so its
 * cost does not depend on the record or on how much is queued; `take()` joins the
 * strings at the head and encodes them once into a reused buffer.
 *
 * A `Uint8Array` is not copied when pushed: do not change it afterwards.
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
  // Records live in blocks of BLOCK slots, so that a deep queue never copies itself
  // to grow; emptied blocks are kept for reuse.
  #blocks: Item[][] = [[]];
  #head = 0;
  #records = 0;
  #units = 0;
  #spare: Item[][] = [];
  #scratch = new Uint8Array(0);

  /**
   * Adds a record at the tail.
   *
   * @param data The record; a string is encoded as UTF-8 when taken.
   */
  push(data: string | Uint8Array): void {
    let tail = this.#blocks[this.#blocks.length - 1]!;
    if (tail.length === BLOCK) {
      tail = this.#spare.pop() ?? [];
      this.#blocks.push(tail);
    }
    tail.push(data);
    this.#records++;
    this.#units += data.length;
  }

  /** Records queued. */
  get records(): number {
    return this.#records;
  }

  /**
   * Size of what is queued: bytes for byte arrays, UTF-16 code units for strings
   * (the UTF-8 size of ASCII text; at most three times less than it otherwise).
   */
  get size(): number {
    return this.#units;
  }

  /**
   * Removes whole records from the head, at least one and about `target` units, and
   * encodes them after `headerBytes` reserved bytes.
   *
   * @param target Units to take; a larger first record is taken whole.
   * @param headerBytes Bytes to leave free at the start for the caller's header.
   * @returns The batch, empty when nothing is queued.
   */
  take(target: number, headerBytes: number): Batch {
    // First pass: how many records, and the most bytes they can encode to.
    let count = 0;
    let units = 0;
    let worst = headerBytes;
    for (let b = 0, i = this.#head; b < this.#blocks.length; b++, i = 0) {
      const block = this.#blocks[b]!;
      for (; i < block.length; i++) {
        const item = block[i]!;
        if (count > 0 && units + item.length > target) break;
        units += item.length;
        worst += typeof item === "string" ? item.length * 3 : item.length;
        count++;
      }
      if (i < block.length) break;
    }
    if (this.#scratch.length < worst) {
      this.#scratch = new Uint8Array(Math.max(worst, this.#scratch.length * 2));
    }
    const out = this.#scratch;
    let offset = headerBytes;
    // Second pass, a block at a time: runs of strings are joined and encoded at once.
    for (let left = count; left > 0;) {
      const block = this.#blocks[0]!;
      const start = this.#head;
      const end = Math.min(block.length, start + left);
      let run = -1;
      for (let i = start; i < end; i++) {
        const item = block[i]!;
        if (typeof item === "string") {
          if (run < 0) run = i;
          // A record ending in half a surrogate pair is encoded on its own, so that what
          // reaches the file does not depend on how records were batched.
          const last = item.charCodeAt(item.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            offset += encodeStrings(block, run, i + 1, out, offset);
            run = -1;
          }
          continue;
        }
        if (run >= 0) offset += encodeStrings(block, run, i, out, offset);
        run = -1;
        out.set(item, offset);
        offset += item.length;
      }
      if (run >= 0) offset += encodeStrings(block, run, end, out, offset);
      left -= end - start;
      this.#records -= end - start;
      this.#advance(block, end);
    }
    this.#units -= units;
    return { bytes: out.subarray(0, offset), records: count };
  }

  /**
   * Drops the record at the head.
   *
   * @returns Its size, 0 when the queue is empty.
   */
  shift(): number {
    if (this.#records === 0) return 0;
    const size = this.#shiftItem().length;
    this.#units -= size;
    return size;
  }

  /**
   * Empties the queue.
   *
   * @returns How many records and units were dropped.
   */
  clear(): { records: number; size: number } {
    const dropped = { records: this.#records, size: this.#units };
    this.#blocks = [[]];
    this.#head = 0;
    this.#records = 0;
    this.#units = 0;
    return dropped;
  }

  /** Removes the head record; the queue must not be empty. */
  #shiftItem(): Item {
    const block = this.#blocks[0]!;
    const item = block[this.#head]!;
    this.#records--;
    this.#advance(block, this.#head + 1);
    return item;
  }

  /** Moves the head of the first block to `end`, retiring the block when it is used up. */
  #advance(block: Item[], end: number): void {
    if (end < block.length) {
      this.#head = end;
      return;
    }
    this.#head = 0;
    block.length = 0;
    if (this.#blocks.length > 1) {
      this.#blocks.shift();
      if (this.#spare.length < MAX_SPARE) this.#spare.push(block);
    }
  }
}

/** Encodes the strings `block[start..end)`, joined, into `out` at `offset`. */
function encodeStrings(
  block: Item[],
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
): number {
  const text = end - start === 1
    ? block[start] as string
    : (block.slice(start, end) as string[]).join("");
  return encoder.encodeInto(text, out.subarray(offset)).written;
}
