// The bytes of a record being received, kept as the reads delivered them. A large piece
// is kept by reference (no copy); small pieces are copied together into one buffer, so
// that a record trickled a byte per read costs about a byte per byte, not a buffer
// (and its object headers) per read.

/** Pieces shorter than this are copied into a shared buffer. */
const SMALL = 4 * 1024;
/** Sizes of the buffers small pieces are copied into: the first, and at most. */
const FIRST_SPAN = 1024;
const SPAN = 64 * 1024;

/** Collects the pieces of one record (or run of lines). */
export class Parts {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  /** The buffer small pieces go into; the last of `#parts` is a view of it. */
  #span: Uint8Array | null = null;
  #spanFill = 0;
  /** The next span's size: small at first (most records need none), doubling. */
  #nextSpan = FIRST_SPAN;

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds a piece.
   *
   * @param piece The bytes; kept by reference when large, so do not reuse it.
   * @param expected Bytes still to come for this record, when known: a small piece
   * then gets a buffer no larger than the record needs.
   */
  add(piece: Uint8Array, expected: number = SPAN): void {
    if (piece.length === 0) return;
    this.#bytes += piece.length;
    if (piece.length >= SMALL) {
      this.#span = null;
      this.#parts.push(piece);
      return;
    }
    const span = this.#span;
    if (span !== null && span.length - this.#spanFill >= piece.length) {
      span.set(piece, this.#spanFill);
      this.#spanFill += piece.length;
      this.#parts[this.#parts.length - 1] = span.subarray(0, this.#spanFill);
      return;
    }
    const size = Math.max(piece.length, Math.min(this.#nextSpan, expected));
    this.#nextSpan = Math.min(this.#nextSpan * 2, SPAN);
    this.#span = new Uint8Array(size);
    this.#span.set(piece);
    this.#spanFill = piece.length;
    this.#parts.push(this.#span.subarray(0, this.#spanFill));
  }

  /**
   * Takes everything held, leaving the collector empty.
   *
   * @returns The pieces, in order.
   */
  take(): Uint8Array[] {
    const parts = this.#parts;
    this.#parts = [];
    this.#bytes = 0;
    // A span may still have room, but its first bytes now belong to the caller.
    this.#span = null;
    this.#nextSpan = FIRST_SPAN;
    return parts;
  }
}
