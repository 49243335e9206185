// A client's sync requests (durable flush). Requests that arrive while one waits are
// merged into it: the answer `SYNCED <n>` for the latest position covers every earlier
// request, so a client that sends sync requests in a loop costs one pending request and
// one fdatasync at a time, never a queue that grows.

/** What a sync queue syncs: the client's file. */
export interface Syncable {
  /** Syncs the file past everything written so far. */
  sync(): Promise<void>;
}

/** What a sync queue needs from its session. */
export interface SyncHost {
  /** Bytes of this client written to the file so far. */
  written(): number;
  /** Whether the client failed: pending requests are dropped. */
  failed(): boolean;
  /** The client's file. */
  file(): Syncable | null;
  /** The file is synced past `position`: answer `SYNCED <position>`. */
  synced(position: number): void;
  /** The sync failed. */
  syncFailed(error: unknown): void;
}

/** Sync requests of one client, answered in order, merged while they wait. */
export class SyncQueue {
  #host: SyncHost;
  /** The latest position asked for and not yet being synced; -1 for none. */
  #wanted = -1;
  #running: Promise<void> | null = null;
  #waiter: { position: number; resolve: () => void } | null = null;

  constructor(host: SyncHost) {
    this.#host = host;
  }

  /** Resolves once every request so far is answered (or dropped). */
  get idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** A sync request at `position` (bytes of this client received before it). */
  request(position: number): void {
    if (position > this.#wanted) this.#wanted = position;
    this.#running ??= this.#run();
  }

  /** More was written, or the client failed: let the waiting request go on. */
  wake(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    if (!this.#host.failed() && waiter.position > this.#host.written()) return;
    this.#waiter = null;
    waiter.resolve();
  }

  async #run(): Promise<void> {
    const host = this.#host;
    while (this.#wanted >= 0 && !host.failed()) {
      const position = this.#wanted;
      this.#wanted = -1;
      if (host.written() < position) {
        await new Promise<void>((resolve) => {
          this.#waiter = { position, resolve };
          this.wake();
        });
      }
      const file = host.file();
      if (host.failed() || file === null) break;
      try {
        await file.sync();
      } catch (error) {
        host.syncFailed(error);
        break;
      }
      if (!host.failed()) host.synced(position);
    }
    this.#running = null;
  }
}
