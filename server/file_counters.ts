/**
 * {@linkcode FileCounters}: what happened to one path, kept across its handles.
 *
 * @module
 */

/**
 * What happened to one path since the server started, across its handles: kept by the
 * file table, counted by each `SharedFile` of that path.
 *
 * @example
 * ```ts
 * import type { FileCounters } from "./file_counters.ts";
 * const counters: FileCounters = { bytesWritten: 0, writeErrors: 0, reopens: 0, syncs: 0 };
 * ```
 */
export interface FileCounters {
  /** Bytes appended to the path. */
  bytesWritten: number;
  /** Writes (or syncs) that failed. */
  writeErrors: number;
  /** Reopens after rotation. */
  reopens: number;
  /** `fdatasync` calls made. */
  syncs: number;
}

/**
 * Counters at zero, for a path not seen before.
 *
 * @returns The counters.
 *
 * @example
 * ```ts
 * import { newCounters } from "./file_counters.ts";
 * import assert from "node:assert/strict";
 * assert.equal(newCounters().bytesWritten, 0);
 * ```
 */
export function newCounters(): FileCounters {
  return { bytesWritten: 0, writeErrors: 0, reopens: 0, syncs: 0 };
}
