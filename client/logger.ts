/**
 * {@linkcode Logger}: the seed's small levelled logger, to a file through offlog (or
 * directly), to stdout and to stderr.
 *
 * @module
 */

import { format } from "node:util";
import { DEFAULT_SOCKET_PATH, DEFAULT_TIMEOUT_MS } from "../protocol/mod.ts";
import { CRITICAL, DEBUG, ERROR, INFO, levelName, WARNING } from "./levels.ts";
import { LocalFile } from "./local_file.ts";
import { type OverflowPolicy, ProxyFile } from "./proxy_file.ts";
import { timestamp } from "./_timestamp.ts";
import { describeError } from "./_error_text.ts";

/**
 * Options of {@linkcode Logger.open}. A level of `null` turns that output off.
 *
 * @example
 * ```ts
 * import type { LoggerOptions } from "./logger.ts";
 * const options: LoggerOptions = { stdoutLevel: null, localFile: true };
 * ```
 */
export interface LoggerOptions {
  /**
   * Records at this level and up go to the file.
   * @default {10}
   */
  fileLevel?: number | null;
  /**
   * Records at this level and up, below `stderrLevel`, go to stdout.
   * @default {20}
   */
  stdoutLevel?: number | null;
  /**
   * Records at this level and up go to stderr.
   * @default {30}
   */
  stderrLevel?: number | null;
  /**
   * Append to the file directly instead of through an offlog server.
   * @default {false}
   */
  localFile?: boolean;
  /**
   * The offlog server's socket.
   * @default {"/tmp/offlog.sock"}
   */
  socketPath?: string;
  /**
   * Milliseconds to wait for the server when opening and closing.
   * @default {5000}
   */
  timeout?: number;
  /**
   * Bound of the file's queue; see `ProxyFileOptions.maxPendingBytes`. When
   * records were dropped, the logger writes a WARNING record saying how many, once the
   * queue has drained.
   * @default {Infinity}
   */
  maxPendingBytes?: number;
  /**
   * What a full queue does; see `ProxyFileOptions.overflow`.
   * @default {"drop-newest"}
   */
  overflow?: OverflowPolicy;
  /**
   * Reconnect to a restarted server and resend; see `ProxyFileOptions.reconnect`.
   * @default {false}
   */
  reconnect?: boolean;
  /**
   * The clock, in epoch milliseconds; tests pass a fixed one.
   * @default {Date.now}
   */
  clock?: () => number;
}

/**
 * One record, as {@linkcode Logger.format} receives it.
 *
 * @example
 * ```ts
 * import type { LogRecord } from "./logger.ts";
 * const record: LogRecord = {
 *   name: "app", level: 20, levelName: "INFO", message: "hi", time: 0, error: undefined,
 * };
 * ```
 */
export interface LogRecord {
  /** The logger's name, or `null`. */
  name: string | null;
  /** The level number. */
  level: number;
  /** The level's name, e.g. `"INFO"`. */
  levelName: string;
  /** The message, its arguments formatted in. */
  message: string;
  /** When it was logged, in epoch milliseconds. */
  time: number;
  /** The error logged with it, if any. */
  error: unknown;
}

/**
 * Where a {@linkcode Logger} appends its file records: a `ProxyFile`, a `LocalFile`,
 * or, in a subclass, anything with these three methods.
 *
 * @example
 * ```ts
 * import type { LoggerFile } from "./logger.ts";
 * const lines: string[] = [];
 * const memory: LoggerFile = {
 *   write: (text) => void lines.push(text),
 *   flush: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * ```
 */
export interface LoggerFile {
  /** Queues a record's text; must not wait. */
  write(text: string): void;
  /** Resolves once everything written is in the file. */
  flush(): Promise<void>;
  /** Writes what is queued and closes; safe to call twice. */
  close(): Promise<void>;
  /** Records dropped because the queue was full, if the file bounds its queue. */
  readonly droppedRecords?: number;
  /** Their size. */
  readonly droppedSize?: number;
  /** Records not yet sent. */
  readonly pendingRecords?: number;
}

/** Where a logger's text goes. */
interface Sink {
  write(text: string): void;
}

const encoder = new TextEncoder();

function syncSink(stream: { writeSync(p: Uint8Array): number }): Sink {
  return {
    write(text: string): void {
      const bytes = encoder.encode(text);
      for (let offset = 0; offset < bytes.length;) {
        offset += stream.writeSync(bytes.subarray(offset));
      }
    },
  };
}

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
 * ```ts ignore
 * import { Logger } from "./logger.ts";
 * await using logger = await Logger.open("my app", "/tmp/myapp.log");
 * logger.info("Hello world, params are %s %d", "foo", 7);
 * try {
 *   JSON.parse("{");
 * } catch (error) {
 *   logger.exception("Got an error", error);
 * }
 * ```
 */
