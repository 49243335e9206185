/**
 * Messages from the server to the client: UTF-8 text, each ended by one NUL byte.
 *
 * @module
 */

import { MAX_MESSAGE_BYTES, NUL } from "./constants.ts";
import { concat } from "./_bytes.ts";

/** `OK`: the server opened the file for appending. */
export const OK = "OK";
/** `BYE`: the client half-closed and everything it sent was written. */
export const BYE = "BYE";
/** `ROTATED`: the file was moved or deleted and the server reopened it (0.3). */
export const ROTATED = "ROTATED";
/** Prefix of `ACK <n>`: the server wrote `n` payload bytes in all (offlog/1 only). */
export const ACK_PREFIX = "ACK ";
/**
 * Prefix of `SYNCED <n>`: the file is synced to disk past `n` payload bytes of this
 * client, the answer to a sync request (offlog/1 only, only when asked).
 */
export const SYNCED_PREFIX = "SYNCED ";
/** Prefix of `STATS <json>`: the answer to a stats request, then the server closes. */
export const STATS_PREFIX = "STATS ";

/**
 * One message from the server, parsed.
 *
 * @example
 * ```ts
 * import { parseMessage } from "./messages.ts";
 * import assert from "node:assert/strict";
 * const message = parseMessage("ACK 42");
 * assert.deepEqual(message, { type: "ack", bytes: 42 });
 * ```
 */
export type ServerMessage =
  | { type: "ok" }
  | { type: "bye" }
  | { type: "rotated" }
  | { type: "ack"; bytes: number }
  | { type: "synced"; bytes: number }
  | { type: "error"; name: string; message: string };

const encoder = new TextEncoder();

/**
 * Encodes one server message with its closing NUL.
 *
 * @param text The message, e.g. `"OK"` or `"ValueError: not an absolute path"`.
 * @returns The bytes to send.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeMessage("OK"), new Uint8Array([79, 75, 0])); // "OK\0"
 * ```
 */
export function encodeMessage(text: string): Uint8Array {
  const body = encoder.encode(text);
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  out[body.length] = NUL;
  return out;
}

/**
 * Formats an error message as the 0.x server does: `<PythonErrorName>: <message>`.
 *
 * @param name The Python exception class name, e.g. `"PermissionError"`.
 * @param message What went wrong, naming the path where there is one.
 * @returns The message text, without the NUL.
 *
 * @example
 * ```ts
 * import { formatError } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatError("ValueError", "not an absolute path"),
 *   "ValueError: not an absolute path",
 * );
 * ```
 */
export function formatError(name: string, message: string): string {
  return `${name}: ${message}`;
}

/**
 * Parses the text of one message (without its NUL). Anything that is not `OK`,
 * `BYE`, `ROTATED` or `ACK <n>` is an error, as a 0.x client takes it.
 *
 * @param text The message text.
 * @returns The parsed message.
 *
 * @example
 * ```ts
 * import { parseMessage } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseMessage("OSError: offlog server exited"), {
 *   type: "error",
 *   name: "OSError",
 *   message: "offlog server exited",
 * });
 * ```
 */
export function parseMessage(text: string): ServerMessage {
  if (text === OK) return { type: "ok" };
  if (text === BYE) return { type: "bye" };
  if (text === ROTATED) return { type: "rotated" };
  for (
    const [prefix, type] of [[ACK_PREFIX, "ack"], [SYNCED_PREFIX, "synced"]] as const
  ) {
    if (!text.startsWith(prefix)) continue;
    const digits = text.slice(prefix.length);
    const bytes = Number(digits);
    if (/^[0-9]+$/.test(digits) && Number.isSafeInteger(bytes)) return { type, bytes };
  }
  const colon = text.indexOf(": ");
  if (colon > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(0, colon))) {
    return { type: "error", name: text.slice(0, colon), message: text.slice(colon + 2) };
  }
  return { type: "error", name: "ValueError", message: text };
}

/**
 * A server message ran past {@linkcode MAX_MESSAGE_BYTES} without its NUL: the peer
 * does not speak the protocol, and the connection should be given up.
 *
 * @example
 * ```ts
 * import { MessageDecoder, MessageTooLongError } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => new MessageDecoder().push(new Uint8Array(20_000).fill(0x41)),
 *   MessageTooLongError,
 * );
 * ```
 */
export class MessageTooLongError extends Error {
  /** The bound that was passed: {@linkcode MAX_MESSAGE_BYTES}. */
  readonly maxBytes: number;

  /**
   * Makes the error.
   *
   * @param maxBytes The bound that was passed.
   */
  constructor(maxBytes: number) {
    super(`Server message longer than the maximum of ${maxBytes} bytes`);
    this.name = "MessageTooLongError";
    this.maxBytes = maxBytes;
  }
}

/**
 * Splits a byte stream from the server into messages at each NUL. It never holds more
 * than {@linkcode MAX_MESSAGE_BYTES} of an unfinished message: a message longer than
 * that makes `push()` throw a {@linkcode MessageTooLongError}, and so does every later
 * call.
 *
 * @example
 * ```ts
 * import { MessageDecoder } from "./messages.ts";
 * import assert from "node:assert/strict";
 * const decoder = new MessageDecoder();
 * const bytes = new TextEncoder().encode("OK\0ACK 10\0BY");
 * assert.deepEqual(decoder.push(bytes), [{ type: "ok" }, { type: "ack", bytes: 10 }]);
 * ```
 */
export class MessageDecoder {
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  #failed: MessageTooLongError | null = null;
  #decoder = new TextDecoder();

  /**
   * Adds bytes read from the socket.
   *
   * @param chunk The bytes; they are not kept after the call returns.
   * @returns The messages completed by this chunk, in order.
   * @throws {MessageTooLongError} A message passed {@linkcode MAX_MESSAGE_BYTES}
   * bytes; the messages before it in the same chunk are not returned.
   */
  push(chunk: Uint8Array): ServerMessage[] {
    if (this.#failed !== null) throw this.#failed;
    const messages: ServerMessage[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NUL); end !== -1; end = chunk.indexOf(NUL, start)) {
      const piece = chunk.subarray(start, end);
      this.#check(piece.length);
      let text: string;
      if (this.#partial.length > 0) {
        this.#partial.push(piece);
        text = this.#decoder.decode(concat(this.#partial));
        this.#partial = [];
        this.#partialBytes = 0;
      } else {
        text = this.#decoder.decode(piece);
      }
      messages.push(parseMessage(text));
      start = end + 1;
    }
    if (start < chunk.length) {
      // Checked before copying, so an endless message costs at most the bound.
      this.#check(chunk.length - start);
      this.#partial.push(chunk.slice(start));
      this.#partialBytes += chunk.length - start;
    }
    return messages;
  }

  /** Throws, and forgets what is held, if `more` bytes would pass the bound. */
  #check(more: number): void {
    if (this.#partialBytes + more <= MAX_MESSAGE_BYTES) return;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#failed = new MessageTooLongError(MAX_MESSAGE_BYTES);
    throw this.#failed;
  }
}
