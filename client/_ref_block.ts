// Records kept as written, by reference, for the part of a queue past its encoding
// limit: a queue that deep is one the program fills faster than it drains, and
// encoding it all would cost fresh memory (on this project's machines, faulting in a
// fresh MiB costs about 70 times rewriting a used one). Records go back out encoded, a
// batch at a time, into one reused buffer.

const encoder = new TextEncoder();

/** Records per block. */
export const REF_BLOCK = 4096;

type Item = string | Uint8Array;

/** A FIFO of up to {@linkcode REF_BLOCK} records, kept by reference. */
export class RefBlock {
  readonly items: Item[] = [];
  #head = 0;

  /** Records not yet taken. */
  get records(): number {
    return this.items.length - this.#head;
  }

  /** Whether the block can take no more records. */
  get full(): boolean {
    return this.items.length === REF_BLOCK;
  }

  /**
   * Drops the head record.
   *
   * @returns Its size: bytes, or UTF-16 units for a string.
   */
  shift(): number {
    const size = this.items[this.#head]!.length;
    this.items[this.#head++] = "";
    return size;
  }

  /**
   * Encodes records from the head, at least one and about `target` units, into
   * `scratch` after `headerBytes`.
   *
   * @param target Units to take.
   * @param headerBytes Bytes to leave free at the start.
   * @param scratch A reused buffer; replaced by a larger one when too small.
   * @returns How many records and units were taken, and the buffer they are in, up to
   * `end`.
   */
  take(
    target: number,
    headerBytes: number,
    scratch: Uint8Array,
  ): { records: number; units: number; buffer: Uint8Array; end: number } {
    const items = this.items;
    const start = this.#head;
    let stop = start;
    let units = 0;
    let worst = headerBytes;
    while (
      stop < items.length && (stop === start || units + items[stop]!.length <= target)
    ) {
      const item = items[stop]!;
      units += item.length;
      worst += typeof item === "string" ? item.length * 3 : item.length;
      stop++;
    }
    const buffer = scratch.length >= worst
      ? scratch
      : new Uint8Array(Math.max(worst, scratch.length * 2));
    let offset = headerBytes;
    let run = -1;
    for (let i = start; i < stop; i++) {
      const item = items[i]!;
      if (typeof item === "string") {
        if (run < 0) run = i;
        // A record ending in half a surrogate pair is encoded on its own, as the
        // groups of the encoded part are cut after one.
        const last = item.charCodeAt(item.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          offset += encodeRun(items, run, i + 1, buffer, offset);
          run = -1;
        }
        continue;
      }
      if (run >= 0) offset += encodeRun(items, run, i, buffer, offset);
      run = -1;
      buffer.set(item, offset);
      offset += item.length;
    }
    if (run >= 0) offset += encodeRun(items, run, stop, buffer, offset);
    // Taken records are let go at once: the block may hold thousands more.
    for (let i = start; i < stop; i++) items[i] = "";
    this.#head = stop;
    return { records: stop - start, units, buffer, end: offset };
  }
}

/** Encodes the strings `items[start..end)`, joined, into `out` at `offset`. */
function encodeRun(
  items: Item[],
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
): number {
  const text = end - start === 1
    ? items[start] as string
    : (items.slice(start, end) as string[]).join("");
  return encoder.encodeInto(text, out.subarray(offset)).written;
}
