// What a writer has written, taken, handed over and had acknowledged, across
// reconnections, and the flush() calls waiting on it. Callers say what happened;
// Delivery updates its own counters and settles its own waiters.

interface Waiter {
  /** Records written before the flush() call. */
  seq: number;
  /** Payload bytes that must be written (or handed over), once known; -1 before. */
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** What the counters need from their writer. */
export interface DeliveryHooks {
  /** Keep the process alive while a flush() waits. */
  hold(): void;
  /** Let it end again. */
  release(): void;
  /** The error for a flush() that saw no progress for the timeout. */
  timedOut(): Error;
}

/**
 * Counts records and payload bytes on their way to the file, and resolves each
 * flush() once everything written before it is done: acknowledged by the server when
 * it acknowledges, else handed over (to the socket or the file).
 */
export class Delivery {
  /** Records written. */
  #written = 0;
  /** Records taken for sending, or dropped. */
  #done = 0;
  /** Payload bytes taken for sending. */
  #sent = 0;
  /** Payload bytes handed over (in the socket, or in the file). */
  #handed = 0;
  /** Payload bytes the server acknowledged. */
  #acked = 0;
  #acknowledged = true;
  #waiters: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timeout: number;
  #hooks: DeliveryHooks;

  constructor(timeout: number, hooks: DeliveryHooks) {
    this.#timeout = timeout;
    this.#hooks = hooks;
  }

  /** Payload bytes taken for sending so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Payload bytes acknowledged so far. */
  get acked(): number {
    return this.#acked;
  }

  /** Whether a flush() is waiting. */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /**
   * Sets whether "done" means acknowledged (offlog/1) or handed over (0.x, a local
   * file).
   */
  useAcknowledgements(on: boolean): void {
    this.#acknowledged = on;
    this.#progress();
  }

  /** A record was written (queued). */
  recordWritten(): void {
    this.#written++;
  }

  /** Records were dropped from the queue: they will never be sent. */
  recordDropped(records: number): void {
    this.#done += records;
    this.#progress();
  }

  /**
   * A batch was taken from the queue for sending.
   *
   * @returns The payload position at its end, which its acknowledgement reaches.
   */
  recordTaken(records: number, bytes: number): number {
    this.#done += records;
    this.#sent += bytes;
    return this.#sent;
  }

  /** Everything up to payload position `end` is handed over. */
  recordHanded(end: number): void {
    if (end > this.#handed) this.#handed = end;
    this.#progress();
  }

  /**
   * The server acknowledged payload up to position `total`.
   *
   * @returns Whether that is news.
   */
  recordAcked(total: number): boolean {
    if (total <= this.#acked) return false;
    this.#acked = total;
    this.#progress();
    return true;
  }

  /**
   * Waits until everything written so far is done.
   *
   * @returns A promise that resolves then, or rejects on failure or timeout.
   */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { seq: this.#written, target: -1, resolve, reject };
      if (this.#done >= waiter.seq) waiter.target = this.#sent;
      if (!this.#settle(waiter)) {
        this.#waiters.push(waiter);
        this.#watch();
      }
    });
  }

  /** Rejects every waiting flush() with `error`. */
  fail(error: Error): void {
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters = [];
    this.stop();
  }

  /** Stops the no-progress timer. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#hooks.release();
  }

  #progress(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target < 0 && this.#done >= waiter.seq) waiter.target = this.#sent;
      if (!this.#settle(waiter)) still.push(waiter);
    }
    this.#waiters = still;
    if (still.length === 0) this.stop();
    else this.#watch();
  }

  #settle(waiter: Waiter): boolean {
    if (waiter.target < 0) return false;
    if ((this.#acknowledged ? this.#acked : this.#handed) < waiter.target) return false;
    waiter.resolve();
    return true;
  }

  #watch(): void {
    if (this.#timer === undefined) this.#hooks.hold();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.fail(this.#hooks.timedOut()), this.#timeout);
  }
}
