/**
 * {@linkcode WriteQueue}: the records queued for one file, copied one after another
 * into buffers that each become one file write. A unit is never split between two
 * buffers, so each write ends on a record boundary.
 *
 * @module
 */

import { type BufferSource, FRESH, type Unit } from "../protocol/mod.ts";
import type { Entry, Owner } from "./_owner.ts";

/** Bytes of one coalesced file write at most (one unit may be larger). */
export const MAX_WRITE_BYTES = 4 * 1024 * 1024;

/** A record at least this large in a buffer of its own is written from it. */
const ADOPT_BYTES = 64 * 1024;

/** The smallest buffer of queued bytes; the next one is as large as the last batch. */
const FIRST_PENDING = 64 * 1024;

/** Queued units, copied one after another into one buffer: one file write. */
interface Pending {
  buffer: Uint8Array;
  fill: number;
  entries: Entry[];
}

/**
 * One file write taken from the queue: its bytes and whose they are. Hand it back with
 * {@linkcode WriteQueue.done} once written (or failed).
 */
export interface Batch {
  /** The bytes to write, whole units only. */
  readonly data: Uint8Array;
  /** The units in `data`, in order. */
  readonly entries: readonly Entry[];
  /** Bytes it held in the backlog (units of failed owners included). */
  readonly queued: number;
  /** The buffer behind `data`, given back to the pool when done. */
  readonly buffer: Uint8Array;
}

/**
 * The bytes queued for one file. Units are copied into a buffer while a write is in
 * flight and go out together in the next one, so each write is large and each unit
 * contiguous; the caller may reuse a unit's bytes once `enqueue()` returns.
 *
 * @example
 * ```ts
 * import { WriteQueue } from "./_write_queue.ts";
 * import assert from "node:assert/strict";
 * const queue = new WriteQueue();
 * const owner = { failed: false, onWritten() {}, onWriteError() {} };
 * queue.enqueue(owner, { parts: [new TextEncoder().encode("hi\n")], bytes: 3 });
 * const batch = queue.take()!;
 * assert.equal(new TextDecoder().decode(batch.data), "hi\n");
 * queue.done(batch);
 * assert.equal(queue.backlog, 0);
 * ```
 */
export class WriteQueue {
  #pending: Pending[] = [];
  #pendingSize = FIRST_PENDING;
  #pool: BufferSource;
  #backlog = 0;

  /**
   * An empty queue.
   *
   * @param pool Where the buffers come from and go back to.
   */
  constructor(pool: BufferSource = FRESH) {
    this.#pool = pool;
  }

  /** Bytes queued or being written. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Whether no batch waits to be taken. */
  get empty(): boolean {
    return this.#pending.length === 0;
  }

  /**
   * Queues a copy of a unit.
   *
   * @param owner Who sent it.
   * @param unit Bytes that must land contiguously; they may be reused on return,
   * except its `buffer`, which the queue keeps or gives back to the pool.
   */
  enqueue(owner: Owner, unit: Unit): void {
    if (
      unit.buffer !== undefined && unit.bytes >= ADOPT_BYTES && unit.parts.length === 1 &&
      unit.parts[0]!.byteOffset === unit.buffer.byteOffset
    ) {
      // A large record that spanned reads is already in a buffer of its own: it
      // becomes the next write as it is, without a copy.
      this.#pending.push({
        buffer: unit.buffer,
        fill: unit.bytes,
        entries: [entryOf(owner, unit)],
      });
    } else {
      const pending = this.#room(unit.bytes);
      for (const part of unit.parts) {
        pending.buffer.set(part, pending.fill);
        pending.fill += part.length;
      }
      pending.entries.push(entryOf(owner, unit));
      if (unit.buffer !== undefined) this.#pool.put(unit.buffer);
    }
    this.#backlog += unit.bytes;
  }

  /**
   * Takes the next write: the oldest buffer, without the units of owners that failed
   * since they were queued.
   *
   * @returns The batch, or `null` when nothing is queued.
   */
  take(): Batch | null {
    const pending = this.#pending.shift();
    if (pending === undefined) return null;
    const queued = pending.fill;
    // The next buffer starts at the size this batch needed, not small again.
    let size = FIRST_PENDING;
    while (size < queued && size < MAX_WRITE_BYTES) size *= 2;
    this.#pendingSize = size;
    const entries = withoutFailed(pending);
    return {
      data: pending.buffer.subarray(0, pending.fill),
      entries,
      queued,
      buffer: pending.buffer,
    };
  }

  /**
   * A batch from {@linkcode WriteQueue.take} is written or failed: its buffer goes
   * back to the pool and its bytes leave the backlog.
   *
   * @param batch The batch.
   */
  done(batch: Batch): void {
    this.#pool.put(batch.buffer);
    this.#backlog -= batch.queued;
  }

  /** The buffer the next unit of `bytes` goes into; one write holds 4 MiB at most. */
  #room(bytes: number): Pending {
    const tail = this.#pending[this.#pending.length - 1];
    if (tail !== undefined) {
      const needed = tail.fill + bytes;
      if (needed <= tail.buffer.length) return tail;
      if (needed <= MAX_WRITE_BYTES) {
        // The file lags: a larger buffer for this write and the next ones.
        const buffer = this.#pool.get(needed);
        buffer.set(tail.buffer.subarray(0, tail.fill));
        this.#pool.put(tail.buffer);
        tail.buffer = buffer;
        return tail;
      }
    }
    const pending: Pending = {
      buffer: this.#pool.get(Math.max(bytes, this.#pendingSize)),
      fill: 0,
      entries: [],
    };
    this.#pending.push(pending);
    return pending;
  }
}

/**
 * The entries of a buffer whose owners have not failed, their bytes moved together:
 * a client whose earlier write failed gets nothing more written.
 */
function withoutFailed(pending: Pending): Entry[] {
  const entries = pending.entries;
  if (!entries.some((entry) => entry.owner.failed)) return entries;
  const kept: Entry[] = [];
  let from = 0;
  let to = 0;
  for (const entry of entries) {
    if (!entry.owner.failed) {
      pending.buffer.copyWithin(to, from, from + entry.bytes);
      to += entry.bytes;
      kept.push(entry);
    }
    from += entry.bytes;
  }
  pending.fill = to;
  return kept;
}

/** The entry of `owner`'s `unit`, with its record ends when it has them. */
function entryOf(owner: Owner, unit: Unit): Entry {
  if (unit.ends === undefined) return { owner, bytes: unit.bytes };
  return { owner, bytes: unit.bytes, ends: unit.ends, extra: unit.ends.length };
}
