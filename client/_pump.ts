// The part every offlog writer shares: write() queues and returns, one pump sends the
// queue a batch at a time with one write in flight, the delivery counters resolve each
// flush() once everything written before it is done, and a bounded queue drops or
// refuses by its policy. A writer gives only how a batch leaves (its Outlet): to the
// server's socket (ProxyFile) or to a file (LocalFile).

import { Delivery } from "./_delivery.ts";
import { QueueFullError } from "./errors.ts";
import { PendingBytes } from "./pending_bytes.ts";

/** What a full queue does: see `ProxyFileOptions.overflow`. */
export type OverflowPolicy = "error" | "drop-newest" | "drop-oldest";

/** One batch on its way out. */
export interface OutBatch {
  /** Header space (unwritten) and payload. */
  bytes: Uint8Array;
  /** Records in it. */
  records: number;
  /** Payload position at its end. */
  end: number;
}

/** How batches leave a writer. */
export interface Outlet {
  /**
   * Bytes to reserve before each batch's payload (a frame header), or `null` when
   * nothing can be sent now (not connected).
   */
  headerBytes(): number | null;
  /** A batch from an earlier connection to send again before new ones, if any. */
  resend(headerBytes: number): OutBatch | null;
  /** A new batch was taken from the queue. */
  taken(batch: OutBatch, headerBytes: number): void;
  /** Sends one batch; throws when it cannot. */
  send(batch: OutBatch, headerBytes: number): Promise<void>;
  /** A pump run begins. */
  begin(): void;
  /** Whether a batch whose send threw is kept to be sent again (not lost). */
  keepsFailed(headerBytes: number): boolean;
  /** Sends a control frame (a sync request) between two batches. */
  sendControl(bytes: Uint8Array): Promise<void>;
  /** A send threw: the pump stops; the outlet decides what that means. */
  sendFailed(cause: unknown): Promise<void>;
  /** The pump stopped (ran dry, stopped sending, or failed). */
  stopped(): Promise<void>;
  /** Keep the process alive while a flush() waits; and let it end again. */
  hold(): void;
  release(): void;
}

/** How a pump is set up. */
export interface PumpOptions {
  /** Named in error messages. */
  path: string;
  /** Milliseconds a flush() may go without progress. */
  timeout: number;
  /** Bytes in one batch at most (a larger record goes alone). */
  batchUnits: number;
  /** Bound of the queue; `Infinity` for none. */
  maxPendingBytes: number;
  overflow: OverflowPolicy;
  /** Told of each record dropped by the bound. */
  onDrop?: ((records: number, size: number) => void) | undefined;
  /** Rejects a record larger than this, in bytes, at write(). */
  maxRecordBytes?: number;
  /** The error for a flush() that saw no progress. */
  timedOut(pending: number): Error;
}

/** A writer's queue, pump and delivery accounting. */
export class Pump {
  readonly delivery: Delivery;
  #options: PumpOptions;
  #outlet: Outlet;
  #queue: PendingBytes;
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #inFlight = { records: 0, size: 0 };
  #error: Error | null = null;
  #errorThrown = false;
  #closing = false;
  #droppedRecords = 0;
  #droppedSize = 0;
  /** Strings of up to this many UTF-16 units cannot pass `maxRecordBytes`. */
  #safeUnits: number;
  /** Control frames to send before the next batch. */
  #controls: Uint8Array[] = [];

  constructor(options: PumpOptions, outlet: Outlet) {
    this.#options = options;
    this.#outlet = outlet;
    this.#queue = new PendingBytes(options.batchUnits);
    this.#safeUnits = Math.floor((options.maxRecordBytes ?? Infinity) / 3);
    this.delivery = new Delivery(options.timeout, {
      hold: () => outlet.hold(),
      release: () => outlet.release(),
      timedOut: () => options.timedOut(this.pendingSize),
    });
  }

  /** The error that ended the writer, if one did. */
  get error(): Error | null {
    return this.#error;
  }

  /** Whether the pump is running. */
  get running(): boolean {
    return this.#pumping;
  }

  /** Resolves when the current pump run has stopped. */
  get idle(): Promise<void> {
    return this.#pumpDone;
  }

  /** Records queued or being sent (not counting an outlet's resends). */
  get pendingRecords(): number {
    return this.#queue.records + this.#inFlight.records;
  }

  /** Their size in bytes (the last few strings by their UTF-16 length). */
  get pendingSize(): number {
    return this.#queue.size + this.#inFlight.size;
  }

  /** Bytes queued and not yet taken for sending. */
  get queuedSize(): number {
    return this.#queue.size;
  }

  get droppedRecords(): number {
    return this.#droppedRecords;
  }

  get droppedSize(): number {
    return this.#droppedSize;
  }

