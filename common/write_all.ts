/**
 * Writing every byte: Deno's `write()` and `writeSync()` may take only part of a
 * buffer (a socket whose buffer is full, a pipe), so each caller loops. The client, the
 * server and the benchmarks share this one loop.
 *
 * @module
 */

/**
 * Writes all of `bytes` with async writes, however many it takes.
 *
 * @param writer A file, a connection, or anything with `write()`.
 * @param bytes What to write.
 * @returns A promise that resolves once every byte is written.
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
 */
export function writeAllSync(
  writer: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += writer.writeSync(bytes.subarray(offset));
  }
}
