// The client a queued unit came from, as the file's writer sees it: told when its
// bytes are written or failed. A module of its own so that the queue, the writer and
// the shared file can all name it without importing each other.

/**
 * The client a unit came from, told when its bytes are written or failed.
 *
 * @example
 * ```ts
 * import type { Owner } from "./_owner.ts";
 * const owner: Owner = { failed: false, onWritten() {}, onWriteError() {} };
 * ```
 */
export interface Owner {
  /** Set once a write of this owner's data failed; its later units are skipped. */
  readonly failed: boolean;
  /**
   * `bytes` more of this owner's data are in the file, and `extra` bytes it had held
   * for them (their record ends) are let go.
   */
  onWritten(bytes: number, extra: number): void;
  /** Appending this owner's data failed, or the file is gone. */
  onWriteError(error: unknown): void;
  /**
   * Its units are whole lines, each a record (a 0.x client): one may be cut after
   * any of its newlines, as built-in rotation does where the file reaches its size.
   */
  readonly lines?: boolean;
}

/**
 * A unit queued for a file (its bytes are in the batch's buffer), and its client.
 *
 * @example
 * ```ts
 * import type { Entry } from "./_owner.ts";
 * const entry: Entry = {
 *   owner: { failed: false, onWritten() {}, onWriteError() {} },
 *   bytes: 3,
 * };
 * ```
 */
export interface Entry {
  /** Who sent it. */
  owner: Owner;
  /** Its size: bytes that must land contiguously. */
  bytes: number;
  /**
   * Where it may be cut between two records (offlog/2): the record lengths of its
   * frame's record-ends frame. Without them, only a 0.x owner's unit (lines) may be cut.
   */
  ends?: Uint8Array;
  /** Bytes held for it besides its own (its record ends), counted until written. */
  extra?: number;
}

/**
 * Tells each owner of `entries` how many of its bytes are in the file, once.
 *
 * @param entries Units that were written.
 *
 * @example
 * ```ts
 * import { tellWritten } from "./_owner.ts";
 * import assert from "node:assert/strict";
 * let told = 0;
 * const owner = { failed: false, onWritten(n: number) { told += n; }, onWriteError() {} };
 * tellWritten([{ owner, bytes: 2 }, { owner, bytes: 3 }]);
 * assert.equal(told, 5);
 * ```
 */
export function tellWritten(entries: readonly Entry[]): void {
  const owners = new Map<Owner, [number, number]>();
  for (const { owner, bytes, extra = 0 } of entries) {
    const sums = owners.get(owner);
    if (sums === undefined) owners.set(owner, [bytes, extra]);
    else {
      sums[0] += bytes;
      sums[1] += extra;
    }
  }
  for (const [owner, [bytes, extra]] of owners) owner.onWritten(bytes, extra);
}
