/**
 * {@linkcode ProxyFile}: appends to a file through an offlog server without ever
 * waiting for the disk.
 *
 * @module
 */

import {
  DEFAULT_SOCKET_PATH,
  DEFAULT_TIMEOUT_MS,
  FRAME_HEADER_BYTES,
  MAX_RECORD_BYTES,
  type ProtocolVersion,
  type ServerMessage,
  writeFrameHeader,
} from "../protocol/mod.ts";
import { handshake } from "./_handshake.ts";
import { OfflogConnectionError, serverError } from "./errors.ts";
import { PendingBytes } from "./pending_bytes.ts";
import { register, unregister } from "./_registry.ts";

/**
 * Options of {@linkcode ProxyFile.open}.
 *
 * @example
 * ```ts
 * import type { ProxyFileOptions } from "./proxy_file.ts";
 * const options: ProxyFileOptions = { socketPath: "/run/offlog.sock", timeout: 2000 };
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
}

/** UTF-16 units (or bytes) per frame the pump sends: large writes, few syscalls. */
const BATCH_UNITS = 1024 * 1024;
/** Strings shorter than this cannot exceed the maximum record size. */
const SAFE_UNITS = Math.floor(MAX_RECORD_BYTES / 3);

interface Waiter {
  seq: number;
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
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
 * A `Uint8Array` passed to `write()` is queued without a copy: do not change it
 * afterwards.
 *
 * @example
 * ```ts ignore
 * import { ProxyFile } from "./proxy_file.ts";
 * await using file = await ProxyFile.open("/tmp/app.log");
 * file.write("hello\n");
 * await file.flush(); // "hello\n" is now in /tmp/app.log
 * ```
 */
export class ProxyFile implements AsyncDisposable {
  /** The absolute path of the file. */
  readonly path: string;
  /** The server's socket. */
  readonly socketPath: string;
  /** The protocol spoken: `"offlog/1"`, or `"0.x"` with a 0.x server. */
  readonly protocol: ProtocolVersion;

  #conn: Deno.UnixConn;
  #timeout: number;
  #header: number;
  #queue = new PendingBytes();
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #reader: Promise<void>;
  #error: Error | null = null;
  #errorThrown = false;
  #closing: Promise<void> | null = null;
  #gotBye = false;
  #onBye: (() => void) | null = null;
  #written = 0;
  #sentRecords = 0;
  #sentBytes = 0;
  #ackedBytes = 0;
  #waiters: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    path: string,
    socketPath: string,
    timeout: number,
    opened: Awaited<ReturnType<typeof handshake>>,
  ) {
    this.path = path;
    this.socketPath = socketPath;
    this.protocol = opened.version;
    this.#timeout = timeout;
    this.#header = opened.version === "offlog/1" ? FRAME_HEADER_BYTES : 0;
    this.#conn = opened.conn;
    this.#conn.unref();
    this.#reader = this.#read(opened);
    register(this);
  }

