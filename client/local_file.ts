/**
 * {@linkcode LocalFile}: appends to a file directly, without a server, and still
 * without waiting: writes are queued and a pump appends them with async writes.
 *
 * @module
 */

import { FileTransport } from "./transports/local_file.ts";
import { checkOpen, writerOptions } from "./writer/options.ts";
import { Writer } from "./writer/writer.ts";
import type { FlushOptions, ProxyFileOptions } from "./proxy_file.ts";

/** Milliseconds a flush() may wait without the disk taking anything, by default. */
const DEFAULT_DISK_TIMEOUT = 30_000;

/**
 * Options of {@linkcode LocalFile.open}: the queue bound as `ProxyFile.open` takes it,
 * and the flush timeout.
 *
 * @example
 * ```ts
 * import type { LocalFileOptions } from "@offlog/offlog";
 * const options: LocalFileOptions = { maxPendingBytes: 1 << 20, overflow: "drop-oldest" };
 * ```
 */
export interface LocalFileOptions
  extends Pick<ProxyFileOptions, "maxPendingBytes" | "overflow" | "onDrop"> {
  /**
   * Milliseconds a `flush()` may wait without the disk taking anything.
   * @default {30000}
   */
  timeout?: number;
}

/**
 * A file opened for appending by this process, with the same non-blocking `write()`
 * as {@linkcode ProxyFile}, built on the same writer. It is what `Logger` uses with
 * `localFile: true`.
 *
 * @example
 * ```ts
 * import { LocalFile } from "@offlog/offlog";
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
  #writer: Writer<FileTransport>;

  private constructor(path: string, writer: Writer<FileTransport>) {
    this.path = path;
    this.#writer = writer;
  }

  /**
   * Opens `path` for appending, creating it if needed.
   *
   * @param path The file.
   * @param options Queue bound and flush timeout.
   * @returns The open file.
   * @throws What `Deno.open` throws, e.g. `Deno.errors.NotFound`.
   * @throws {TypeError} The path is not a non-empty string, or holds NUL.
   * @throws {RangeError} `timeout`, `maxPendingBytes` or `overflow` is out of range.
   *
   * @example
   * ```ts
   * import { LocalFile } from "@offlog/offlog";
   * const path = await Deno.makeTempFile();
   * const file = await LocalFile.open(path);
   * await file.close();
   * await Deno.remove(path);
   * ```
   */
  static async open(path: string, options: LocalFileOptions = {}): Promise<LocalFile> {
    const { timeout } = checkOpen(path, options, DEFAULT_DISK_TIMEOUT);
    const handle = await Deno.open(path, { append: true, create: true });
    const settings = writerOptions(
      path,
      timeout,
      options,
      (pending) =>
        new Deno.errors.TimedOut(
          `Timed out after ${timeout} ms waiting for the disk to take "${path}": ` +
            `${pending} bytes not written`,
        ),
    );
    // No record limit: nothing on the way cuts a record.
    settings.maxRecordBytes = Number.POSITIVE_INFINITY;
    const writer = new Writer(settings, (events) => new FileTransport(handle, events));
    // Exit handling starts with the first open file, never in a constructor.
    writer.register();
    return new LocalFile(path, writer);
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
   * import type { LocalFile } from "@offlog/offlog";
   * function note(file: LocalFile): void {
   *   file.write("one line\n");
   * }
   * ```
   */
  write(data: string | Uint8Array): void {
    this.#writer.write(data);
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
   * import type { LocalFile } from "@offlog/offlog";
   * async function checkpoint(file: LocalFile): Promise<void> {
   *   file.write("now\n");
   *   await file.flush({ durable: true });
   * }
   * ```
   */
  flush(options: FlushOptions = {}): Promise<void> {
    return this.#writer.flush(options.durable ?? false);
  }

  /**
   * Writes what is queued and closes the file. Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed.
   *
   * @example
   * ```ts
   * import type { LocalFile } from "@offlog/offlog";
   * async function finish(file: LocalFile): Promise<void> {
   *   file.write("last\n");
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
   * @returns The promise of {@linkcode LocalFile.close}.
   *
   * @example
   * ```ts
   * import { LocalFile } from "@offlog/offlog";
   * async function once(path: string): Promise<void> {
   *   await using file = await LocalFile.open(path);
   *   file.write("closed at the end of the block\n");
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Records written but not yet in the file. */
  get pendingRecords(): number {
    return this.#writer.pendingRecords;
  }

  /** Size of what is not yet in the file, in bytes (see `ProxyFile.pendingSize`). */
  get pendingSize(): number {
    return this.#writer.pendingSize;
  }

  /** Records dropped by the queue bound. */
  get droppedRecords(): number {
    return this.#writer.droppedRecords;
  }

  /** Their size. */
  get droppedSize(): number {
    return this.#writer.droppedSize;
  }
}