export class Logger implements AsyncDisposable {
  /** The logger's name, or `null`. */
  readonly name: string | null;
  #file: LoggerFile | null;
  #reportedDrops: number | undefined;
  #reportedSize = 0;
  #fileLevel: number;
  #stdoutLevel: number;
  #stderrLevel: number;
  #minimum: number;
  #clock: () => number;
  #stdout: Sink = syncSink(Deno.stdout);
  #stderr: Sink = syncSink(Deno.stderr);
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
    this.#reportedDrops = file?.droppedRecords;
    const off = Number.POSITIVE_INFINITY;
    this.#fileLevel = file === null
      ? off
      : options.fileLevel === undefined
      ? DEBUG
      : options.fileLevel ?? off;
    this.#stdoutLevel = options.stdoutLevel === undefined
      ? INFO
      : options.stdoutLevel ?? off;
    this.#stderrLevel = options.stderrLevel === undefined
      ? WARNING
      : options.stderrLevel ?? off;
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
   * import { Logger } from "./logger.ts";
   * const path = await Deno.makeTempFile();
   * await using logger = await Logger.open("app", path, { localFile: true, stdoutLevel: null });
   * logger.debug("only in the file");
   * ```
   */
  static async open(
    name: string | null,
    filepath: string | null,
    options: LoggerOptions = {},
  ): Promise<Logger> {
    checkLevels(options);
    let file: LoggerFile | null = null;
    if (filepath !== null && options.fileLevel !== null) {
      file = options.localFile ? await LocalFile.open(filepath) : await ProxyFile.open(
        filepath,
        {
          socketPath: options.socketPath ?? DEFAULT_SOCKET_PATH,
          timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
          reconnect: options.reconnect ?? false,
          overflow: options.overflow ?? "drop-newest",
          ...(options.maxPendingBytes === undefined
            ? {}
            : { maxPendingBytes: options.maxPendingBytes }),
        },
      );
    }
    return new this(name, file, options);
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
   * import { Logger } from "./logger.ts";
   * await using logger = await Logger.open(null, null, { stdoutLevel: null });
   * logger.log(25, "between %s and %s", "INFO", "WARNING");
   * ```
   */
  log(level: number, msg: string, ...args: unknown[]): void {
    if (!(level >= this.#minimum)) {
      if (typeof level !== "number") {
        throw new TypeError(`Cannot log: level must be a number, not ${typeof level}`);
      }
      return;
    }
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
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
   * import { Logger, type LogRecord } from "./logger.ts";
   * class JsonLogger extends Logger {
   *   override format(record: LogRecord): string {
   *     return JSON.stringify({ level: record.levelName, msg: record.message }) + "\n";
   *   }
   * }
   * await using logger = await JsonLogger.open("app", null);
   * logger.info("hello"); // {"level":"INFO","msg":"hello"}
   * ```
   */
  format(record: LogRecord): string {
    const head = record.name === null
      ? `[${timestamp(record.time)} ${record.levelName}] `
      : `[${timestamp(record.time)} ${record.name} ${record.levelName}] `;
    if (record.error === undefined) return head + record.message + "\n";
    return head + record.message + "\n" + describeError(record.error) + "\n";
  }

  /**
   * Waits until every record so far is in the file.
   *
   * @returns A promise that resolves once they are.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
   * await using logger = await Logger.open("app", null);
   * await logger.flush();
   * ```
   */
  async flush(): Promise<void> {
    await this.#file?.flush();
  }

  /**
   * Closes the file, after writing every record. Safe to call twice.
   *
   * @returns A promise that resolves once the file is closed.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
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
   * import { Logger } from "./logger.ts";
   * await using logger = await Logger.open("app", null);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #emit(level: number, msg: string, args: unknown[], error: unknown): void {
    const text = this.format({
      name: this.name,
      level,
      levelName: levelName(level),
      message: args.length === 0 && typeof msg === "string" ? msg : format(msg, ...args),
      time: this.#clock(),
      error,
    });
    if (level >= this.#stderrLevel) this.#stderr.write(text);
    else if (level >= this.#stdoutLevel) this.#stdout.write(text);
    if (level >= this.#fileLevel) {
      const file = this.#file!;
      if (file.droppedRecords !== this.#reportedDrops && file.pendingRecords === 0) {
        this.#reportDrops(file);
      }
      file.write(text);
    }
  }

  /** Writes a WARNING record saying how many records the full queue dropped. */
  #reportDrops(file: LoggerFile): void {
    const records = (file.droppedRecords ?? 0) - (this.#reportedDrops ?? 0);
    const size = (file.droppedSize ?? 0) - this.#reportedSize;
    this.#reportedDrops = file.droppedRecords;
    this.#reportedSize = file.droppedSize ?? 0;
    file.write(this.format({
      name: this.name,
      level: WARNING,
      levelName: levelName(WARNING),
      message: `${records} records (${size} bytes) were dropped: the queue was full`,
      time: this.#clock(),
      error: undefined,
    }));
  }
}

/** Throws a `TypeError` for a level option that is neither a number nor `null`. */
function checkLevels(options: LoggerOptions): void {
  for (const key of ["fileLevel", "stdoutLevel", "stderrLevel"] as const) {
    const level = options[key];
    if (level !== undefined && level !== null && typeof level !== "number") {
      throw new TypeError(
        `Cannot open a logger: ${key} must be a number or null, not ${typeof level}`,
      );
    }
  }
}

/** Counts the placeholders of `msg` that take an argument. */
function placeholders(msg: string): number {
  let count = 0;
  for (
    let i = msg.indexOf("%");
    i !== -1 && i < msg.length - 1;
    i = msg.indexOf("%", i + 2)
  ) {
    if ("sdifjoOc".includes(msg[i + 1]!)) count++;
  }
  return count;
}
