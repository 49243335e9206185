/**
 * A [LogTape](https://logtape.org/) sink that appends through offlog: LogTape's
 * loggers, filters and formatters in front, a `ProxyFile` behind. Each log
 * record is one `write()`, so it never waits and lands whole in the file.
 *
 * @module
 */

import {
  defaultTextFormatter,
  type Drainable,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import type { ProxyFileOptions } from "./proxy_file.ts";
import type { RecordFile } from "./logger_options.ts";
import { openFile } from "./_logger_util.ts";

/**
 * A LogTape sink writing to an offlog file. LogTape's `drain()` flushes it; LogTape's
 * `dispose()` or `reset()` flushes it and, if it owns the file, closes the file.
 *
 * @example
 * ```ts
 * import { getOfflogSink, type OfflogSink } from "@offlog/offlog/logtape";
 * import { ProxyFile } from "@offlog/offlog";
 * import { serve } from "@offlog/server";
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 * const file = await ProxyFile.open(`${dir}/app.log`, { socketPath });
 * const sink: OfflogSink = getOfflogSink(file);
 * await sink.drain(); // flushes the file
 * await sink[Symbol.asyncDispose](); // flushes and closes it
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export type OfflogSink = Sink & Drainable & AsyncDisposable;

/**
 * Options of {@linkcode getOfflogSink}.
 *
 * @example
 * ```ts
 * import { getTextFormatter } from "@logtape/logtape";
 * import type { OfflogSinkOptions } from "@offlog/offlog/logtape";
 * const options: OfflogSinkOptions = {
 *   formatter: getTextFormatter({ timestamp: "date-time-timezone" }),
 *   closeFile: false,
 * };
 * ```
 */
export interface OfflogSinkOptions {
  /**
   * Turns a record into the text appended, newline included.
   * @default {defaultTextFormatter}
   */
  formatter?: TextFormatter;
  /**
   * Close the file when LogTape disposes of the sink. Set it to `false` for a file
   * that other code still writes to; the sink then only flushes it.
   * @default {true}
   */
  closeFile?: boolean;
  /**
   * Make LogTape's `drain()` a durable flush: it resolves once the records are
   * synced to disk (`flush({ durable: true })`), not only written.
   * @default {false}
   */
  durable?: boolean;
}

/**
 * Options of {@linkcode openOfflogSink}: the file's (as `ProxyFile.open` takes them)
 * and the sink's; the sink always owns the file.
 *
 * @example
 * ```ts
 * import type { OpenOfflogSinkOptions } from "@offlog/offlog/logtape";
 * const options: OpenOfflogSinkOptions = { socketPath: "/run/offlog.sock", timeout: 2000 };
 * ```
 */
export interface OpenOfflogSinkOptions
  extends ProxyFileOptions, Omit<OfflogSinkOptions, "closeFile"> {
  /**
   * Append to the file directly (a `LocalFile`) instead of through an offlog server.
   * @default {false}
   */
  localFile?: boolean;
}

/**
 * Makes a LogTape sink that appends each record, formatted, to `file`.
 *
 * @param file An open `ProxyFile`, `LocalFile`, or any {@linkcode RecordFile}.
 * @param options The formatter, and whether disposing of the sink closes the file.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { configure, getLogger, reset } from "@logtape/logtape";
 * import { getOfflogSink } from "@offlog/offlog/logtape";
 * import { ProxyFile } from "@offlog/offlog";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 * const file = await ProxyFile.open(`${dir}/app.log`, { socketPath });
 *
 * await configure({
 *   sinks: { offlog: getOfflogSink(file) },
 *   loggers: [{ category: "app", lowestLevel: "debug", sinks: ["offlog"] }],
 * });
 * getLogger("app").info("Hello {name}", { name: "world" });
 * await reset(); // flushes and closes the file
 * const text = await Deno.readTextFile(`${dir}/app.log`);
 * assert.match(text, /\[INF\] app: Hello "world"\n$/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function getOfflogSink(
  file: RecordFile,
  options: OfflogSinkOptions = {},
): OfflogSink {
  if (
    typeof file?.write !== "function" || typeof file.flush !== "function" ||
    typeof file.close !== "function"
  ) {
    throw new TypeError(
      "Cannot make an offlog sink: file must be a RecordFile (a ProxyFile, a " +
        "LocalFile, or an object with write, flush and close)",
    );
  }
  const formatter = options.formatter ?? defaultTextFormatter;
  const closeFile = options.closeFile ?? true;
  const sink = (record: LogRecord): void => file.write(formatter(record));
  return Object.assign(sink, {
    drain: (): Promise<void> => file.flush({ durable: options.durable ?? false }),
    [Symbol.asyncDispose]: (): Promise<void> => closeFile ? file.close() : file.flush(),
  });
}

/**
 * Opens `path` through an offlog server (or directly, with `localFile`) and makes a
 * LogTape sink that owns it: disposing of the sink closes the file.
 *
 * @param path The file to append to.
 * @param options The server's socket, the timeout, the formatter, `localFile`.
 * @returns The sink, once the file is open.
 * @throws What `ProxyFile.open` (or `LocalFile.open`) throws.
 *
 * @example
 * ```ts
 * import { configure, getLogger, reset } from "@logtape/logtape";
 * import { openOfflogSink } from "@offlog/offlog/logtape";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 *
 * await configure({
 *   sinks: { offlog: await openOfflogSink(`${dir}/app.log`, { socketPath }) },
 *   loggers: [{ category: "app", lowestLevel: "info", sinks: ["offlog"] }],
 * });
 * getLogger("app").warn("disk {percent}% full", { percent: 91 });
 * await reset(); // flushes and closes the file
 * const text = await Deno.readTextFile(`${dir}/app.log`);
 * assert.match(text, /\[WRN\] app: disk 91% full\n$/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openOfflogSink(
  path: string,
  options: OpenOfflogSinkOptions = {},
): Promise<OfflogSink> {
  return getOfflogSink(await openFile(path, options), { ...options, closeFile: true });
}
