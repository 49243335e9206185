/**
 * {@linkcode FileCounters}: what happened to one path, kept across its handles.
 *
 * @module
 */

/**
 * What happened to one path since the server started, across its handles: kept by the
 * file table, told by each `SharedFile` of that path what happened. Read-only from
 * outside: each figure changes only through the method that says what happened.
 *
 * @example
 * ```ts
 * import { FileCounters } from "./file_counters.ts";
 * import assert from "node:assert/strict";
 * const counters = new FileCounters();
 * counters.wrote(6);
 * counters.failed();
 * assert.equal(counters.bytesWritten, 6);
 * assert.equal(counters.writeErrors, 1);
 * ```
 */
export class FileCounters {
  #bytesWritten = 0;
  #writeErrors = 0;
  #reopens = 0;
  #syncs = 0;
  #rotations = 0;

  /** Bytes appended to the path. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Writes (or syncs) that failed. */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Reopens after rotation. */
  get reopens(): number {
    return this.#reopens;
  }

  /** `fdatasync` calls made. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Rotations by the server itself (`--rotate-size`, `--rotate-interval`). */
  get rotations(): number {
    return this.#rotations;
  }

  /**
   * `bytes` more were appended.
   *
   * @param bytes Bytes of whole records now in the file.
   */
  wrote(bytes: number): void {
    this.#bytesWritten += bytes;
  }

  /** A write or a sync failed. */
  failed(): void {
    this.#writeErrors++;
  }

  /** The path was opened again (rotation, deletion). */
  reopened(): void {
    this.#reopens++;
  }

  /** An `fdatasync` was started. */
  synced(): void {
    this.#syncs++;
  }

  /** The server rotated the file itself. */
  rotated(): void {
    this.#rotations++;
  }
}
