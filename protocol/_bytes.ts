/** Byte-array helpers used by the protocol codecs. */

/**
 * Joins byte arrays into one.
 *
 * @param parts The arrays, in order.
 * @returns One array holding them all; the only part itself when there is one.
 *
 * @example
 * ```ts
 * import { concat } from "./_bytes.ts";
 * import assert from "node:assert/strict";
 * const joined = concat([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
 * ```
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
