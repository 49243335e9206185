/**
 * {@linkcode Logger}: the seed's small levelled logger, to a file through offlog (or
 * directly), to stdout and to stderr.
 *
 * @module
 */

import { format } from "node:util";
import { CRITICAL, DEBUG, ERROR, INFO, levelName, WARNING } from "./levels.ts";
import type { FlushOptions } from "./proxy_file.ts";
import type { LoggerFile, LoggerOptions, LogRecord } from "./logger_options.ts";
import {
  checkLevels,
  formatRecord,
  openFile,
  placeholders,
  writeText,
} from "./_logger_util.ts";

/**
 * A levelled logger. Records at `fileLevel` and up go to the file; `stdoutLevel` up
 * to but not including `stderrLevel` to stdout (no upper bound if `stderrLevel` is
 * `null`); `stderrLevel` and up to stderr. File appends go through an offlog server
 * and never wait; stdout and stderr are written synchronously, as `console` does.
 *
 * Arguments are formatted printf-style by `node:util`'s `format`. An `Error` as the
 * last argument, not taken by a placeholder, is the record's error: its stack and
 * `cause` chain follow the message. Subclasses change the text by overriding
 * {@linkcode Logger.format}, and may hand the constructor any {@linkcode LoggerFile}.
 *
 * Records reach the file however the program ends, short of `Deno.exit()`, SIGKILL
 * or a crash of Deno: see `flushAll()` and `setExitHandling()`.
 *
 * @example
 * ```ts
 * import { Logger } from "@offlog/offlog";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 * await using logger = await Logger.open("my app", `${dir}/myapp.log`, { socketPath });
 * logger.info("Hello world, params are %s %d", "foo", 7);
 * try {
 *   JSON.parse("{");
 * } catch (error) {
 *   logger.exception("Got an error", error);
 * }
 * await logger.flush();
 * const text = await Deno.readTextFile(`${dir}/myapp.log`);
 * assert.match(text, /my app INFO\] Hello world, params are foo 7\n/);
 * assert.match(text, /my app ERROR\] Got an error\nSyntaxError/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Logger implements AsyncDisposable {
  /** The logger's name, or `null`. */
  readonly name: string | null;
  #file: LoggerFile | null;
  /** Records the queue bound dropped and no WARNING has reported yet. */
  #drops = { records: 0, size: 0 };
  #fileLevel: number;
  #stdoutLevel: number;
  #stderrLevel: number;
  #minimum: number;
  #clock: () => number;
  #closing: Promise<void> | null = null;

  /**
   * Use {@linkcode Logger.open}; subclasses call this with the opened file.
   *
   * @param name The logger's name, or `null`.
   * @param file The open file (a `ProxyFile`, a `LocalFile` or any
   * {@linkcode LoggerFile}), or `null` for none; {@linkcode Logger.close} closes it.
   * @param options The levels and the clock (the file options are not used here).
   * @throws {TypeError} A level is neither a number nor `null`.
   */
  protected constructor(
    name: string | null,
    file: LoggerFile | null,
    options: LoggerOptions = {},
  ) {
    checkLevels(options);
    this.name = name;
    this.#file = file;
    // A level of null turns its output off: no record reaches Infinity.
    const level = (value: number | null | undefined, fallback: number) =>
      value === undefined ? fallback : value ?? Number.POSITIVE_INFINITY;
    this.#fileLevel = level(file === null ? null : options.fileLevel, DEBUG);
    this.#stdoutLevel = level(options.stdoutLevel, INFO);
    this.#stderrLevel = level(options.stderrLevel, WARNING);
    this.#minimum = Math.min(this.#fileLevel, this.#stdoutLevel, this.#stderrLevel);
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Opens a logger, and its file through the offlog server (or directly with
   * `localFile`).
   *
   * @param name The name shown in each record, or `null`.
   * @param filepath The file, or `null` for no file.
   * @param options Levels, `localFile`, `socketPath`, `timeout`.
   * @returns The logger.
   * @throws What {@linkcode ProxyFile.open} (or, with `localFile`, `Deno.open`) throws.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await using logger = await Logger.open("app", path, { localFile: true, stdoutLevel: null });
   * logger.debug("only in the file");
   * await logger.flush();
   * assert.match(await Deno.readTextFile(path), /app DEBUG\] only in the file\n$/);
   * ```
   */
  static async open(
    name: string | null,
    filepath: string | null,
    options: LoggerOptions = {},
  ): Promise<Logger> {
    checkLevels(options);
    let file: LoggerFile | null = null;
    // Set once the logger exists; drops before that cannot happen (nothing written).
    let logger: Logger | null = null;
    const onDrop = (records: number, size: number) => {
      if (logger !== null) {
        logger.#drops.records += records;
        logger.#drops.size += size;
      }
      options.onDrop?.(records, size);
    };
    if (filepath !== null && options.fileLevel !== null) {
      file = await openFile(filepath, { ...options, onDrop });
    }
    logger = new this(name, file, options);
    return logger;
  }

  /**
   * Logs `msg` at `level`, formatted with `args`.
   *
   * @param level The level number.
   * @param msg The message, with `%s`, `%d`, `%o`... placeholders.
   * @param args The values; a last `Error` not taken by a placeholder is the record's error.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open(null, null, { stdoutLevel: null });
   * logger.log(25, "between %s and %s", "INFO", "WARNING");
   * ```
   */
  log(level: number, msg: string, ...args: unknown[]): void {
    // Checked first: a string such as "50" compares as a number and would pass.
    if (typeof level !== "number") {
      throw new TypeError(`Cannot log: level must be a number, not ${typeof level}`);
    }
    if (!(level >= this.#minimum)) return;
    let error: unknown = undefined;
    const last = args[args.length - 1];
    if (last instanceof Error && placeholders(String(msg)) < args.length) {
      error = last;
      args = args.slice(0, -1);
    }
    this.#emit(level, msg, args, error);
  }

  /**
   * Logs at DEBUG.
   *
   * @param msg The message.
   * @param args Its values.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open(null, null);
   * logger.debug("not shown: stdout starts at INFO");
   * ```
   */
  debug(msg: string, ...args: unknown[]): void {
    this.log(DEBUG, msg, ...args);
  }

  /**
   * Logs at INFO.
   *
   * @param msg The message.
   * @param args Its values.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * logger.info("params are %s %d", "foo", 7);
   * ```
   */
  info(msg: string, ...args: unknown[]): void {
    this.log(INFO, msg, ...args);
  }

  /**
   * Logs at WARNING.
   *
   * @param msg The message.
   * @param args Its values.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * logger.warning("disk %d%% full", 91);
   * ```
   */
  warning(msg: string, ...args: unknown[]): void {
    this.log(WARNING, msg, ...args);
  }

  /**
   * Logs at ERROR.
   *
   * @param msg The message.
   * @param args Its values; a last `Error` adds its stack.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * logger.error("request %s failed", "/api");
   * ```
   */
  error(msg: string, ...args: unknown[]): void {
    this.log(ERROR, msg, ...args);
  }

  /**
   * Logs at ERROR with an error, whose stack and causes follow the message.
   *
   * @param msg The message.
   * @param args Its values, then the error.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * try {
   *   JSON.parse("{");
   * } catch (error) {
   *   logger.exception("Got an error", error);
   * }
   * ```
   */
  exception(msg: string, ...args: unknown[]): void {
    if (ERROR < this.#minimum) return;
    const error = args.length > 0 ? args[args.length - 1] : undefined;
    this.#emit(ERROR, msg, args.slice(0, -1), error);
  }

  /**
   * Logs at CRITICAL.
   *
   * @param msg The message.
   * @param args Its values.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * logger.critical("out of %s", "memory");
   * ```
   */
  critical(msg: string, ...args: unknown[]): void {
    this.log(CRITICAL, msg, ...args);
  }

  /**
   * Turns a record into text, newline included. Override it to change the format.
   *
   * @param record The record.
   * @returns `[YYYY-MM-DD HH:MM:SS.mmm name LEVEL] message`, then the error's stack.
   *
   * @example
   * ```ts
   * import { Logger, type LogRecord } from "@offlog/offlog";
   * import assert from "node:assert/strict";
   * class JsonLogger extends Logger {
   *   override format(record: LogRecord): string {
   *     return JSON.stringify({ level: record.levelName, msg: record.message }) + "\n";
   *   }
   * }
   * await using logger = await JsonLogger.open("app", null);
   * logger.info("hello"); // prints {"level":"INFO","msg":"hello"}
   * const record: LogRecord = {
   *   name: "app", level: 20, levelName: "INFO", message: "hello", time: 0,
   *   error: undefined,
   * };
   * assert.equal(logger.format(record), '{"level":"INFO","msg":"hello"}\n');
   * ```
   */
  format(record: LogRecord): string {
    return formatRecord(record);
  }

  /**
   * Waits until every record so far is in the file; with `{ durable: true }`, until
   * it is synced to disk (see `ProxyFile.flush()`).
   *
   * @param options `durable`: wait until the records are synced to disk.
   * @returns A promise that resolves once they are.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * await logger.flush();
   * ```
   */
  async flush(options: FlushOptions = {}): Promise<void> {
    await this.#file?.flush(options);
  }

  /**
   * Closes the file, after writing every record. Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * const logger = await Logger.open("app", null);
   * await logger.close();
   * await logger.close();
   * ```
   */
  close(): Promise<void> {
    return this.#closing ??= this.#file?.close() ?? Promise.resolve();
  }

  /**
   * Closes the logger, for `await using`.
   *
   * @returns The promise of {@linkcode Logger.close}.
   *
   * @example
   * ```ts
   * import { Logger } from "@offlog/offlog";
   * await using logger = await Logger.open("app", null);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #emit(level: number, msg: string, args: unknown[], error: unknown): void {
    const message = args.length === 0 && typeof msg === "string"
      ? msg
      : format(msg, ...args);
    const text = this.#text(level, message, error);
    if (level >= this.#stderrLevel) writeText(Deno.stderr, text);
    else if (level >= this.#stdoutLevel) writeText(Deno.stdout, text);
    if (level >= this.#fileLevel) {
      const file = this.#file!;
      // Reported once the queue has drained, so the WARNING follows what survived.
      if (this.#drops.records > 0 && file.pendingRecords === 0) {
        const { records, size } = this.#drops;
        this.#drops = { records: 0, size: 0 };
        const note =
          `${records} records (${size} bytes) were dropped: the queue was full`;
        file.write(this.#text(WARNING, note, undefined));
      }
      file.write(text);
    }
  }

  #text(level: number, message: string, error: unknown): string {
    const time = this.#clock();
    return this.format({
      name: this.name,
      level,
      levelName: levelName(level),
      message,
      time,
      error,
    });
  }
}
