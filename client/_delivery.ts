// What a ProxyFile has written, sent and had acknowledged, across reconnections, and
// the flush() calls waiting on it.

interface Waiter {
  /** Records written before the flush() call. */
  seq: number;
  /** Payload bytes that must be written (or handed over), once known; -1 before. */
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** What the counters need from their ProxyFile. */
export interface DeliveryHooks {
  /** Keep the process alive while a flush() waits. */
  hold(): void;
  /** Let it end again. */
  release(): void;
  /** The error for a flush() that saw no progress for the timeout. */
  timedOut(): Error;
}

/** Counts records and payload bytes on their way to the file, and resolves flush()es. */
export class Delivery {
  /** Records written. */
  written = 0;
  /** Records taken for sending, or dropped. */
  done = 0;
  /** Payload bytes taken for sending. */
  sent = 0;
  /** Payload bytes in the socket. */
  handed = 0;
  /** Payload bytes the server acknowledged. */
  acked = 0;
  /** Whether the server acknowledges (offlog/1); a 0.x server does not. */
  acknowledged = true;
  #waiters: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timeout: number;
  #hooks: DeliveryHooks;

  constructor(timeout: number, hooks: DeliveryHooks) {
    this.#timeout = timeout;
    this.#hooks = hooks;
  }

  /** Whether a flush() is waiting. */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /**
   * Resolves once every record written so far is written by the server (or, without
   * acknowledgements, in the socket); rejects after `timeout` ms without progress.
   */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { seq: this.written, target: -1, resolve, reject };
      if (this.done >= waiter.seq) waiter.target = this.sent;
      if (!this.#settle(waiter)) {
        this.#waiters.push(waiter);
        this.#watch();
      }
    });
  }

  /** Call after the counters moved: resolves the waiters whose data got through. */
  progress(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target < 0 && this.done >= waiter.seq) waiter.target = this.sent;
      if (!this.#settle(waiter)) still.push(waiter);
    }
    this.#waiters = still;
    if (still.length === 0) this.stop();
    else this.#watch();
  }

  /** Rejects every waiter. */
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

  #settle(waiter: Waiter): boolean {
    if (waiter.target < 0) return false;
    if ((this.acknowledged ? this.acked : this.handed) < waiter.target) return false;
    waiter.resolve();
    return true;
  }

  /** Keeps the process alive and (re)arms the no-progress timeout while waiting. */
  #watch(): void {
    if (this.#timer === undefined) this.#hooks.hold();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.fail(this.#hooks.timedOut()), this.#timeout);
  }
}
