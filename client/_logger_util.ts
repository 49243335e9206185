// The Logger's small helpers: opening its file (the LogTape sink's too), console output,
// option checks, placeholder counting.

import { LocalFile } from "./local_file.ts";
import type { LoggerOptions, LogRecord, RecordFile } from "./logger_options.ts";
import { ProxyFile, type ProxyFileOptions } from "./proxy_file.ts";
import { timestamp } from "../common/timestamp.ts";
import { writeAllSync } from "../common/write_all.ts";
import { describeError } from "./errors.ts";

/** Opens a logger's or a sink's file: through the server, or directly with `localFile`. */
export function openFile(
  path: string,
  options: ProxyFileOptions & { localFile?: boolean | undefined },
): Promise<RecordFile> {
  return options.localFile
    ? LocalFile.open(path, options)
    : ProxyFile.open(path, options);
}

/** The seed's record format: `[date time name LEVEL] message`, then the error. */
export function formatRecord(record: LogRecord): string {
  const head = record.name === null
    ? `[${timestamp(record.time)} ${record.levelName}] `
    : `[${timestamp(record.time)} ${record.name} ${record.levelName}] `;
  if (record.error === undefined) return head + record.message + "\n";
  return head + record.message + "\n" + describeError(record.error) + "\n";
}

const encoder = new TextEncoder();

/** Writes a record's text to stdout or stderr, synchronously, as `console` does. */
export function writeText(stream: typeof Deno.stdout, text: string): void {
  writeAllSync(stream, encoder.encode(text));
}

/** Throws a `TypeError` for a level option that is neither a number nor `null`. */
export function checkLevels(options: LoggerOptions): void {
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
export function placeholders(msg: string): number {
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
