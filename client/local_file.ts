/**
 * {@linkcode LocalFile}: appends to a file directly, without a server, and still
 * without waiting: writes are queued and a pump appends them with async writes.
 *
 * @module
 */

import { type OutBatch, type Outlet, type OverflowPolicy, Pump } from "./_pump.ts";
import { register, unregister } from "./_registry.ts";
import type { FlushOptions } from "./record_file.ts";

/** Units per file write: large writes, few syscalls. */
const BATCH_UNITS = 256 * 1024;

/**
 * Options of {@linkcode LocalFile.open}.
 *
 * @example
 * ```ts
 * import type { LocalFileOptions } from "./local_file.ts";
 * const options: LocalFileOptions = { maxPendingBytes: 1 << 20, overflow: "drop-oldest" };
 * ```
 */
export interface LocalFileOptions {
  /**
   * Most bytes the queue may hold (a string written counts by its UTF-16 length).
   * @default {Infinity}
   */
  maxPendingBytes?: number;
  /**
   * What to do when a write would pass `maxPendingBytes`, as for `ProxyFile`.
   * @default {"drop-newest"}
   */
  overflow?: OverflowPolicy;
  /** Called for each record the queue bound drops, with its size. */
  onDrop?: (records: number, size: number) => void;
  /**
   * Milliseconds a `flush()` may wait without the disk taking anything.
   * @default {30000}
   */
  timeout?: number;
}

/**
 * A file opened for appending by this process, with the same non-blocking `write()`
 * as {@linkcode ProxyFile}, built on the same pump. It is what `Logger` uses with
 * `localFile: true`.
 *
 * @example
 * ```ts
 * import { LocalFile } from "./local_file.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await using file = await LocalFile.open(path);
 * file.write("hello\n");
 * await file.flush();
 * assert.equal(await Deno.readTextFile(path), "hello\n");
 * await Deno.remove(path);
 * ```
 */
export class LocalFile implements AsyncDisposable {
  /** The path the file was opened at. */
  readonly path: string;
  #file: Deno.FsFile;
  #pump: Pump;
  #closing: Promise<void> | null = null;

  private constructor(path: string, file: Deno.FsFile, options: LocalFileOptions) {
    this.path = path;
    this.#file = file;
    const timeout = options.timeout ?? 30_000;
    this.#pump = new Pump({
      path,
      timeout,
      batchUnits: BATCH_UNITS,
      maxPendingBytes: options.maxPendingBytes ?? Number.POSITIVE_INFINITY,
      overflow: options.overflow ?? "drop-newest",
      onDrop: options.onDrop,
      timedOut: (pending) =>
        new Deno.errors.TimedOut(
          `Timed out after ${timeout} ms waiting for the disk to take "${path}": ` +
            `${pending} bytes not written`,
        ),
    }, this.#outlet());
    // A local file's "done" is "in the file": there are no acknowledgements.
    this.#pump.delivery.useAcknowledgements(false);
  }

  /**
   * Opens `path` for appending, creating it if needed.
   *
   * @param path The file.
   * @param options Queue bound and flush timeout.
   * @returns The open file.
   * @throws What `Deno.open` throws, e.g. `Deno.errors.NotFound`.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * const path = await Deno.makeTempFile();
   * const file = await LocalFile.open(path);
   * await file.close();
   * await Deno.remove(path);
   * ```
   */
  static async open(path: string, options: LocalFileOptions = {}): Promise<LocalFile> {
    const handle = await Deno.open(path, { append: true, create: true });
    const file = new LocalFile(path, handle, options);
    // Exit handling starts with the first open file, never in a constructor.
    register(file);
    return file;
  }

  /**
   * Queues `data` for appending and returns at once.
   *
   * @param data A string (written as UTF-8) or bytes; do not change bytes afterwards.
   * @throws The error of an earlier append that failed.
   * @throws {Deno.errors.BadResource} The file was closed.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await using file = await LocalFile.open(path);
   * file.write("one line\n");
   * await file.flush();
   * assert.equal(await Deno.readTextFile(path), "one line\n");
   * ```
   */
  write(data: string | Uint8Array): void {
    this.#pump.write(data);
  }

  /**
   * Waits until everything written before the call is in the file (not for what is
   * written after it: a program that writes faster than the disk takes still gets its
   * flush() resolved).
   *
   * @param options `durable`: also sync the file to disk (`fdatasync`) after.
   * @returns A promise that resolves once those records are written (or synced).
   * @throws The error of an append that failed.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await using file = await LocalFile.open(path);
   * file.write("now\n");
   * await file.flush();
   * assert.equal(await Deno.readTextFile(path), "now\n");
   * ```
   */
  flush(options: FlushOptions = {}): Promise<void> {
    const flushed = this.#pump.flush();
    return options.durable ? flushed.then(() => this.#file.syncData()) : flushed;
  }

  /**
   * Writes what is queued and closes the file. Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * const file = await LocalFile.open(path);
   * file.write("last\n");
   * await file.close();
   * assert.equal(await Deno.readTextFile(path), "last\n");
   * ```
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  /**
   * Closes the file, for `await using`.
   *
   * @returns The promise of {@linkcode LocalFile.close}.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * const path = await Deno.makeTempFile();
   * await using file = await LocalFile.open(path);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Records written but not yet in the file. */
  get pendingRecords(): number {
    return this.#pump.pendingRecords;
  }

  /** Size of what is not yet in the file, in bytes (see `ProxyFile.pendingSize`). */
  get pendingSize(): number {
    return this.#pump.pendingSize;
  }

  /** Records dropped by the queue bound. */
  get droppedRecords(): number {
    return this.#pump.droppedRecords;
  }

  /** Their size. */
  get droppedSize(): number {
    return this.#pump.droppedSize;
  }

  /** Batches go straight into the file. */
  #outlet(): Outlet {
    const noop = () => {};
    return {
      begin: noop,
      headerBytes: () => 0,
      resend: () => null,
      taken: noop,
      send: async (batch: OutBatch) => {
        for (let offset = 0; offset < batch.bytes.length;) {
          offset += await this.#file.write(batch.bytes.subarray(offset));
        }
      },
      keepsFailed: () => false,
      sendControl: () => Promise.resolve(),
      sendFailed: (cause: unknown) => {
        this.#pump.fail(cause instanceof Error ? cause : new Error(String(cause)));
        return Promise.resolve();
      },
      stopped: () => Promise.resolve(),
      hold: noop,
      release: noop,
    };
  }

  async #close(): Promise<void> {
    unregister(this);
    await this.#pump.close(() => Promise.resolve(), () => {
      this.#file.close();
      return Promise.resolve();
    });
  }
}
