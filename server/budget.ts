/**
 * {@linkcode Budget}: one bound on the memory the server holds for all its clients.
 *
 * @module
 */

/**
 * The default of `--max-buffered-bytes`: 256 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_BUFFERED_BYTES } from "./budget.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_MAX_BUFFERED_BYTES, 256 * 1024 * 1024);
 * ```
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

/**
 * Bytes the server holds for its clients, in two kinds: complete records read and not
 * yet written ("queued"), and records still being received ("unfinished"). Unfinished
 * records may take at most half of the limit: a client whose unfinished record would
 * pass it is refused, since waiting would let a few slow senders hold the memory for
 * ever. Queued records past the rest of the limit make clients wait (they are not
 * read) until the disk catches up.
 *
 * @example
 * ```ts
 * import { Budget } from "./budget.ts";
 * import assert from "node:assert/strict";
 * const budget = new Budget(1024);
 * assert.equal(budget.holdUnfinished(512), true);
 * assert.equal(budget.holdUnfinished(1), false);
 * budget.releaseUnfinished(512);
 * ```
 */
export class Budget {
  /** The limit in bytes. */
  readonly limit: number;
  #queued = 0;
  #unfinished = 0;
  #waiting: (() => void)[] = [];

  /**
   * Makes a budget.
   *
   * @param limit Bytes held at most (`--max-buffered-bytes`).
   */
  constructor(limit: number = DEFAULT_MAX_BUFFERED_BYTES) {
    this.limit = limit;
  }

  /** Bytes of complete records waiting for the disk. */
  get queued(): number {
    return this.#queued;
  }

  /** Bytes of records still being received. */
  get unfinished(): number {
    return this.#unfinished;
  }

  /**
   * Takes `bytes` for unfinished records, if they fit in half the limit.
   *
   * @param bytes Bytes to hold.
   * @returns `false` (and nothing taken) when they do not fit.
   */
  holdUnfinished(bytes: number): boolean {
    if (this.#unfinished + bytes > this.limit / 2) return false;
    this.#unfinished += bytes;
    return true;
  }

  /**
   * Gives back bytes of unfinished records.
   *
   * @param bytes Bytes released.
   */
  releaseUnfinished(bytes: number): void {
    this.#unfinished -= bytes;
  }

  /**
   * Counts bytes of complete records queued for the disk.
   *
   * @param bytes Bytes queued.
   */
  addQueued(bytes: number): void {
    this.#queued += bytes;
  }

  /**
   * Gives back bytes of queued records once written (or dropped).
   *
   * @param bytes Bytes released.
   */
  releaseQueued(bytes: number): void {
    this.#queued -= bytes;
    if (this.#waiting.length > 0 && this.#queued < this.limit / 4) {
      for (const wake of this.#waiting.splice(0)) wake();
    }
  }

  /** Whether queued records fill their half of the limit: clients should wait. */
  get full(): boolean {
    return this.#queued >= this.limit / 2;
  }

  /**
   * Resolves once queued records are below a quarter of the limit (at once when
   * they are not full).
   *
   * @returns A promise to await before reading more.
   */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/**
 * What one client's unfinished record holds of a {@linkcode Budget}, kept equal to
 * the bytes its reader holds.
 *
 * @example
 * ```ts
 * import { Budget, UnfinishedHold } from "./budget.ts";
 * import assert from "node:assert/strict";
 * const budget = new Budget(1024);
 * const hold = new UnfinishedHold(budget);
 * assert.equal(hold.set(300), true);
 * assert.equal(hold.set(600), false); // past half of 1024: refuse the client
 * hold.set(0);
 * assert.equal(budget.unfinished, 0);
 * ```
 */
export class UnfinishedHold {
  #budget: Budget | undefined;
  #held = 0;

  /**
   * Holds nothing yet.
   *
   * @param budget The server's budget; none: unbounded.
   */
  constructor(budget: Budget | undefined) {
    this.#budget = budget;
  }

  /**
   * Holds `bytes` in all (more or less than before).
   *
   * @param bytes The bytes of the unfinished record now.
   * @returns `false` when they do not fit: the client must be refused.
   */
  set(bytes: number): boolean {
    const budget = this.#budget;
    if (budget === undefined || bytes === this.#held) return true;
    if (bytes < this.#held) {
      budget.releaseUnfinished(this.#held - bytes);
    } else if (!budget.holdUnfinished(bytes - this.#held)) {
      return false;
    }
    this.#held = bytes;
    return true;
  }
}
