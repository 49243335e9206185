/**
 * {@linkcode RecordFile}: what the `Logger` and the LogTape sink write to.
 *
 * @module
 */

/**
 * Options of `flush()`.
 *
 * @example
 * ```ts
 * import type { FlushOptions } from "@offlog/offlog";
 * const options: FlushOptions = { durable: true };
 * ```
 */
export interface FlushOptions {
  /**
   * Resolve only once the file is synced to disk (`fdatasync`) past everything
   * written before the call, not only written.
   * @default {false}
   */
  durable?: boolean;
}

/**
 * A file that takes records without waiting: a `ProxyFile`, a `LocalFile`, or
 * anything else with these methods (an in-memory file in tests, say).
 *
 * @example
 * ```ts
 * import type { RecordFile } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const memory: RecordFile = {
 *   write: (text) => void lines.push(text),
 *   flush: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * memory.write("one\n");
 * assert.deepEqual(lines, ["one\n"]);
 * ```
 */
export interface RecordFile {
  /** Queues one record's text; must not wait. */
  write(text: string): void;
  /**
   * Resolves once everything written before the call is in the file; with
   * `durable`, once it is synced to disk too.
   */
  flush(options?: FlushOptions): Promise<void>;
  /** Writes what is queued and closes; safe to call twice. */
  close(): Promise<void>;
  /** Records written and not yet in the file, if the file counts them. */
  readonly pendingRecords?: number;
}
