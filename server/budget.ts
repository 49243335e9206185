/**
 * {@linkcode Budget}: one bound on every byte the server holds for its clients, and
 * the one place that decides whether a client may be read.
 *
 * Three kinds of bytes count against `--max-buffered-bytes`:
 *
 * - records still being received ("unfinished"): at most {@linkcode UNFINISHED_SHARE}
 *   of the limit; a client whose unfinished record would pass that is refused, since
 *   waiting would let a few slow senders hold the memory for ever;
 * - complete records read and not yet written ("queued");
 * - replies written to a client and not yet taken by its socket ("replies").
 *
 * Reading is paused, never refused, for queued records and replies: past
 * {@linkcode PAUSE_SHARE} of the limit no client is read until they fall below
 * {@linkcode RESUME_SHARE}; a file whose queued records pass {@linkcode FILE_SHARE}
 * (its disk lags) has its clients paused until it is below half of that, so one slow
 * file does not stop the others; a client that leaves more than
 * {@linkcode CLIENT_REPLY_BYTES} of replies unread is not read until it has read half
 * of them. A large reply (a stats answer) is sent only while replies hold less than
 * {@linkcode REPLY_SHARE} of the limit. A client that reads its replies and whose
 * file keeps up is never paused.
 *
 * @module
 */

import { logText } from "./_log_text.ts";

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

/** Share of the limit unfinished records may hold; past it a client is refused. */
export const UNFINISHED_SHARE = 1 / 2;
/** Share of the limit at which queued records and replies pause every client. */
export const PAUSE_SHARE = 1 / 2;
/** Share of the limit below which paused clients are read again. */
export const RESUME_SHARE = 1 / 4;
/** Share of the limit one file's queued records may hold before its clients pause. */
export const FILE_SHARE = 1 / 4;
/** Share of the limit replies may hold before a large reply is refused. */
export const REPLY_SHARE = 1 / 8;
/** Share of the limit held in all past which reads are kept small. */
export const SMALL_READS_SHARE = 1 / 2;
/** Bytes of replies one client may leave unread before its requests are not read. */
export const CLIENT_REPLY_BYTES = 64 * 1024;

/**
 * The file a client writes to, as the budget knows it: its queued records are counted
 * by it.
 *
 * @example
 * ```ts
 * import type { BudgetFile } from "./budget.ts";
 * const file: BudgetFile = { path: "/var/log/app/a.log" };
 * ```
 */
export interface BudgetFile {
  /** Its path, for the log. */
  readonly path: string;
}

/**
 * A client as the budget sees it: the bytes of replies it has not read yet.
 *
 * @example
 * ```ts
 * import type { BudgetClient } from "./budget.ts";
 * const client: BudgetClient = { unread: 0 };
 * ```
 */
export interface BudgetClient {
  /** Bytes of replies not yet taken by its socket. */
  readonly unread: number;
}

/** A client waiting to be read again. */
interface Waiter {
  file: BudgetFile | null;
  client: BudgetClient;
  resolve: () => void;
}

/**
 * The bytes the server holds for its clients, and when clients may be read.
 *
 * @example
 * ```ts
 * import { Budget } from "./budget.ts";
 * import assert from "node:assert/strict";
 * const budget = new Budget(1024);
 * assert.equal(budget.holdUnfinished(512), true);
 * assert.equal(budget.holdUnfinished(1), false, "past half: refuse the client");
 * budget.releaseUnfinished(512);
 * const file = { path: "/tmp/a.log" };
 * budget.queue(file, 600);
 * assert.notEqual(budget.room(file, { unread: 0 }), null, "past half: wait");
 * budget.written(file, 600);
 * assert.equal(budget.room(file, { unread: 0 }), null, "read on");
 * ```
 */
export class Budget {
  /** The limit in bytes. */
  readonly limit: number;
  #unfinished = 0;
  #queued = 0;
  #replies = 0;
  #byFile = new Map<BudgetFile, number>();
  #pausedAll = false;
  #pausedFiles = new Set<BudgetFile>();
  #waiting: Waiter[] = [];
  #say: (message: string) => void;

  /**
   * Makes a budget.
   *
   * @param limit Bytes held at most (`--max-buffered-bytes`).
   * @param say Logs a line when clients are paused for the budget, and when they are
   * read again.
   */
  constructor(
    limit: number = DEFAULT_MAX_BUFFERED_BYTES,
    say: (message: string) => void = () => {},
  ) {
    this.limit = limit;
    this.#say = say;
  }

  /** Bytes of records still being received. */
  get unfinished(): number {
    return this.#unfinished;
  }

  /** Bytes of complete records waiting for the disk. */
  get queued(): number {
    return this.#queued;
  }

  /** Bytes of replies not yet taken by their clients' sockets. */
  get replies(): number {
    return this.#replies;
  }

  /** Whether so much is held that every client's reads should stay small. */
  get smallReads(): boolean {
    return this.#unfinished + this.#queued + this.#replies >
      this.limit * SMALL_READS_SHARE;
  }

