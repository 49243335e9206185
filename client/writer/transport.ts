// The plug between a Writer and where its bytes go: an offlog server's socket
// (transports/socket.ts) or a local file (transports/local_file.ts). The writer owns
// the queue, the one send in flight, the accounting and close; a transport only moves
// bytes and says what became of them. It holds nothing of the writer but the two
// callbacks of TransportEvents, given when it is made.

import type { Taken } from "./queue.ts";

/** What a transport tells its writer. Given to the transport's factory. */
export interface TransportEvents {
  /** `bytes` more payload bytes, in the order sent, are confirmed in the file. */
  confirmed(bytes: number): void;
  /** The way to the file is lost for good: every later write and flush fails. */
  lost(error: Error): void;
}

/** How a writer's batches leave. */
export interface Transport {
  /** Payload bytes per batch at most (a larger record goes alone). */
  readonly batchBytes: number;
  /**
   * Sends one batch: its `bytes` are `HEADER_ROOM` free bytes, then the payload, whole
   * records whose ends it lists. Resolves once the transport is done with the batch
   * (the writer reuses it), rejects if it cannot send (the writer then fails with that
   * error, unless `lost` came first).
   */
  send(batch: Taken): Promise<void>;
  /** Syncs to disk everything confirmed so far (`fdatasync`). */
  sync(): Promise<void>;
  /**
   * Ends the transport. `clean`: everything written is confirmed, so end as the far
   * side expects (a socket half-closes and waits for the server's goodbye), which may
   * reject. Then, in any case, release the connection or the file for good.
   */
  close(clean: boolean): Promise<void>;
}

/** Makes a writer's transport, given the writer's events. */
export type TransportFactory<T extends Transport> = (events: TransportEvents) => T;
