// A client's sync requests (durable flush): each waits until the client's records
// before it are written, then syncs the file and is answered, in order.

import type { SharedFile } from "./shared_file.ts";

/** What a sync queue needs from its session. */
export interface SyncHost {
  /** Bytes of this client written to the file so far. */
  written(): number;
  /** Whether the client failed: pending requests are dropped. */
  failed(): boolean;
  /** The client's file. */
  file(): SharedFile | null;
  /** The file is synced past `position`: answer `SYNCED <position>`. */
  synced(position: number): void;
  /** The sync failed. */
  syncFailed(error: unknown): void;
}

/** Sync requests of one client, answered in order. */
export class SyncQueue {
  #host: SyncHost;
  #waiters: { position: number; resolve: () => void }[] = [];
  #chain: Promise<void> = Promise.resolve();

  constructor(host: SyncHost) {
    this.#host = host;
  }

  /** Resolves once every request so far is answered (or dropped). */
  get idle(): Promise<void> {
    return this.#chain;
  }

  /** A sync request at `position` (bytes of this client received before it). */
  request(position: number): void {
    this.#chain = this.#chain.then(async () => {
      const host = this.#host;
      if (host.written() < position && !host.failed()) {
        await new Promise<void>((resolve) => {
          this.#waiters.push({ position, resolve });
          this.wake();
        });
      }
      const file = host.file();
      if (host.failed() || file === null) return;
      try {
        await file.sync();
      } catch (error) {
        host.syncFailed(error);
        return;
      }
      if (!host.failed()) host.synced(position);
    });
  }

  /** More was written, or the client failed: let the requests that can go on. */
  wake(): void {
    if (this.#waiters.length === 0) return;
    const written = this.#host.written();
    const failed = this.#host.failed();
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!failed && waiter.position > written) return true;
      waiter.resolve();
      return false;
    });
  }
}
