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
  SERVER_EXITED,
  type ServerMessage,
  writeFrameHeader,
} from "../protocol/mod.ts";
import { handshake } from "./_handshake.ts";
import { Delivery } from "./_delivery.ts";
import { Link } from "./_link.ts";
import {
  OfflogConnectionError,
  OfflogProtocolError,
  QueueFullError,
  serverError,
} from "./errors.ts";
import { PendingBytes } from "./pending_bytes.ts";
import { register, unregister } from "./_registry.ts";

/**
 * What `write()` does when the queue would pass `maxPendingBytes`: throw a
 * {@linkcode QueueFullError}, drop the new record, or drop the oldest queued records.
 *
 * @example
 * ```ts
 * import type { OverflowPolicy } from "./proxy_file.ts";
 * const policy: OverflowPolicy = "drop-oldest";
 * ```
 */
export type OverflowPolicy = "error" | "drop-newest" | "drop-oldest";

/**
 * Options of {@linkcode ProxyFile.open}.
 *
 * @example
 * ```ts
 * import type { ProxyFileOptions } from "./proxy_file.ts";
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
   * Most bytes (UTF-16 units for strings) the queue may hold; unbounded by default, as
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
}

/** UTF-16 units (or bytes) per frame the pump sends: large writes, few syscalls. */
const BATCH_UNITS = 1024 * 1024;
/** Strings shorter than this cannot exceed the maximum record size. */
const SAFE_UNITS = Math.floor(MAX_RECORD_BYTES / 3);
/** Reconnect backoff, ms. */
const FIRST_RETRY = 50;
const LAST_RETRY = 5000;
/** The error a server sends when the file's path is gone and cannot be created. */
const LOST_PATH = "FileNotFoundError";

interface Sent {
  end: number;
  payload: Uint8Array;
  records: number;
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

  #timeout: number;
  #maxPending: number;
  #overflow: OverflowPolicy;
  #reconnect: boolean;
  #onRotated: (() => void) | undefined;
  #version: ProtocolVersion;
  #link: Link | null;
  #queue = new PendingBytes();
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #error: Error | null = null;
  #errorThrown = false;
  #closing: Promise<void> | null = null;
  #closed = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelay = FIRST_RETRY;
  #delivery: Delivery;
  #unacked: Sent[] = [];
  #resend: Sent[] = [];
  #inFlight = { records: 0, size: 0 };
  #droppedRecords = 0;
  #droppedSize = 0;