  /**
   * Takes `bytes` for unfinished records, if they fit in their share.
   *
   * @param bytes Bytes to hold.
   * @returns `false` (and nothing taken) when they do not fit.
   */
  holdUnfinished(bytes: number): boolean {
    if (this.#unfinished + bytes > this.limit * UNFINISHED_SHARE) return false;
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
   * Counts bytes of complete records queued for a file.
   *
   * @param file The file.
   * @param bytes Bytes queued.
   */
  queue(file: BudgetFile, bytes: number): void {
    this.#queued += bytes;
    const now = (this.#byFile.get(file) ?? 0) + bytes;
    this.#byFile.set(file, now);
    if (now >= this.limit * FILE_SHARE && !this.#pausedFiles.has(file)) {
      this.#pausedFiles.add(file);
      this.#say(
        `Not reading the clients of ${logText(file.path)}: ` +
          `${now} bytes wait for its disk, a quarter of --max-buffered-bytes ` +
          `${this.limit}; reading them again below an eighth`,
      );
    }
    this.#changed();
  }

  /**
   * Gives back bytes of a file's queued records once written (or dropped).
   *
   * @param file The file they were queued for.
   * @param bytes Bytes released.
   */
  written(file: BudgetFile, bytes: number): void {
    if (bytes === 0) return;
    this.#queued -= bytes;
    const now = (this.#byFile.get(file) ?? 0) - bytes;
    if (now > 0) this.#byFile.set(file, now);
    else this.#byFile.delete(file);
    if (this.#pausedFiles.has(file) && now < this.limit * FILE_SHARE / 2) {
      this.#pausedFiles.delete(file);
    }
    this.#changed();
  }

  /**
   * Counts the bytes of a reply until its client's socket takes it. A large reply
   * may be refused instead.
   *
   * @param bytes The reply's bytes.
   * @param large Whether it may be refused: it is refused when replies would pass
   * their share of the limit.
   * @returns `false` (nothing counted) when a large reply does not fit.
   */
  holdReply(bytes: number, large = false): boolean {
    if (large && this.#replies + bytes > this.limit * REPLY_SHARE) return false;
    this.#replies += bytes;
    this.#changed();
    return true;
  }

  /**
   * A reply was taken by its socket (or dropped with its client).
   *
   * @param bytes The reply's bytes.
   */
  releaseReply(bytes: number): void {
    this.#replies -= bytes;
    this.#changed();
  }

  /**
   * Whether a client may be read now; when not, a promise that resolves once it may.
   *
   * @param file The client's file, or `null` before it has one.
   * @param client The client (its replies not yet read). Passed as an object, not a
   * closure: this is asked after every read, and a trickling client reads a byte at a
   * time.
   * @returns `null` to read on at once, or the promise to await first.
   */
  room(file: BudgetFile | null, client: BudgetClient): Promise<void> | null {
    if (this.#mayRead(file, client.unread, CLIENT_REPLY_BYTES)) return null;
    return new Promise((resolve) => this.#waiting.push({ file, client, resolve }));
  }

  /** Whether a client may be read, with `unreadBound` for its replies. */
  #mayRead(file: BudgetFile | null, unread: number, unreadBound: number): boolean {
    return !this.#pausedAll && unread <= unreadBound &&
      (file === null || !this.#pausedFiles.has(file));
  }

  /** Something was held or released: pause or resume, and wake who may read. */
  #changed(): void {
    const held = this.#queued + this.#replies;
    if (!this.#pausedAll && held >= this.limit * PAUSE_SHARE) {
      this.#pausedAll = true;
      this.#say(
        `Not reading any client: ${this.#queued} bytes of records wait for the disk and ` +
          `${this.#replies} bytes of replies for their clients, half of ` +
          `--max-buffered-bytes ${this.limit}; reading again below a quarter`,
      );
    } else if (this.#pausedAll && held < this.limit * RESUME_SHARE) {
      this.#pausedAll = false;
      this.#say(`Reading clients again: ${held} bytes held`);
    }
    if (this.#waiting.length === 0 || this.#pausedAll) return;
    const still: Waiter[] = [];
    const ready: Waiter[] = [];
    for (const waiter of this.#waiting) {
      const may = this.#mayRead(
        waiter.file,
        waiter.client.unread,
        CLIENT_REPLY_BYTES / 2,
      );
      (may ? ready : still).push(waiter);
    }
    if (ready.length === 0) return;
    this.#waiting = still;
    for (const waiter of ready) waiter.resolve();
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
  #budget: Budget;
  #held = 0;

  /**
   * Holds nothing yet.
   *
   * @param budget The server's budget.
   */
  constructor(budget: Budget) {
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
    if (bytes === this.#held) return true;
    if (bytes < this.#held) {
      budget.releaseUnfinished(this.#held - bytes);
    } else if (!budget.holdUnfinished(bytes - this.#held)) {
      return false;
    }
    this.#held = bytes;
    return true;
  }
}
