// The one owner of a writer's state, under every face (ProxyFile, LocalFile, Logger,
// the LogTape sink, pipe.ts): the queue, the one send in flight, the delivery
// accounting, the flush() waiters and their deadline, the queue bound and its policy,
// the close order and the exit registration. How the bytes leave is its Transport's.
//
// Accounting, in payload bytes and records:
//   written  records passed to write()          (queue.records of them still queued)
//   taken    records taken for sending, or dropped by the bound
//   sent     payload bytes taken for sending
//   confirmed payload bytes the transport confirmed in the file
// A flush() notes `written` when called. Once `taken` reaches it, its target is `sent`
// at that moment (the end of the batch holding its last record); it resolves when
// `confirmed` reaches that target. What is written after the call never moves it.

import { QueueFullError } from "../errors.ts";
import { utf8Length } from "./ends.ts";
import { HEADER_ROOM, RecordQueue } from "./queue.ts";
import { register, unregister } from "./registry.ts";
import type { Transport, TransportFactory } from "./transport.ts";

/**
 * write() encodes nothing: the turn's records are encoded once it ends (#wake). Only a
 * turn that writes more than this many records has them encoded this many at a time,
 * by the call that reaches the count, so that the program's strings still die young:
 * measured, keeping 20,000 lines of a turn alive cost more in garbage collection than
 * encoding them.
 */
const TURN_RECORDS = 1024;

/** What a full queue does: see `ProxyFileOptions.overflow`. */
export type OverflowPolicy = "error" | "drop-newest" | "drop-oldest";

/** How a writer is set up. */
export interface WriterOptions {
  /** Named in error messages. */
  path: string;
  /** Milliseconds a flush() or close() may go without progress. */
  timeout: number;
  /** Bound of the queue; `Infinity` for none. */
  maxPendingBytes: number;
  overflow: OverflowPolicy;
  /** Told of each record dropped by the bound. */
  onDrop?: ((records: number, size: number) => void) | undefined;
  /** Rejects a record larger than this, in bytes, at write(). */
  maxRecordBytes: number;
  /** The error for a flush() that saw no progress, given the bytes not confirmed. */
  timedOut(pending: number): Error;
}

interface Waiter {
  /** Records written before the flush() call. */
  records: number;
  /** The `sent` position that must be confirmed; -1 until those records are taken. */
  end: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A writer: see the header comment. */
export class Writer<T extends Transport = Transport> {
  /** Where its bytes go. */
  readonly transport: T;
  readonly #options: WriterOptions;
  readonly #queue: RecordQueue;
  /** Strings of up to this many UTF-16 units cannot pass `maxRecordBytes`. */
  readonly #safeUnits: number;
  readonly #maxPending: number;
  #written = 0;
  #taken = 0;
  #sent = 0;
  #confirmed = 0;
  /** The batch being sent: records and their queued size; 0 when none. */
  #inFlight = { records: 0, units: 0 };
  #waiters: Waiter[] = [];
  #pumping = false;
  /** Whether a #wake is queued, and records written since. */
  #woken = false;
  #sinceWake = 0;
  #pumpDone: Promise<void> = Promise.resolve();
  #error: Error | null = null;
  #errorThrown = false;
  #closing: Promise<void> | null = null;
  #droppedRecords = 0;
  #droppedSize = 0;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #lastProgress = 0;
  /** Whether something waits for confirmations (a flush() or close()). */
  #watching = 0;

  constructor(options: WriterOptions, transport: TransportFactory<T>) {
    this.#options = options;
    this.#safeUnits = Math.floor(options.maxRecordBytes / 3);
    this.#maxPending = options.maxPendingBytes;
    this.transport = transport({
      confirmed: (bytes) => this.#onConfirmed(bytes),
      lost: (error) => this.#fail(error),
    });
    this.#queue = new RecordQueue(this.transport.batchBytes);
  }

  /** Adds the writer to the process's exit handling (see exit_safety.ts). */
  register(): void {
    register(this);
  }

  /** The path named in messages. */
  get path(): string {
    return this.#options.path;
  }

  /** Records queued or being sent. */
  get pendingRecords(): number {
    return this.#queue.records + this.#inFlight.records;
  }

