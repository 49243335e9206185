/**
 * Writing every byte: Deno's `write()` and `writeSync()` may take only part of a
 * buffer (a socket whose buffer is full, a pipe), so each caller loops. The client, the
 * server and the benchmarks share this one loop.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./write_all.ts";
 * writeAllSync(Deno.stdout, new Uint8Array(0));
 * ```
 *
 * @module
 */

/**
 * Writes all of `bytes` with async writes, however many it takes.
 *
 * @param writer A file, a connection, or anything with `write()`.
 * @param bytes What to write.
 * @returns A promise that resolves once every byte is written.
 *
 * @example
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * using file = await Deno.open(path, { append: true });
 * await writeAll(file, new TextEncoder().encode("all\n"));
 * assert.equal(await Deno.readTextFile(path), "all\n");
 * await Deno.remove(path);
 * ```
 */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await writer.write(bytes.subarray(offset));
  }
}

/**
 * Writes all of `bytes` with synchronous writes (stdout, stderr).
 *
 * @param writer A stream with `writeSync()`.
 * @param bytes What to write.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./write_all.ts";
 * writeAllSync(Deno.stderr, new TextEncoder().encode(""));
 * ```
 */
export function writeAllSync(
  writer: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += writer.writeSync(bytes.subarray(offset));
  }
}
