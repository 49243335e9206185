/**
 * {@linkcode ServerLog}: the server's own log, `[YYYY-MM-DD HH:MM:SS.mmm offlog LEVEL]
 * message` lines to stdout (INFO), stderr (WARNING and up) and an optional file.
 *
 * It is the server's, not the client's `Logger`: a host program that embeds
 * `serve()` keeps its signals, `unhandledrejection` and `beforeunload` to itself, so
 * this writer registers nothing process-wide. The server closes it at shutdown, which
 * writes every line; stdout and stderr are written synchronously, as `console` does.
 *
 * @module
 */

import { format } from "node:util";
import { timestamp } from "../common/timestamp.ts";
import { writeAllSync } from "../common/write_all.ts";

/**
 * The levels the server logs at.
 *
 * @example
 * ```ts
 * import type { ServerLogLevel } from "./_server_log.ts";
 * const level: ServerLogLevel = "WARNING";
 * ```
 */
export type ServerLogLevel = "INFO" | "WARNING" | "ERROR";

/**
 * Options of {@linkcode ServerLog.open}.
 *
 * @example
 * ```ts
 * import type { ServerLogOptions } from "./_server_log.ts";
 * const options: ServerLogOptions = { quiet: true };
 * ```
 */
export interface ServerLogOptions {
  /**
   * Write nothing to stdout and stderr (the file still gets every line).
   * @default {false}
   */
  quiet?: boolean;
  /**
   * The clock, in epoch milliseconds.
   * @default {Date.now}
   */
  clock?: () => number;
}

/** Bytes of one file write at most: a backlog goes out in a few large writes. */
const MAX_WRITE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/**
 * The server's log. Lines to the file are queued and appended with one write in
 * flight, so logging never waits; {@linkcode ServerLog.flush} and
 * {@linkcode ServerLog.close} wait for them. A file that fails is reported once on
 * stderr and written no more: the server goes on serving.
 *
 * @example
 * ```ts
 * import { ServerLog } from "./_server_log.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const log = await ServerLog.open(path, { quiet: true });
 * log.info("Listening on socket %s", "/tmp/offlog.sock");
 * await log.close();
 * const text = await Deno.readTextFile(path); // "[<time> offlog INFO] Listening …\n"
 * assert.match(text, /^\[.+ offlog INFO\] Listening on socket \/tmp\/offlog\.sock\n$/);
 * await Deno.remove(path);
 * ```
 */
export class ServerLog implements AsyncDisposable {
  #file: Deno.FsFile | null;
  #path: string | null;
  #quiet: boolean;
  #clock: () => number;
  #queue: Uint8Array[] = [];
  /** Bytes queued since the start, and bytes written (or given up) of them. */
  #queued = 0;
  #written = 0;
  #waiters: { until: number; resolve: () => void }[] = [];
  #pumping: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    file: Deno.FsFile | null,
    path: string | null,
    options: ServerLogOptions,
  ) {
    this.#file = file;
    this.#path = path;
    this.#quiet = options.quiet ?? false;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Opens the log, and its file for appending (created if needed).
   *
   * @param path The log file, or `null` for none.
   * @param options Whether to print, and the clock.
   * @returns The log.
   * @throws What `Deno.open` throws, e.g. `Deno.errors.NotFound`.
   */
  static async open(
    path: string | null,
    options: ServerLogOptions = {},
  ): Promise<ServerLog> {
    const file = path === null
      ? null
      : await Deno.open(path, { append: true, create: true });
    return new ServerLog(file, path, options);
  }

  /**
   * Logs a line at `level`.
   *
   * @param level INFO goes to stdout, WARNING and ERROR to stderr; all to the file.
   * @param message The message; with `args`, a `node:util` format string (`%s`, `%d`).
   * @param args The values of its placeholders.
   */
  log(level: ServerLogLevel, message: string, ...args: unknown[]): void {
    const text = `[${timestamp(this.#clock())} offlog ${level}] ` +
      (args.length === 0 ? message : format(message, ...args)) + "\n";
    const bytes = encoder.encode(text);
    if (!this.#quiet) writeAllSync(level === "INFO" ? Deno.stdout : Deno.stderr, bytes);
    if (this.#file === null || this.#closing !== null) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#pumping ??= this.#pump();
  }

  /**
   * Logs at INFO.
   *
   * @param message The message or format string.
   * @param args Its values.
   */
  info(message: string, ...args: unknown[]): void {
    this.log("INFO", message, ...args);
  }

  /**
   * Logs at WARNING.
   *
   * @param message The message or format string.
   * @param args Its values.
   */
  warning(message: string, ...args: unknown[]): void {
    this.log("WARNING", message, ...args);
  }

  /**
   * Logs at ERROR.
   *
   * @param message The message or format string.
   * @param args Its values.
   */
  error(message: string, ...args: unknown[]): void {
    this.log("ERROR", message, ...args);
  }

  /**
   * Waits until every line logged before the call is in the file (or the file
   * failed); lines logged meanwhile do not hold it up.
   *
   * @returns A promise that never rejects.
   */
  flush(): Promise<void> {
    if (this.#written >= this.#queued) return Promise.resolve();
    const until = this.#queued;
    return new Promise((resolve) => this.#waiters.push({ until, resolve }));
  }

  /**
   * Writes every line and closes the file; later lines go to stdout and stderr only.
   * Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed; it never rejects.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.flush();
      try {
        this.#file?.close();
      } catch {
        // closed already
      }
      this.#file = null;
    })();
  }

  /**
   * Closes the log, for `await using`.
   *
   * @returns The promise of {@linkcode ServerLog.close}.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Appends the queue, one write in flight, until it is empty. */
  async #pump(): Promise<void> {
    await null; // lines logged in the same turn join the first write
    while (this.#queue.length > 0) {
      const batch = this.#take();
      try {
        if (this.#file === null) throw new Deno.errors.BadResource("file closed");
        for (let offset = 0; offset < batch.length;) {
          offset += await this.#file.write(batch.subarray(offset));
        }
      } catch (error) {
        this.#fail(error);
      }
      this.#written += batch.length;
      this.#wake();
    }
    this.#pumping = null;
  }

  /** The queue's first lines, joined into one write of at most ~1 MiB. */
  #take(): Uint8Array {
    let count = 0;
    let bytes = 0;
    while (
      count < this.#queue.length &&
      (count === 0 || bytes + this.#queue[count]!.length <= MAX_WRITE_BYTES)
    ) {
      bytes += this.#queue[count]!.length;
      count++;
    }
    const lines = this.#queue.splice(0, count);
    if (lines.length === 1) return lines[0]!;
    const joined = new Uint8Array(bytes);
    let offset = 0;
    for (const line of lines) {
      joined.set(line, offset);
      offset += line.length;
    }
    return joined;
  }

  /** The file failed: say so once on stderr, drop what is queued, write no more. */
  #fail(error: unknown): void {
    for (const line of this.#queue.splice(0)) this.#written += line.length;
    try {
      this.#file?.close();
    } catch {
      // closed already
    }
    this.#file = null;
    writeAllSync(
      Deno.stderr,
      encoder.encode(
        `offlog: cannot write the server's log file "${this.#path}": ${error}\n`,
      ),
    );
  }

  #wake(): void {
    const ready = this.#waiters.filter((w) => w.until <= this.#written);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.until > this.#written);
    for (const { resolve } of ready) resolve();
  }
}
