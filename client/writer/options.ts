// The checks every open() makes of its arguments before it touches anything, and the
// writer options they give: ProxyFile.open and LocalFile.open check the same things.

import { MAX_RECORD_BYTES } from "../../protocol/mod.ts";
import type { OverflowPolicy, WriterOptions } from "./writer.ts";

/** The options an open() shares with every writer. */
export interface QueueOptions {
  timeout?: number;
  maxPendingBytes?: number;
  overflow?: OverflowPolicy;
  onDrop?: ((records: number, size: number) => void) | undefined;
}

const POLICIES: readonly string[] = ["error", "drop-newest", "drop-oldest"];

/**
 * Checks `path` and the queue options, and resolves a relative path against the
 * working directory.
 *
 * @returns The absolute path and the timeout in force.
 * @throws {TypeError} The path is not a non-empty string, or holds NUL.
 * @throws {RangeError} The timeout, maxPendingBytes or overflow is out of range.
 */
export function checkOpen(
  path: string,
  options: QueueOptions,
  defaultTimeout: number,
): { path: string; timeout: number } {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(
      `Cannot open ${JSON.stringify(path)}: path must be a non-empty string`,
    );
  }
  if (path.includes("\0")) {
    throw new TypeError(`Cannot open ${JSON.stringify(path)}: a path cannot contain NUL`);
  }
  const timeout = options.timeout ?? defaultTimeout;
  if (!(timeout > 0) || !Number.isFinite(timeout)) {
    throw new RangeError(
      `Cannot open "${path}": timeout must be a positive number of ms`,
    );
  }
  const max = options.maxPendingBytes;
  if (max !== undefined && !(max >= 0)) {
    throw new RangeError(`Cannot open "${path}": maxPendingBytes must not be negative`);
  }
  if (options.overflow !== undefined && !POLICIES.includes(options.overflow)) {
    throw new RangeError(
      `Cannot open "${path}": overflow must be "error", "drop-newest" or "drop-oldest"`,
    );
  }
  return { path: path.startsWith("/") ? path : resolveRelative(path), timeout };
}

/** The writer options from an open()'s options, once checked. */
export function writerOptions(
  path: string,
  timeout: number,
  options: QueueOptions,
  timedOut: (pending: number) => Error,
): WriterOptions {
  return {
    path,
    timeout,
    maxPendingBytes: options.maxPendingBytes ?? Number.POSITIVE_INFINITY,
    overflow: options.overflow ?? "drop-newest",
    onDrop: options.onDrop,
    maxRecordBytes: MAX_RECORD_BYTES,
    timedOut,
  };
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