  /** Queues `data`; see `ProxyFile.write()`. */
  write(data: string | Uint8Array): void {
    if (this.#error !== null) {
      this.#errorThrown = true;
      throw this.#error;
    }
    const path = this.#options.path;
    if (this.#closing) {
      throw new Deno.errors.BadResource(`Cannot write to "${path}": the file is closed`);
    }
    const max = this.#options.maxRecordBytes;
    if (typeof data !== "string") {
      if (!(data instanceof Uint8Array)) {
        throw new TypeError(
          `Cannot write to "${path}": data must be a string or Uint8Array`,
        );
      }
      if (max !== undefined && data.length > max) throw this.#tooLarge(data.length);
    } else if (max !== undefined && data.length > this.#safeUnits) {
      const bytes = new TextEncoder().encode(data).length;
      if (bytes > max) throw this.#tooLarge(bytes);
    }
    if (
      this.#queue.size + data.length > this.#options.maxPendingBytes &&
      !this.#makeRoom(data.length)
    ) {
      return;
    }
    this.#queue.push(data);
    this.delivery.recordWritten();
    if (!this.#pumping) this.start();
  }

  /** Waits until everything written so far is done; see `ProxyFile.flush()`. */
  flush(): Promise<void> {
    if (this.#error !== null) {
      this.#errorThrown = true;
      return Promise.reject(this.#error);
    }
    return this.delivery.wait().catch((error: Error) => {
      if (error === this.#error) this.#errorThrown = true;
      throw error;
    });
  }

  /**
   * Sends a control frame after the batches already taken, before the next one.
   *
   * @param bytes The frame.
   */
  sendControl(bytes: Uint8Array): void {
    this.#controls.push(bytes);
    this.start();
  }

  /** Drops control frames not sent yet (their connection is gone). */
  dropControls(): void {
    this.#controls = [];
  }

  /** Starts a pump run unless one is running (e.g. after a reconnect). */
  start(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    this.#pumpDone = this.#run();
  }

  /** Ends the writer with `error`: every flush() and later write() throws it. */
  fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    this.delivery.fail(error);
  }

  /**
   * Closes in a fixed order: no more writes, wait for what was written, `finish`
   * (half-close and wait for the goodbye), then `release` and the pump's end.
   *
   * @throws The error of the writer or of finishing, unless already thrown to the
   * caller.
   */
  async close(
    finish: () => Promise<void>,
    release: () => Promise<void>,
  ): Promise<void> {
    this.#closing = true;
    let failure: Error | null = null;
    try {
      if (this.#error === null) await this.delivery.wait();
      if (this.#error === null) await finish();
    } catch (error) {
      failure = error as Error;
    } finally {
      this.delivery.stop();
      await release();
      await this.#pumpDone;
    }
    const error = failure ?? this.#error;
    if (error !== null && !(error === this.#error && this.#errorThrown)) {
      this.#errorThrown = true;
      throw error;
    }
  }

  #makeRoom(size: number): boolean {
    const { maxPendingBytes, overflow, path } = this.#options;
    if (overflow === "error") {
      throw new QueueFullError(
        `Cannot write to "${path}": ${this.#queue.size} bytes are queued and ` +
          `maxPendingBytes is ${maxPendingBytes}`,
        { pendingSize: this.#queue.size, maxPendingBytes },
      );
    }
    if (overflow === "drop-oldest" && size <= maxPendingBytes) {
      while (this.#queue.size + size > maxPendingBytes && this.#queue.records > 0) {
        this.#dropped(1, this.#queue.shift());
        this.delivery.recordDropped(1);
      }
      return true;
    }
    this.#dropped(1, size);
    return false;
  }

  #dropped(records: number, size: number): void {
    this.#droppedRecords += records;
    this.#droppedSize += size;
    this.#options.onDrop?.(records, size);
  }

  async #run(): Promise<void> {
    await null; // let the rest of this turn's writes join the first batch
    const outlet = this.#outlet;
    outlet.begin();
    let header: number | null = null;
    try {
      for (;;) {
        if (this.#error !== null) break;
        header = outlet.headerBytes();
        if (header === null) break;
        const control = this.#controls.shift();
        if (control !== undefined) {
          await outlet.sendControl(control);
          continue;
        }
        let batch = outlet.resend(header);
        if (batch === null) {
          if (this.#queue.records === 0) break;
          const taken = this.#queue.take(this.#options.batchUnits, header);
          const end = this.delivery.recordTaken(
            taken.records,
            taken.bytes.length - header,
          );
          batch = { bytes: taken.bytes, records: taken.records, end };
          outlet.taken(batch, header);
        }
        this.#inFlight = { records: batch.records, size: batch.bytes.length - header };
        await outlet.send(batch, header);
        this.#inFlight = { records: 0, size: 0 };
        this.delivery.recordHanded(batch.end);
      }
    } catch (cause) {
      // A batch kept for resending is not lost; one that is not stays counted as pending.
      if (header !== null && outlet.keepsFailed(header)) {
        this.#inFlight = { records: 0, size: 0 };
      }
      await outlet.sendFailed(cause);
    } finally {
      this.#pumping = false;
    }
    await outlet.stopped();
  }

  #tooLarge(bytes: number): RangeError {
    return new RangeError(
      `Cannot write to "${this.#options.path}": a record of ${bytes} bytes is larger ` +
        `than the maximum of ${this.#options.maxRecordBytes} bytes`,
    );
  }
}
