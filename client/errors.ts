/**
 * Errors a client of offlog may catch, and how it prints one.
 *
 * @module
 */

import { denoErrorClass } from "../protocol/mod.ts";

/**
 * An error the offlog server reported, with no closer Deno error class: a
 * `ValueError` (bad path), an `OSError` (e.g. `offlog server exited`, `No space left on
 * device`), or any other Python exception name a 0.x server sends.
 *
 * @example
 * ```ts
 * import { OfflogServerError } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const error = new OfflogServerError("ValueError", "not an absolute path");
 * assert.equal(error.serverName, "ValueError");
 * assert.equal(error.message, "not an absolute path");
 * ```
 */
export class OfflogServerError extends Error {
  /** The error name the server sent, e.g. `"OSError"`. */
  readonly serverName: string;

  /**
   * Makes the error from the server's name and message.
   *
   * @param serverName The server's error name.
   * @param message The server's message.
   * @param options The error's `cause`.
   */
  constructor(serverName: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OfflogServerError";
    this.serverName = serverName;
  }
}

/**
 * The connection to the server could not be made, or it was lost without the server
 * saying why. Says how much that was written did not reach the server.
 *
 * @example
 * ```ts
 * import { OfflogConnectionError } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const error = new OfflogConnectionError("No offlog server at \"/tmp/x.sock\"", {
 *   socketPath: "/tmp/x.sock",
 * });
 * assert.equal(error.unsentBytes, 0);
 * ```
 */
export class OfflogConnectionError extends Error {
  /** The socket path of the server. */
  readonly socketPath: string;
  /** Bytes written but not sent to the server (see `ProxyFile.pendingSize`). */
  readonly unsentBytes: number;

  /**
   * Makes the error.
   *
   * @param message What happened.
   * @param options The socket path, the unsent amount and the cause.
   */
  constructor(
    message: string,
    options: { socketPath: string; unsentBytes?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "OfflogConnectionError";
    this.socketPath = options.socketPath;
    this.unsentBytes = options.unsentBytes ?? 0;
  }
}

/**
 * The server broke the offlog protocol: a message longer than `MAX_MESSAGE_BYTES`
 * (16 KiB), or an `ACK` for more bytes than were sent on the connection. The
 * connection is given up and the file fails for good, with `reconnect` too: what was
 * not acknowledged is not taken for written.
 *
 * @example
 * ```ts
 * import { OfflogProtocolError } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const error = new OfflogProtocolError(
 *   "Protocol error from the offlog server at \"/tmp/x.sock\": \"ACK 9\" acknowledges more than the 4 bytes sent",
 *   { socketPath: "/tmp/x.sock" },
 * );
 * assert.equal(error.name, "OfflogProtocolError");
 * assert.equal(error.socketPath, "/tmp/x.sock");
 * ```
 */
export class OfflogProtocolError extends Error {
  /** The socket path of the server. */
  readonly socketPath: string;

  /**
   * Makes the error.
   *
   * @param message What the server did wrong.
   * @param options The socket path and the cause.
   */
  constructor(message: string, options: { socketPath: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "OfflogProtocolError";
    this.socketPath = options.socketPath;
  }
}

/**
 * A `write()` found the queue full (`maxPendingBytes`) with the `"error"` overflow
 * policy. The record was not queued.
 *
 * @example
 * ```ts
 * import { QueueFullError } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const error = new QueueFullError("Queue full", { pendingSize: 10, maxPendingBytes: 8 });
 * assert.ok(error instanceof RangeError);
 * ```
 */
export class QueueFullError extends RangeError {
  /** What was queued. */
  readonly pendingSize: number;
  /** The bound. */
  readonly maxPendingBytes: number;

  /**
   * Makes the error.
   *
   * @param message What happened.
   * @param options What was queued and the bound.
   */
  constructor(
    message: string,
    options: { pendingSize: number; maxPendingBytes: number },
  ) {
    super(message);
    this.name = "QueueFullError";
    this.pendingSize = options.pendingSize;
    this.maxPendingBytes = options.maxPendingBytes;
  }
}

/**
 * The error a client throws for the server's error `name`: the Deno error class that
 * fits (see `denoErrorClass`) with an {@linkcode OfflogServerError} as its `cause`, or
 * else the `OfflogServerError` itself.
 */
export function serverError(name: string, message: string): Error {
  const original = new OfflogServerError(name, message);
  const cls = denoErrorClass(name);
  return cls ? new cls(message, { cause: original }) : original;
}

/**
 * The text of `error` as Deno prints an uncaught one: its stack, then each `cause`
 * after "Caused by: "; a value that is not an error inspected as Deno inspects it.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  for (let depth = 0; depth < 32 && !seen.has(current); depth++) {
    seen.add(current);
    parts.push(errorText(current));
    if (!(current instanceof Error) || current.cause === undefined) break;
    current = current.cause;
  }
  return parts.join("\nCaused by: ");
}

function errorText(value: unknown): string {
  if (!(value instanceof Error)) return Deno.inspect(value, { colors: false });
  const stack = typeof value.stack === "string" ? value.stack : "";
  return stack !== "" ? stack : `${value.name}: ${value.message}`;
}
