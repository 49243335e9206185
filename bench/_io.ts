// What the bench's child processes share: a clock comparable across processes, and a
// write of every byte.

/** Milliseconds since the epoch, with sub-millisecond precision: comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Writes all of `bytes`, however many writes it takes. */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await writer.write(bytes.subarray(offset));
  }
}
