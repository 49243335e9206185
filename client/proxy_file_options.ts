/**
 * {@linkcode ProxyFileOptions}: how `ProxyFile.open()` connects and queues.
 *
 * @module
 */

import type { OverflowPolicy } from "./writer/writer.ts";

/**
 * A callback for `flush()`, as pino passes one: called with `null` or the error.
 *
 * @example
 * ```ts
 * import type { FlushCallback } from "@offlog/offlog";
 * const done: FlushCallback = (error) => { if (error) console.error(error); };
 * ```
 */
export type FlushCallback = (error: Error | null) => void;

/**
 * Options of `ProxyFile.open()`.
 *
 * @example
 * ```ts
 * import type { ProxyFileOptions } from "@offlog/offlog";
 * const options: ProxyFileOptions = { socketPath: "/run/offlog.sock", reconnect: true };
 * ```
 */
export interface ProxyFileOptions {
  /**
   * The server's socket.
   * @default {"/tmp/offlog.sock"}
   */
  socketPath?: string;
  /**
   * Milliseconds to wait for the server to open the file, and without progress while
   * flushing or closing.
   * @default {5000}
   */
  timeout?: number;
  /**
   * Most bytes the queue may hold (a string written counts by its UTF-16 length, its
   * size in bytes for ASCII); unbounded by default, as
   * in the Python offlog.
   * @default {Infinity}
   */
  maxPendingBytes?: number;
  /**
   * What to do when a write would pass `maxPendingBytes`.
   * @default {"drop-newest"}
   */
  overflow?: OverflowPolicy;
  /**
   * Keep queuing while the server is gone, reconnect with backoff, and resend what the
   * server had not acknowledged (offlog/1 only). Without it, losing the server is an
   * error thrown from the next `write()`.
   * @default {false}
   */
  reconnect?: boolean;
  /** Called when the server says the file was moved or deleted and reopened. */
  onRotated?: () => void;
  /**
   * Called for each record the queue bound drops (`overflow` "drop-newest" or
   * "drop-oldest"), with its size.
   */
  onDrop?: (records: number, size: number) => void;
}
