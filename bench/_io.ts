// What the bench's child processes share: a clock comparable across processes, and a
// write of every byte.

/** Milliseconds since the epoch, with sub-millisecond precision: comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export { writeAll } from "../common/write_all.ts";
