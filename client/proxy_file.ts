/**
 * {@linkcode ProxyFile}: appends to a file through an offlog server without ever
 * waiting for the disk.
 *
 * @module
 */

import {
  DEFAULT_SOCKET_PATH,
  DEFAULT_TIMEOUT_MS,
  type ProtocolVersion,
} from "../protocol/mod.ts";
import { handshake } from "./transports/handshake.ts";
import { SocketTransport } from "./transports/socket.ts";
import { checkOpen, writerOptions } from "./writer/options.ts";
import { type OverflowPolicy, Writer } from "./writer/writer.ts";

export type { OverflowPolicy } from "./writer/writer.ts";

/**
 * Options of `flush()`.
 *
 * @example
 * ```ts
 * import type { FlushOptions } from "@offlog/offlog";
 * const options: FlushOptions = { durable: true };
 * ```
 */
export interface FlushOptions {
  /**
   * Resolve only once the file is synced to disk (`fdatasync`) past everything
   * written before the call, not only written.
   * @default {false}
   */
  durable?: boolean;
}

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
   * size in bytes for ASCII); unbounded by default, as in the Python offlog.
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

/**
 * A file opened for appending by an offlog server on this client's behalf.
 *
 * `open()` resolves once the server has opened the file. `write()` then returns at
 * once: the data joins a queue that one pump drains into the socket in large
 * batches. Each `write()` is a record that lands whole in the file, however many
 * clients write to it. Errors from the server are thrown by the next `write()`,
 * `flush()` or `close()`.
 *
 * The queue keeps each string or byte array as written until the turn's writes are
 * done, and a deep queue keeps them until sent. So do not change a `Uint8Array` after
 * passing it to `write()`.
 *
 * @example
 * ```ts
 * import { ProxyFile } from "@offlog/offlog";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 * await using file = await ProxyFile.open(`${dir}/app.log`, { socketPath });
 * file.write("hello\n");
 * await file.flush();
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "hello\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ProxyFile implements AsyncDisposable {
  /** The absolute path of the file. */
  readonly path: string;
  /** The server's socket. */
  readonly socketPath: string;

  #writer: Writer<SocketTransport>;

  private constructor(path: string, socketPath: string, writer: Writer<SocketTransport>) {
    this.path = path;
    this.socketPath = socketPath;
    this.#writer = writer;
  }

  /**
   * Asks the server to open `path` for appending and waits for its answer.
   *
   * @param path The file; a relative path is resolved against the working directory.
   * @param options The socket path, the timeout, queue bounds and reconnection.
   * @returns The open file.
   * @throws {Deno.errors.PermissionDenied} The server may not write the file (also
   * `NotFound`, `IsADirectory`, ... as the server reports; the server's own error is
   * the `cause`).
   * @throws {OfflogServerError} The server refused with no closer Deno error.
   * @throws {OfflogConnectionError} No server answers on the socket.
   * @throws {Deno.errors.TimedOut} The server did not answer within `timeout`.
   *
   * @example
   * ```ts
   * import { ProxyFile } from "@offlog/offlog";
   * import { serve } from "@offlog/server";
   * import assert from "node:assert/strict";
   * const dir = await Deno.makeTempDir();
   * const socketPath = `${dir}/offlog.sock`;
   * await using server = await serve({ socketPath, quiet: true });
   * const file = await ProxyFile.open(`${dir}/app.log`, { socketPath });
   * assert.equal(file.path, `${dir}/app.log`);
   * await file.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(path: string, options: ProxyFileOptions = {}): Promise<ProxyFile> {
    const checked = checkOpen(path, options, DEFAULT_TIMEOUT_MS);
    const { timeout } = checked;
    const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    const absolute = checked.path;
    const opened = await handshake(socketPath, absolute, timeout);
    const settings = writerOptions(
      absolute,
      timeout,
      options,
      (pending) =>
        new Deno.errors.TimedOut(
          `Timed out after ${timeout} ms waiting for the offlog server at ` +
            `"${socketPath}" to write "${absolute}": ${pending} bytes not confirmed`,
        ),
    );
    const writer = new Writer(settings, (events) =>
      new SocketTransport(opened, {
        socketPath,
        path: absolute,
        timeout,
        reconnect: options.reconnect ?? false,
        onRotated: options.onRotated,
      }, events));
    // Exit handling starts with the first open file, never in a constructor.
    writer.register();
    return new ProxyFile(absolute, socketPath, writer);
  }

  /**
   * Queues `data` for appending and returns at once; it never waits.
   *
   * @param data The record: a string (sent as UTF-8) or bytes.
   * @throws The error the server reported, or {@linkcode OfflogConnectionError}.
   * @throws {Deno.errors.BadResource} The file was closed.
   * @throws {RangeError} The record is larger than the maximum record size (16 MiB).
   * @throws {QueueFullError} The queue is full and `overflow` is `"error"`.
   *
   * @example
   * ```ts
   * import type { ProxyFile } from "@offlog/offlog";
   * function greet(file: ProxyFile): void {
   *   file.write("one line\n");
   *   file.write(new Uint8Array([0x6f, 0x6b, 0x0a]));
   * }
   * ```
   */
  write(data: string | Uint8Array): void {
    this.#writer.write(data);
  }

  /**
   * Waits until the server has written to the file everything written before this
   * call. Against a 0.x server, which does not acknowledge, it waits until the data
   * is in the socket. Fails if nothing progresses for `timeout` ms.
   *
   * With `{ durable: true }` it then asks the server to sync the file to disk
   * (`fdatasync`) and waits for its answer: the records are on disk, not only in the
   * page cache. A 0.x server cannot: then it rejects rather than pretend.
   *
   * @param options `durable`: wait until the data is synced to disk. A function
   * instead (as pino's `logger.flush(callback)` passes) is called with `null` or the
   * error once the flush is done.
   * @returns A promise that resolves once the data is written (or synced).
   * @throws The error the server reported, or {@linkcode OfflogConnectionError}.
   * @throws {Deno.errors.TimedOut} No progress for `timeout` ms.
   *
   * @example
   * ```ts
   * import type { ProxyFile } from "@offlog/offlog";
   * async function checkpoint(file: ProxyFile): Promise<void> {
   *   file.write("important\n");
   *   await file.flush(); // written by the server
   *   await file.flush({ durable: true }); // and synced to disk
   * }
   * ```
   */
  flush(options: FlushOptions | FlushCallback = {}): Promise<void> {
    if (typeof options === "function") {
      // pino's destination contract: flush(callback).
      const callback = options;
      const flushed = this.#writer.flush();
      flushed.then(() => callback(null), (error: Error) => callback(error));
      return flushed.catch(() => {});
    }
    return this.#writer.flush(options.durable ?? false);
  }

  /**
   * Sends what is queued, tells the server that this client is done, and waits for
   * its goodbye, within `timeout` ms without progress. Safe to call twice.
   *
   * @returns A promise that resolves once the server has written everything.
   * @throws The error the server reported, if no `write()` or `flush()` threw it yet.
   * @throws {Deno.errors.TimedOut} The server did not finish within the timeout.
   *
   * @example
   * ```ts
   * import type { ProxyFile } from "@offlog/offlog";
   * async function finish(file: ProxyFile): Promise<void> {
   *   file.write("last words\n");
   *   await file.close();
   * }
   * ```
   */
  close(): Promise<void> {
    return this.#writer.close();
  }

  /**
   * Closes the file, for `await using`.
   *
   * @returns The promise of {@linkcode ProxyFile.close}.
   *
   * @example
   * ```ts
   * import { ProxyFile } from "@offlog/offlog";
   * async function once(path: string): Promise<void> {
   *   await using file = await ProxyFile.open(path);
   *   file.write("closed at the end of the block\n");
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * A stream whose chunks are written with {@linkcode ProxyFile.write}; closing or
   * aborting it closes the file (pass `preventClose: true` to `pipeTo` to keep it open).
   *
   * @example
   * ```ts
   * import type { ProxyFile } from "@offlog/offlog";
   * async function copy(lines: string[], file: ProxyFile): Promise<void> {
   *   await ReadableStream.from(lines).pipeTo(file.writable); // closes the file
   * }
   * ```
   */
  get writable(): WritableStream<string | Uint8Array> {
    return new WritableStream<string | Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
  }

  /** The protocol spoken: `"offlog/2"`; `"offlog/1"` or `"0.x"` with an older server. */
  get protocol(): ProtocolVersion {
    return this.#writer.transport.version;
  }

  /** Whether a connection to the server is up (false while reconnecting). */
  get connected(): boolean {
    return this.#writer.transport.state === "connected";
  }

  /** Records written but not yet in the socket (queued, or being sent or resent). */
  get pendingRecords(): number {
    return this.#writer.pendingRecords;
  }

  /** Their size, in bytes (a string by its UTF-16 length: the same for ASCII). */
  get pendingSize(): number {
    return this.#writer.pendingSize;
  }

  /** Records dropped so far because the queue was full. */
  get droppedRecords(): number {
    return this.#writer.droppedRecords;
  }

  /** Size of the records dropped so far (bytes; a string by its UTF-16 length). */
  get droppedSize(): number {
    return this.#writer.droppedSize;
  }
}