  /**
   * Asks the server to open `path` for appending and waits for its answer.
   *
   * @param path The file; a relative path is resolved against the working directory.
   * @param options The socket path and the timeout.
   * @returns The open file.
   * @throws {Deno.errors.PermissionDenied} The server may not write the file (also
   * `NotFound`, `IsADirectory`, ... as the server reports; the server's own error is
   * the `cause`).
   * @throws {OfflogServerError} The server refused with no closer Deno error.
   * @throws {OfflogConnectionError} No server answers on the socket.
   * @throws {Deno.errors.TimedOut} The server did not answer within `timeout`.
   *
   * @example
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * const file = await ProxyFile.open("/tmp/app.log", { socketPath: "/tmp/offlog.sock" });
   * await file.close();
   * ```
   */
  static async open(path: string, options: ProxyFileOptions = {}): Promise<ProxyFile> {
    if (typeof path !== "string" || path.length === 0) {
      throw new TypeError(
        `Cannot open ${JSON.stringify(path)}: path must be a non-empty string`,
      );
    }
    const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(timeout > 0) || !Number.isFinite(timeout)) {
      throw new RangeError(
        `Cannot open "${path}": timeout must be a positive number of ms`,
      );
    }
    const absolute = path.startsWith("/") ? path : resolveRelative(path);
    const opened = await handshake(socketPath, absolute, timeout);
    return new ProxyFile(absolute, socketPath, timeout, opened);
  }

  /**
   * Queues `data` for appending and returns at once; it never waits.
   *
   * @param data The record: a string (sent as UTF-8) or bytes.
   * @throws The error the server reported, or {@linkcode OfflogConnectionError}.
   * @throws {Deno.errors.BadResource} The file was closed.
   * @throws {RangeError} The record is larger than the maximum record size (16 MiB).
   *
   * @example
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * await using file = await ProxyFile.open("/tmp/app.log");
   * file.write("one line\n");
   * file.write(new Uint8Array([0x6f, 0x6b, 0x0a]));
   * ```
   */
  write(data: string | Uint8Array): void {
    if (this.#error !== null) {
      this.#errorThrown = true;
      throw this.#error;
    }
    if (this.#closing !== null) {
      throw new Deno.errors.BadResource(
        `Cannot write to "${this.path}": the file is closed`,
      );
    }
    if (typeof data !== "string") {
      if (!(data instanceof Uint8Array)) {
        throw new TypeError(
          `Cannot write to "${this.path}": data must be a string or Uint8Array`,
        );
      }
      if (data.length > MAX_RECORD_BYTES) throw this.#tooLarge(data.length);
    } else if (data.length > SAFE_UNITS) {
      const bytes = new TextEncoder().encode(data).length;
      if (bytes > MAX_RECORD_BYTES) throw this.#tooLarge(bytes);
    }
    this.#queue.push(data);
    this.#written++;
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pumpDone = this.#pump();
    }
  }

  /**
   * Waits until the server has written to the file everything written before this
   * call. Against a 0.x server, which does not acknowledge, it waits until the data
   * is in the socket. Fails if nothing progresses for `timeout` ms.
   *
   * @returns A promise that resolves once the data is written.
   * @throws The error the server reported, or {@linkcode OfflogConnectionError}.
   * @throws {Deno.errors.TimedOut} No progress for `timeout` ms.
   *
   * @example
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * await using file = await ProxyFile.open("/tmp/app.log");
   * file.write("important\n");
   * await file.flush();
   * ```
   */
  flush(): Promise<void> {
    if (this.#error !== null) {
      this.#errorThrown = true;
      return Promise.reject(this.#error);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { seq: this.#written, target: -1, resolve, reject };
      if (this.#sentRecords >= waiter.seq) waiter.target = this.#sentBytes;
      if (!this.#settle(waiter)) {
        this.#waiters.push(waiter);
        this.#watch();
      }
    });
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
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * const file = await ProxyFile.open("/tmp/app.log");
   * file.write("last words\n");
   * await file.close();
   * ```
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  /**
   * Closes the file, for `await using`.
   *
   * @returns The promise of {@linkcode ProxyFile.close}.
   *
   * @example
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * await using file = await ProxyFile.open("/tmp/app.log");
   * file.write("closed at the end of the block\n");
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
   * ```ts ignore
   * import { ProxyFile } from "./proxy_file.ts";
   * const file = await ProxyFile.open("/tmp/copy.log");
   * await ReadableStream.from(["a\n", "b\n"]).pipeTo(file.writable);
   * ```
   */
  get writable(): WritableStream<string | Uint8Array> {
    return new WritableStream<string | Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
  }

  /** Records written but not yet sent to the server. */
  get pendingRecords(): number {
    return this.#queue.records;
  }

  /** Size of what is written but not yet sent: bytes, or UTF-16 units for strings. */
  get pendingSize(): number {
    return this.#queue.size;
  }

  async #pump(): Promise<void> {
    await null; // let the rest of this turn's writes join the first batch
    const conn = this.#conn;
    try {
      while (this.#queue.records > 0 && this.#error === null) {
        const batch = this.#queue.take(BATCH_UNITS, this.#header);
        if (this.#header > 0) writeFrameHeader(batch.bytes);
        for (let offset = 0; offset < batch.bytes.length;) {
          offset += await conn.write(batch.bytes.subarray(offset));
        }
        this.#sentRecords += batch.records;
        this.#sentBytes += batch.bytes.length - this.#header;
        this.#progress();
      }
    } catch (cause) {
      // The server closes after saying why; its message is read by #read.
      await this.#reader;
      this.#fail(this.#lost("sending", cause));
    } finally {
      this.#pumping = false;
    }
  }

  async #read(opened: Awaited<ReturnType<typeof handshake>>): Promise<void> {
    for (const message of opened.messages) this.#onMessage(message);
    const buffer = new Uint8Array(1024);
    let cause: unknown;
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const message of opened.decoder.push(buffer.subarray(0, n))) {
          this.#onMessage(message);
        }
      }
    } catch (error) {
      cause = error;
    }
    if (!this.#gotBye) this.#fail(this.#lost("reading", cause));
    this.#onBye?.();
  }

  #onMessage(message: ServerMessage): void {
    switch (message.type) {
      case "ack":
        this.#ackedBytes = message.bytes;
        this.#progress();
        break;
      case "bye":
        this.#gotBye = true;
        this.#onBye?.();
        break;
      case "error":
        this.#fail(serverError(message.name, message.message));
        // Stop sending but let the server read to the end of what was sent.
        this.#pumpDone.then(() => this.#conn.closeWrite()).catch(() => {});
        break;
      default:
        break;
    }
  }

  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters = [];
    this.#unwatch();
  }

  #lost(doing: string, cause: unknown): OfflogConnectionError {
    const unsent = this.#queue.size;
    return new OfflogConnectionError(
      `Lost the connection to the offlog server at "${this.socketPath}" while ${doing} ` +
        `for "${this.path}": ${unsent} bytes not sent`,
      { socketPath: this.socketPath, unsentBytes: unsent, cause },
    );
  }

  #tooLarge(bytes: number): RangeError {
    return new RangeError(
      `Cannot write to "${this.path}": a record of ${bytes} bytes is larger than the ` +
        `maximum of ${MAX_RECORD_BYTES} bytes`,
    );
  }

  /** Resolves a waiter whose data is written (v1) or sent (0.x). */
  #settle(waiter: Waiter): boolean {
    if (waiter.target < 0) return false;
    if (this.#header > 0 && this.#ackedBytes < waiter.target) return false;
    waiter.resolve();
    return true;
  }

  #progress(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target < 0 && this.#sentRecords >= waiter.seq) {
        waiter.target = this.#sentBytes;
      }
      if (!this.#settle(waiter)) still.push(waiter);
    }
    this.#waiters = still;
    if (still.length === 0) this.#unwatch();
    else this.#watch();
  }

  /** Keeps the process alive and arms the no-progress timeout while waiting. */
  #watch(): void {
    if (this.#timer === undefined) this.#conn.ref();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const error = new Deno.errors.TimedOut(
        `Timed out after ${this.#timeout} ms waiting for the offlog server at ` +
          `"${this.socketPath}" to write "${this.path}": ${this.#queue.size} bytes not sent`,
      );
      for (const waiter of this.#waiters) waiter.reject(error);
      this.#waiters = [];
      this.#unwatch();
    }, this.#timeout);
  }

  #unwatch(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#conn.unref();
  }

  async #close(): Promise<void> {
    unregister(this);
    let failure: Error | null = null;
    try {
      if (this.#error === null) await this.flush();
      if (this.#error === null) {
        await this.#conn.closeWrite();
        await this.#awaitBye();
      }
    } catch (error) {
      failure = error as Error;
    } finally {
      this.#unwatch();
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
      await this.#reader;
      await this.#pumpDone;
    }
    const error = failure ?? this.#error;
    if (error !== null && !(error === this.#error && this.#errorThrown)) {
      this.#errorThrown = true;
      throw error;
    }
  }

  #awaitBye(): Promise<void> {
    if (this.#gotBye) return Promise.resolve();
    this.#conn.ref();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onBye = null;
        reject(
          new Deno.errors.TimedOut(
            `Timed out after ${this.#timeout} ms waiting for the offlog server at ` +
              `"${this.socketPath}" to finish "${this.path}"`,
          ),
        );
      }, this.#timeout);
      this.#onBye = () => {
        clearTimeout(timer);
        this.#onBye = null;
        resolve();
      };
    });
  }
}

function resolveRelative(path: string): string {
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch (cause) {
    throw new TypeError(
      `Cannot open "${path}": a relative path needs the working directory (grant read access or pass an absolute path)`,
      { cause },
    );
  }
  const joined = `${cwd}/${path}`.split("/");
  const parts: string[] = [];
  for (const part of joined) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