  /** Their size: bytes, strings by their UTF-16 length. */
  get pendingSize(): number {
    return this.#queue.size + this.#inFlight.units;
  }

  /** Records dropped by the queue bound. */
  get droppedRecords(): number {
    return this.#droppedRecords;
  }

  /** Their size. */
  get droppedSize(): number {
    return this.#droppedSize;
  }

  /** Payload bytes taken for sending, and confirmed, so far. */
  get delivery(): { sent: number; confirmed: number } {
    return { sent: this.#sent, confirmed: this.#confirmed };
  }

  /** Queues `data`; see `ProxyFile.write()`. */
  write(data: string | Uint8Array): void {
    if (this.#closing !== null || this.#error !== null) this.#refuse();
    if (typeof data === "string") {
      if (data.length > this.#safeUnits) this.#checkSize(utf8Length(data));
    } else if (data instanceof Uint8Array) {
      if (data.length > this.#safeUnits) this.#checkSize(data.length);
    } else {
      throw new TypeError(
        `Cannot write to "${this.#options.path}": data must be a string or Uint8Array`,
      );
    }
    const max = this.#maxPending;
    if (max !== Infinity && this.#queue.size + data.length > max) {
      if (!this.#makeRoom(data.length)) return;
    }
    this.#queue.push(data);
    this.#written++;
    if (!this.#woken) {
      this.#woken = true;
      this.#sinceWake = 0;
      queueMicrotask(this.#wake);
    } else if (++this.#sinceWake === TURN_RECORDS) {
      // A turn this long would keep too many of the program's strings alive.
      this.#sinceWake = 0;
      this.#queue.encode();
    }
  }

  /**
   * Resolves once everything written before the call is confirmed; with `durable`,
   * then asks the transport to sync it to disk.
   */
  flush(durable = false): Promise<void> {
    const flushed = this.#flush();
    return durable ? flushed.then(() => this.transport.sync()) : flushed;
  }

  #flush(): Promise<void> {
    if (this.#error !== null) {
      this.#errorThrown = true;
      return Promise.reject(this.#error);
    }
    return this.#confirmedAll().catch((error: Error) => {
      if (error === this.#error) this.#errorThrown = true;
      throw error;
    });
  }

  /** Resolves once everything written so far is confirmed; rejects as a flush does. */
  #confirmedAll(): Promise<void> {
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#taken === this.#written && this.#confirmed >= this.#sent) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { records: this.#written, end: -1, resolve, reject };
      if (this.#taken >= waiter.records) waiter.end = this.#sent;
      this.#waiters.push(waiter);
      this.#watch(1);
    }).finally(() => this.#watch(-1));
  }

  /**
   * Closes in a fixed order: no more writes; wait until everything written is
   * confirmed; close the transport, cleanly if so far all went well (half-close, the
   * server's goodbye); wait for the pump; leave the exit handling. Safe to call twice.
   *
   * @throws The writer's error or the close's, unless already thrown to the caller.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    let failure: Error | null = null;
    try {
      // Closed to writes, so this ends: the transport is closed cleanly (half-close)
      // only once nothing is queued, nothing in flight, and all sent is confirmed.
      while (this.#error === null) {
        await this.#confirmedAll();
        if (this.pendingRecords === 0 && !this.#unconfirmed()) break;
        await this.#pumpDone; // confirmed before its send returned: wait for it
      }
    } catch (error) {
      failure = error as Error;
    }
    try {
      await this.transport.close(failure === null && this.#error === null);
    } catch (error) {
      failure ??= error as Error;
    } finally {
      await this.#pumpDone;
      unregister(this);
    }
    const error = failure ?? this.#error;
    if (error !== null && !(error === this.#error && this.#errorThrown)) {
      this.#errorThrown = true;
      throw error;
    }
  }

  #unconfirmed(): boolean {
    return this.#confirmed < this.#sent;
  }

  #refuse(): never {
    if (this.#error !== null) {
      this.#errorThrown = true;
      throw this.#error;
    }
    throw new Deno.errors.BadResource(
      `Cannot write to "${this.#options.path}": the file is closed`,
    );
  }

  #checkSize(bytes: number): void {
    const max = this.#options.maxRecordBytes;
    if (bytes <= max) return;
    throw new RangeError(
      `Cannot write to "${this.#options.path}": a record of ${bytes} bytes is larger ` +
        `than the maximum of ${max} bytes`,
    );
  }

  /** Applies the overflow policy; `true` when the new record may be queued. */
  #makeRoom(size: number): boolean {
    const { maxPendingBytes, overflow, path } = this.#options;
    const queued = this.#queue.size;
    if (overflow === "error") {
      throw new QueueFullError(
        `Cannot write to "${path}": ${queued} bytes are queued and ` +
          `maxPendingBytes is ${maxPendingBytes}`,
        { pendingSize: queued, maxPendingBytes },
      );
    }
    if (overflow === "drop-oldest" && size <= maxPendingBytes) {
      while (this.#queue.size + size > maxPendingBytes && this.#queue.records > 0) {
        this.#dropped(this.#queue.shift());
        // A dropped record counts as taken: a flush() waits for it no more.
        this.#taken++;
      }
      this.#noteTaken();
      return true;
    }
    this.#dropped(size);
    return false;
  }

  #dropped(size: number): void {
    this.#droppedRecords++;
    this.#droppedSize += size;
    this.#options.onDrop?.(1, size);
  }

  /**
   * Runs once the writes of a turn are done: encodes them (so the program's strings
   * die young), and starts the pump unless it runs.
   */
  readonly #wake = (): void => {
    this.#woken = false;
    this.#queue.encode();
    if (this.#pumping || this.#error !== null) return;
    this.#pumping = true;
    this.#pumpDone = this.#pump();
  };

  /** Sends the queue a batch at a time, one send in flight, until it is empty. */
  async #pump(): Promise<void> {
    try {
      while (this.#queue.records > 0 && this.#error === null) {
        const batch = this.#queue.take();
        this.#taken += batch.records;
        this.#sent += batch.bytes.length - HEADER_ROOM;
        this.#inFlight = {
          records: batch.records,
          units: batch.bytes.length - HEADER_ROOM,
        };
        this.#noteTaken();
        try {
          await this.transport.send(batch);
        } catch (error) {
          this.#fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        this.#inFlight = { records: 0, units: 0 };
        this.#progress();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Records were taken or dropped: waiters they complete learn their target. */
  #noteTaken(): void {
    for (const waiter of this.#waiters) {
      if (waiter.end >= 0) continue;
      if (waiter.records > this.#taken) break;
      waiter.end = this.#sent;
    }
    this.#settle();
  }

  #onConfirmed(bytes: number): void {
    this.#confirmed += bytes;
    this.#progress();
    this.#settle();
  }

  #settle(): void {
    let done = 0;
    const waiters = this.#waiters;
    while (done < waiters.length) {
      const waiter = waiters[done]!;
      if (waiter.end < 0 || waiter.end > this.#confirmed) break;
      waiter.resolve();
      done++;
    }
    if (done > 0) waiters.splice(0, done);
  }

  /** Ends the writer with `error`: every waiting and later flush() and write() throws it. */
  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    this.#rejectWaiters(error);
  }

  #rejectWaiters(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #progress(): void {
    if (this.#watching > 0) this.#lastProgress = performance.now();
  }

  /**
   * Counts what waits for confirmations; while anything does, a deadline keeps the
   * process alive and rejects the waiters after `timeout` ms without progress.
   */
  #watch(change: number): void {
    this.#watching += change;
    if (this.#watching > 0 && this.#deadline === undefined) {
      this.#lastProgress = performance.now();
      this.#arm(this.#options.timeout);
    } else if (this.#watching === 0 && this.#deadline !== undefined) {
      clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
  }

  #arm(ms: number): void {
    this.#deadline = setTimeout(() => {
      const idle = performance.now() - this.#lastProgress;
      const timeout = this.#options.timeout;
      if (idle < timeout) return this.#arm(timeout - idle);
      this.#deadline = undefined;
      const error = this.#options.timedOut(
        this.#queue.size + this.#sent - this.#confirmed,
      );
      this.#rejectWaiters(error);
    }, Math.max(1, ms));
  }
}
