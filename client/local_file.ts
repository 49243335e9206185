/**
 * {@linkcode LocalFile}: appends to a file directly, without a server, and still
 * without waiting: writes are queued and a pump appends them with async writes.
 *
 * @module
 */

import { PendingBytes } from "./pending_bytes.ts";
import { register, unregister } from "./_registry.ts";

/** Units per file write: large writes, few syscalls. */
const BATCH_UNITS = 256 * 1024;

/**
 * A file opened for appending by this process, with the same non-blocking `write()`
 * as {@linkcode ProxyFile}. It is what `Logger` uses with `localFile: true`, and what
 * the server uses for its own log file.
 *
 * @example
 * ```ts
 * import { LocalFile } from "./local_file.ts";
 * const path = await Deno.makeTempFile();
 * await using file = await LocalFile.open(path);
 * file.write("hello\n");
 * await file.flush();
 * console.log(await Deno.readTextFile(path)); // "hello\n"
 * await Deno.remove(path);
 * ```
 */
export class LocalFile implements AsyncDisposable {
  /** The path the file was opened at. */
  readonly path: string;
  #file: Deno.FsFile;
  #queue = new PendingBytes();
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #error: Error | null = null;
  /** The batch being written: taken from the queue, not yet in the file. */
  #inFlight = { records: 0, size: 0 };
  #closing: Promise<void> | null = null;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
    register(this);
  }

  /**
   * Opens `path` for appending, creating it if needed.
   *
   * @param path The file.
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
  static async open(path: string): Promise<LocalFile> {
    return new LocalFile(path, await Deno.open(path, { append: true, create: true }));
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
   * const path = await Deno.makeTempFile();
   * await using file = await LocalFile.open(path);
   * file.write("one line\n");
   * ```
   */
  write(data: string | Uint8Array): void {
    if (this.#error !== null) throw this.#error;
    if (this.#closing !== null) {
      throw new Deno.errors.BadResource(
        `Cannot write to "${this.path}": the file is closed`,
      );
    }
    this.#queue.push(data);
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pumpDone = this.#pump();
    }
  }

  /**
   * Waits until everything written so far is in the file.
   *
   * @returns A promise that resolves once the queue is written.
   * @throws The error of an append that failed.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * const path = await Deno.makeTempFile();
   * await using file = await LocalFile.open(path);
   * file.write("now\n");
   * await file.flush();
   * ```
   */
  async flush(): Promise<void> {
    while (this.#pumping) await this.#pumpDone;
    if (this.#error !== null) throw this.#error;
  }

  /**
   * Writes what is queued and closes the file. Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed.
   *
   * @example
   * ```ts
   * import { LocalFile } from "./local_file.ts";
   * const path = await Deno.makeTempFile();
   * const file = await LocalFile.open(path);
   * file.write("last\n");
   * await file.close();
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
    return this.#queue.records + this.#inFlight.records;
  }

  /** Size of what is not yet in the file: bytes, or UTF-16 units for strings. */
  get pendingSize(): number {
    return this.#queue.size + this.#inFlight.size;
  }

  async #pump(): Promise<void> {
    await null; // let the rest of this turn's writes join the first batch
    try {
      while (this.#queue.records > 0) {
        const size = this.#queue.size;
        const { bytes, records } = this.#queue.take(BATCH_UNITS, 0);
        this.#inFlight = { records, size: size - this.#queue.size };
        for (let offset = 0; offset < bytes.length;) {
          offset += await this.#file.write(bytes.subarray(offset));
        }
        this.#inFlight = { records: 0, size: 0 };
      }
    } catch (error) {
      this.#error = error as Error;
    } finally {
      this.#pumping = false;
    }
  }

  async #close(): Promise<void> {
    unregister(this);
    try {
      await this.flush();
    } finally {
      this.#file.close();
    }
  }
}
