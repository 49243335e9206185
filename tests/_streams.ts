// Test helper: streams cut into reads at arbitrary points, and records grouped into
// frames, for the property tests of the readers and of the server.

import fc from "fast-check";
import { frame, join } from "./fixtures/reliability_lib.ts";

/** Cuts `bytes` at `points` (any numbers; taken modulo the length, sorted, unique). */
export function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) =>
    a - b
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of [...at, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}

/** Lines of text with multi-byte characters, so that cuts fall inside characters. */
export const lineText = fc.string({
  unit: fc.constantFrom("a", "b", " ", "é", "€", "\u{1F600}", "\t", "\r"),
  maxLength: 60,
});

/** Records of one or more lines; each becomes its own frame or shares one. */
export const records = fc.array(fc.array(lineText, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 40,
}).map((rs) => rs.map((lines) => lines.join("\n") + "\n"));

/**
 * Groups records into frames of `sizes[k]` records each, in turn; a size of 0 puts an
 * empty frame (which the server skips) before a frame of one record.
 */
export function toFrames(
  recs: string[],
  sizes: number[],
): { payloads: string[]; bytes: Uint8Array } {
  const payloads: string[] = [];
  let i = 0;
  for (let k = 0; i < recs.length; k++) {
    let take = sizes.length > 0 ? sizes[k % sizes.length]! : 1;
    if (take === 0) {
      payloads.push("");
      take = 1;
    }
    payloads.push(recs.slice(i, i + take).join(""));
    i += take;
  }
  return { payloads, bytes: join(payloads.map((p) => frame(p))) };
}
