// The bytes of a record that spans reads, copied together: the reads' buffer is reused
// for the next read, so nothing may keep a view of it. A record that lies within one
// read is not collected here; the readers hand out a view of the read instead.

/**
 * Where collecting buffers come from and go back to: the server passes its pool.
 *
 * @example
 * ```ts
 * import type { BufferSource } from "./_parts.ts";
 * const fresh: BufferSource = { get: (size) => new Uint8Array(size), put() {} };
 * ```
 */
export interface BufferSource {
  /** A buffer of at least `size` bytes, whatever it holds. */
  get(size: number): Uint8Array;
  /** A buffer no longer used. */
  put(buffer: Uint8Array): void;
}

/** Allocates every buffer and lets the garbage collector have them back. */
export const FRESH: BufferSource = { get: (size) => new Uint8Array(size), put() {} };

/** The smallest collecting buffer. */
const FIRST = 1024;

/** Collects the pieces of one record (or run of lines) by copying them. */
export class Parts {
  #source: BufferSource;
  #buffer: Uint8Array | null = null;
  #fill = 0;
  /** The size last asked of the source (it may give more). */
  #asked = 0;

  /**
   * A collector taking its buffers from `source`.
   *
   * @param source Where buffers come from.
   */
  constructor(source: BufferSource = FRESH) {
    this.#source = source;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#fill;
  }

  /** Bytes set aside for the record: what is held and the room asked for the rest. */
  get reserved(): number {
    return Math.max(this.#fill, this.#asked);
  }

  /**
   * The room after what is held, up to `max` bytes, for a read straight into it; a
   * piece then added from there is not copied again. Empty when there is no buffer.
   *
   * @param max Bytes wanted at most.
   * @returns A view of the free part of the buffer.
   */
  room(max: number): Uint8Array {
    const buffer = this.#buffer;
    if (buffer === null) return new Uint8Array(0);
    return buffer.subarray(this.#fill, Math.min(buffer.length, this.#fill + max));
  }

  /**
   * Adds a copy of a piece (none when it was read into {@linkcode Parts.room}).
   *
   * @param piece The bytes.
   * @param expected Bytes still to come for this record, this piece included, when
   * known: the buffer is then sized for the whole record at once.
   */
  add(piece: Uint8Array, expected: number = 0): void {
    if (piece.length === 0) return;
    const needed = this.#fill + piece.length;
    const buffer = this.#buffer;
    if (
      buffer !== null && piece.buffer === buffer.buffer &&
      piece.byteOffset === buffer.byteOffset + this.#fill
    ) {
      this.#fill = needed; // read in place
      return;
    }
    if (buffer === null || buffer.length < needed) {
      this.#asked = Math.max(
        needed,
        this.#fill + expected,
        (buffer?.length ?? FIRST / 2) * 2,
      );
      const next = this.#source.get(this.#asked);
      if (buffer !== null) {
        next.set(buffer.subarray(0, this.#fill));
        this.#source.put(buffer);
      }
      this.#buffer = next;
    }
    this.#buffer!.set(piece, this.#fill);
    this.#fill = needed;
  }

  /**
   * Takes everything held, leaving the collector empty. The buffer goes with it: the
   * taker may give it back to the source once done.
   *
   * @returns The bytes as one part, their length, and their buffer.
   */
  take(): { parts: Uint8Array[]; bytes: number; buffer?: Uint8Array } {
    const buffer = this.#buffer;
    const bytes = this.#fill;
    this.#buffer = null;
    this.#fill = 0;
    this.#asked = 0;
    if (buffer === null) return { parts: [], bytes: 0 };
    return { parts: [buffer.subarray(0, bytes)], bytes, buffer };
  }
}
