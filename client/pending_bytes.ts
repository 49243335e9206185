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
 * const queue = new PendingBytes();
 * queue.push("hi\n");
 * const batch: Batch = queue.take(65536, 0);
 * console.log(batch.records); // 1
 * ```
 */
export interface Batch {
  /** Reserved header bytes, then the encoded records. Valid until the next `take()`. */
  bytes: Uint8Array;
  /** How many records the batch holds. */
  records: number;
}

const encoder = new TextEncoder();

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
 * const queue = new PendingBytes();
 * queue.push("héllo ");
 * queue.push(new Uint8Array([119, 10]));
 * const { bytes } = queue.take(1 << 16, 0);
 * console.log(new TextDecoder().decode(bytes)); // "héllo w\n"
 * ```
 */
export class PendingBytes {
  #items: (string | Uint8Array)[] = [];
  #head = 0;
  #units = 0;
  #scratch = new Uint8Array(0);

  /**
   * Adds a record at the tail.
   *
   * @param data The record; a string is encoded as UTF-8 when taken.
   */
  push(data: string | Uint8Array): void {
    this.#items.push(data);
    this.#units += data.length;
  }

  /** Records queued. */
  get records(): number {
    return this.#items.length - this.#head;
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
    const items = this.#items;
    const start = this.#head;
    let end = start;
    let units = 0;
    let worst = headerBytes;
    while (
      end < items.length && (end === start || units + items[end]!.length <= target)
    ) {
      const item = items[end]!;
      units += item.length;
      worst += typeof item === "string" ? item.length * 3 : item.length;
      end++;
    }
    if (this.#scratch.length < worst) {
      this.#scratch = new Uint8Array(Math.max(worst, this.#scratch.length * 2));
    }
    const out = this.#scratch;
    let offset = headerBytes;
    let run: string[] = [];
    for (let i = start; i < end; i++) {
      const item = items[i]!;
      items[i] = "";
      if (typeof item === "string") {
        run.push(item);
        continue;
      }
      if (run.length > 0) {
        offset += encoder.encodeInto(run.join(""), out.subarray(offset)).written;
        run = [];
      }
      out.set(item, offset);
      offset += item.length;
    }
    if (run.length > 0) {
      offset += encoder.encodeInto(run.join(""), out.subarray(offset)).written;
    }
    this.#units -= units;
    this.#head = end;
    if (end === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (end > 4096 && end * 2 > items.length) {
      this.#items = items.slice(end);
      this.#head = 0;
    }
    return { bytes: out.subarray(0, offset), records: end - start };
  }

  /**
   * Drops the record at the head.
   *
   * @returns Its size, 0 when the queue is empty.
   */
  shift(): number {
    if (this.#head === this.#items.length) return 0;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = "";
    this.#units -= item.length;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item.length;
  }

  /**
   * Empties the queue.
   *
   * @returns How many records and units were dropped.
   */
  clear(): { records: number; size: number } {
    const dropped = { records: this.records, size: this.#units };
    this.#items = [];
    this.#head = 0;
    this.#units = 0;
    return dropped;
  }
}
