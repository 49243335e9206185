/**
 * The opening a client sends: the file's absolute path and a NUL (0.x), or the
 * offlog/2 or offlog/1 hello, a NUL, the path and a NUL.
 *
 * @module
 */

import { NUL, PATH_MAX, STATS_HELLO, V1_HELLO, V2_HELLO } from "./constants.ts";
import { concat } from "./_bytes.ts";

const encoder = new TextEncoder();

/**
 * Which protocol a connection speaks.
 *
 * @example
 * ```ts
 * import type { ProtocolVersion } from "./opening.ts";
 * const version: ProtocolVersion = "offlog/1";
 * ```
 */
export type ProtocolVersion = "offlog/2" | "offlog/1" | "0.x";

/**
 * Encodes the opening for a path.
 *
 * @param path The absolute path of the file.
 * @param version `"offlog/2"` for framed records with their ends and
 * acknowledgements, `"offlog/1"` for the same without record ends, `"0.x"` for the
 * plain stream that every offlog server understands.
 * @returns The bytes to send.
 *
 * @example
 * ```ts
 * import { encodeOpening } from "./opening.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeOpening("/tmp/app.log", "0.x");
 * assert.equal(new TextDecoder().decode(bytes), "/tmp/app.log\0");
 * ```
 */
export function encodeOpening(path: string, version: ProtocolVersion): Uint8Array {
  const text = version === "0.x" ? `${path}\0` : `${version}\0${path}\0`;
  return encoder.encode(text);
}

/**
 * The result of reading an opening: done (with the path and any bytes after it),
 * not done yet, or refused with the 0.x error to send back.
 *
 * @example
 * ```ts
 * import { OpeningReader, type OpeningResult } from "./opening.ts";
 * import assert from "node:assert/strict";
 * const result: OpeningResult = new OpeningReader().push(new Uint8Array([47, 0]));
 * assert.equal(result.state, "done");
 * ```
 */
export type OpeningResult =
  | { state: "more" }
  | { state: "done"; version: ProtocolVersion; path: Uint8Array; rest: Uint8Array }
  | { state: "refused"; name: string; message: string }
  | { state: "stats" };

/**
 * Reads a client's opening from the bytes of successive reads, as the server does.
 * More than {@linkcode PATH_MAX} bytes without a NUL is refused as the 0.x server
 * refuses it.
 *
 * @example
 * ```ts
 * import { OpeningReader } from "./opening.ts";
 * import assert from "node:assert/strict";
 * const reader = new OpeningReader();
 * const bytes = new TextEncoder().encode("offlog/1\0/tmp/a.log\0");
 * const result = reader.push(bytes);
 * assert.equal(result.state, "done");
 * assert.equal(result.version, "offlog/1");
 * assert.equal(new TextDecoder().decode(result.path), "/tmp/a.log");
 * ```
 */
export class OpeningReader {
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #version: ProtocolVersion | null = null;

  /**
   * Adds the bytes of one read.
   *
   * @param chunk The bytes; those after the opening come back as `rest`.
   * @returns What the opening amounts to so far.
   */
  push(chunk: Uint8Array): OpeningResult {
    let data = this.#held.length > 0 ? concat([...this.#held, chunk]) : chunk;
    this.#held = [];
    this.#heldBytes = 0;
    for (;;) {
      const end = data.indexOf(NUL);
      if (end === -1) {
        if (data.length > PATH_MAX) {
          return {
            state: "refused",
            name: "ValueError",
            message: "path longer than PATH_MAX",
          };
        }
        // A copy: the reader's buffer is reused for the next read.
        if (data.length > 0) this.#held.push(data.slice());
        this.#heldBytes = data.length;
        return { state: "more" };
      }
      const token = data.subarray(0, end);
      const rest = data.subarray(end + 1);
      if (this.#version === null && same(token, STATS_BYTES)) return { state: "stats" };
      if (this.#version === null && same(token, V2_BYTES)) {
        this.#version = "offlog/2";
        data = rest;
        continue;
      }
      if (this.#version === null && same(token, V1_BYTES)) {
        this.#version = "offlog/1";
        data = rest;
        continue;
      }
      if (token.length > PATH_MAX) {
        return {
          state: "refused",
          name: "ValueError",
          message: "path longer than PATH_MAX",
        };
      }
      return { state: "done", version: this.#version ?? "0.x", path: token, rest };
    }
  }

  /** Bytes held while waiting for the rest of a token. */
  get heldBytes(): number {
    return this.#heldBytes;
  }
}

const V1_BYTES = encoder.encode(V1_HELLO);

const V2_BYTES = encoder.encode(V2_HELLO);

const STATS_BYTES = encoder.encode(STATS_HELLO);

function same(token: Uint8Array, expected: Uint8Array): boolean {
  if (token.length !== expected.length) return false;
  for (let i = 0; i < token.length; i++) if (token[i] !== expected[i]) return false;
  return true;
}