  private constructor(
    path: string,
    socketPath: string,
    timeout: number,
    options: ProxyFileOptions,
    opened: Awaited<ReturnType<typeof handshake>>,
  ) {
    this.path = path;
    this.socketPath = socketPath;
    this.#timeout = timeout;
    this.#maxPending = options.maxPendingBytes ?? Number.POSITIVE_INFINITY;
    this.#overflow = options.overflow ?? "drop-newest";
    this.#reconnect = options.reconnect ?? false;
    this.#onRotated = options.onRotated;
    this.#version = opened.version;
    this.#delivery = new Delivery(timeout, {
      hold: () => this.#link?.hold(),
      release: () => this.#link?.release(),
      timedOut: () =>
        new Deno.errors.TimedOut(
          `Timed out after ${this.#timeout} ms waiting for the offlog server at ` +
            `"${this.socketPath}" to write "${this.path}": ${this.pendingSize} bytes not sent`,
        ),
    });
    this.#delivery.acknowledged = opened.version === "offlog/1";
    this.#link = new Link(opened, 0, this.#events);
    register(this);
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
    const max = options.maxPendingBytes;
    if (max !== undefined && !(max >= 0)) {
      throw new RangeError(`Cannot open "${path}": maxPendingBytes must not be negative`);
    }
    if (path.includes("\0")) {
      throw new TypeError(
        `Cannot open ${JSON.stringify(path)}: a path cannot contain NUL`,
      );
    }
    const absolute = path.startsWith("/") ? path : resolveRelative(path);
    const opened = await handshake(socketPath, absolute, timeout);
    return new ProxyFile(absolute, socketPath, timeout, options, opened);
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
    if (
      this.#queue.size + data.length > this.#maxPending && !this.#makeRoom(data.length)
    ) {
      return;
    }
    this.#queue.push(data);
    this.#delivery.written++;
    if (!this.#pumping) this.#startPump();
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
    return this.#delivery.wait().catch((error: Error) => {
      if (error === this.#error) this.#errorThrown = true;
      throw error;
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

  /** The protocol spoken: `"offlog/1"`, or `"0.x"` with a 0.x server. */
  get protocol(): ProtocolVersion {
    return this.#version;
  }

  /** Whether a connection to the server is up (false while reconnecting). */
  get connected(): boolean {
    return this.#link !== null;
  }

  /** Records written but not yet in the socket (queued, being sent, or to resend). */
  get pendingRecords(): number {
    let records = this.#queue.records + this.#inFlight.records;
    for (const frame of this.#resend) records += frame.records;
    return records;
  }

  /**
   * Size of what is written but not yet in the socket: bytes, or UTF-16 units for
   * queued strings.
   */
  get pendingSize(): number {
    let size = this.#queue.size + this.#inFlight.size;
    for (const frame of this.#resend) size += frame.payload.length;
    return size;
  }

  /** Records dropped so far because the queue was full. */
  get droppedRecords(): number {
    return this.#droppedRecords;
  }

  /** Size of the records dropped so far (bytes, or UTF-16 units for strings). */
  get droppedSize(): number {
    return this.#droppedSize;
  }

  /** Applies the overflow policy; `true` when the new record may be queued. */
  #makeRoom(size: number): boolean {
    if (this.#overflow === "error") {
      throw new QueueFullError(
        `Cannot write to "${this.path}": ${this.#queue.size} bytes are queued and ` +
          `maxPendingBytes is ${this.#maxPending}`,
        { pendingSize: this.#queue.size, maxPendingBytes: this.#maxPending },
      );
    }
    if (this.#overflow === "drop-oldest" && size <= this.#maxPending) {
      while (this.#queue.size + size > this.#maxPending && this.#queue.records > 0) {
        this.#droppedSize += this.#queue.shift();
        this.#droppedRecords++;
        this.#delivery.done++;
      }
      return true;
    }
    this.#droppedRecords++;
    this.#droppedSize += size;
    return false;
  }

  #startPump(): void {
    this.#pumping = true;
    this.#pumpDone = this.#pump();
  }

  async #pump(): Promise<void> {
    await null; // let the rest of this turn's writes join the first batch
    const link = this.#link;
    if (link === null) {
      this.#pumping = false;
      return;
    }
    const header = link.version === "offlog/1" ? FRAME_HEADER_BYTES : 0;
    try {
      while (this.#error === null && !link.exiting && link === this.#link) {
        let frame: Uint8Array;
        let end: number;
        let records: number;
        const again = this.#resend.shift();
        if (again !== undefined) {
          frame = new Uint8Array(header + again.payload.length);
          frame.set(again.payload, header);
          end = again.end;
          records = again.records;
        } else {
          if (this.#queue.records === 0) break;
          const batch = this.#queue.take(BATCH_UNITS, header);
          frame = batch.bytes;
          records = batch.records;
          const delivery = this.#delivery;
          delivery.done += records;
          delivery.sent += frame.length - header;
          end = delivery.sent;
          if (this.#reconnect && header > 0) {
            this.#unacked.push({ end, payload: frame.slice(header), records });
          }
        }
        if (header > 0) writeFrameHeader(frame);
        this.#inFlight = { records, size: frame.length - header };
        await link.send(frame);
        this.#inFlight = { records: 0, size: 0 };
        this.#delivery.handed = end;
        this.#delivery.progress();
      }
    } catch (cause) {
      // With reconnect the frame stays in #unacked and is sent again.
      if (this.#reconnect && header > 0) this.#inFlight = { records: 0, size: 0 };
      // The server closes after saying why; #events.onEnd reads the reason first.
      await link.done;
      this.#lose(link, cause);
    } finally {
      this.#pumping = false;
    }
    if (link.exiting && this.#link === link) await link.closeWrite();
  }

  #events = {
    onMessage: (link: Link, message: ServerMessage): void => {
      if (message.type === "ack") {
        const acked = link.base + message.bytes;
        if (acked <= this.#delivery.acked) return;
        this.#delivery.acked = acked;
        let done = 0;
        while (done < this.#unacked.length && this.#unacked[done]!.end <= acked) done++;
        if (done > 0) this.#unacked.splice(0, done);
        this.#delivery.progress();
      } else if (message.type === "rotated") {
        this.#onRotated?.();
      } else if (message.type === "error") {
        const text = `${message.name}: ${message.message}`;
        if (
          this.#reconnect && (text === SERVER_EXITED || message.name === LOST_PATH)
        ) {
          // Stop sending; the server writes what it read, acknowledges it and closes.
          // A lost path: the server closes, and a reconnect opens the path again.
          link.exiting = true;
          if (!this.#pumping) void link.closeWrite();
          return;
        }
        this.#fail(serverError(message.name, message.message));
        link.exiting = true;
        if (!this.#pumping) void link.closeWrite();
      }
    },
    onEnd: (link: Link, cause: unknown): void => {
      if (!link.gotBye) this.#lose(link, cause);
    },
  };

  /** The connection is gone: reconnect, or fail. */
  #lose(link: Link, cause: unknown): void {
    if (link !== this.#link) return;
    this.#link = null;
    link.close();
    if (this.#error !== null) return;
    if (cause instanceof OfflogProtocolError) return this.#fail(cause);
    if (this.#reconnect && !this.#closed) {
      this.#scheduleReconnect();
      return;
    }
    const unsent = this.#queue.size + (this.#delivery.sent - this.#delivery.acked);
    this.#fail(
      new OfflogConnectionError(
        `Lost the connection to the offlog server at "${this.socketPath}" for ` +
          `"${this.path}": ${unsent} bytes not confirmed written`,
        { socketPath: this.socketPath, unsentBytes: unsent, cause },
      ),
    );
  }

  #scheduleReconnect(): void {
    this.#retryTimer = setTimeout(() => void this.#reconnectNow(), this.#retryDelay);
    Deno.unrefTimer(this.#retryTimer);
    this.#retryDelay = Math.min(this.#retryDelay * 2, LAST_RETRY);
  }

  async #reconnectNow(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#closed || this.#error !== null) return;
    let opened;
    try {
      opened = await handshake(this.socketPath, this.path, this.#timeout);
    } catch (error) {
      if (this.#closed) return;
      if (
        error instanceof OfflogConnectionError || error instanceof Deno.errors.TimedOut ||
        error instanceof Deno.errors.NotFound // the path's directory may come back
      ) {
        this.#scheduleReconnect();
      } else {
        this.#fail(error as Error);
      }
      return;
    }
    if (this.#closed) {
      opened.conn.close();
      return;
    }
    this.#retryDelay = FIRST_RETRY;
    this.#version = opened.version;
    this.#delivery.acknowledged = opened.version === "offlog/1";
    this.#resend = [...this.#unacked];
    this.#link = new Link(opened, this.#delivery.acked, this.#events);
    if (this.#delivery.waiting) this.#link.hold();
    await this.#pumpDone;
    if (!this.#pumping) this.#startPump();
  }

  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    this.#delivery.fail(error);
  }

  #tooLarge(bytes: number): RangeError {
    return new RangeError(
      `Cannot write to "${this.path}": a record of ${bytes} bytes is larger than the ` +
        `maximum of ${MAX_RECORD_BYTES} bytes`,
    );
  }

  async #close(): Promise<void> {
    unregister(this);
    let failure: Error | null = null;
    try {
      if (this.#error === null) await this.#delivery.wait();
      const link = this.#link;
      if (this.#error === null && link !== null) {
        await link.closeWrite();
        await link.waitBye(this.#timeout, () =>
          new Deno.errors.TimedOut(
            `Timed out after ${this.#timeout} ms waiting for the offlog server at ` +
              `"${this.socketPath}" to finish "${this.path}"`,
          ));
      }
    } catch (error) {
      failure = error as Error;
    } finally {
      this.#closed = true;
      clearTimeout(this.#retryTimer);
      this.#delivery.stop();
      const link = this.#link;
      link?.close();
      await link?.done;
      await this.#pumpDone;
    }
    const error = failure ?? this.#error;
    if (error !== null && !(error === this.#error && this.#errorThrown)) {
      this.#errorThrown = true;
      throw error;
    }
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
  const parts: string[] = [];
  for (const part of `${cwd}/${path}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
