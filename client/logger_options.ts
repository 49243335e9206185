/**
 * The {@linkcode Logger}'s options and record types, and the {@linkcode RecordFile} that
 * the Logger and the LogTape sink write to.
 *
 * @module
 */

import type { FlushOptions, ProxyFileOptions } from "./proxy_file.ts";

/**
 * Options of {@linkcode Logger.open}: the levels, `localFile`, the clock, and the
 * file's own options, passed to `ProxyFile.open` as they are (`socketPath`, `timeout`,
 * `maxPendingBytes`, `overflow`, `reconnect`, `onRotated`, `onDrop`; with `localFile`,
 * `LocalFile.open` takes the queue bound and `timeout`). A level of `null` turns that
 * output off. When the queue bound dropped records, the logger writes a WARNING record
 * saying how many, once the queue has drained.
 *
 * @example
 * ```ts
 * import type { LoggerOptions } from "@offlog/offlog";
 * const options: LoggerOptions = { stdoutLevel: null, localFile: true };
 * ```
 */
export interface LoggerOptions extends ProxyFileOptions {
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
 * import type { LogRecord } from "@offlog/offlog";
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
 * Where a {@linkcode Logger} appends its file records: the same {@linkcode RecordFile}
 * the LogTape sink takes.
 *
 * @example
 * ```ts
 * import type { LoggerFile } from "@offlog/offlog";
 * const memory: LoggerFile = {
 *   write: () => {},
 *   flush: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * ```
 */
export type LoggerFile = RecordFile;

/**
 * A file that takes records without waiting: a `ProxyFile`, a `LocalFile`, or
 * anything else with these methods (an in-memory file in tests, say).
 *
 * @example
 * ```ts
 * import type { RecordFile } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const memory: RecordFile = {
 *   write: (text) => void lines.push(text),
 *   flush: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * memory.write("one\n");
 * assert.deepEqual(lines, ["one\n"]);
 * ```
 */
export interface RecordFile {
  /** Queues one record's text; must not wait. */
  write(text: string): void;
  /**
   * Resolves once everything written before the call is in the file; with
   * `durable`, once it is synced to disk too.
   */
  flush(options?: FlushOptions): Promise<void>;
  /** Writes what is queued and closes; safe to call twice. */
  close(): Promise<void>;
  /** Records written and not yet in the file, if the file counts them. */
  readonly pendingRecords?: number;
}
