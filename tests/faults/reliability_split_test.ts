// Property tests (fast-check): however a byte stream is cut into reads, the server
// writes the same file; and the protocol readers return the same frames, lines and
// opening. See RELIABILITY.md.

import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameReader, LineReader, OpeningReader } from "../protocol/mod.ts";
import { startServer } from "./_server.ts";
import { readMessages, writeAll } from "./_raw.ts";
import { frame, join, sleep } from "./fixtures/reliability_lib.ts";

const encoder = new TextEncoder();

/** Cuts `bytes` at `points` (any numbers; taken modulo the length, sorted, unique). */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
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
const lineText = fc.string({
  unit: fc.constantFrom("a", "b", " ", "é", "€", "\u{1F600}", "\t", "\r"),
  maxLength: 60,
});

/** Records of one or more lines; each becomes its own frame or shares one. */
const records = fc.array(fc.array(lineText, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 40,
}).map((rs) => rs.map((lines) => lines.join("\n") + "\n"));

/**
 * Groups records into frames of `sizes[k]` records each, in turn; a size of 0 puts an
 * empty frame (which the server skips) before a frame of one record.
 */
function toFrames(
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

Deno.test("reliability: FrameReader returns the same whole frames however the stream is cut or cut short", () => {
  fc.assert(
    fc.property(
      records,
      fc.array(fc.nat({ max: 3 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.nat(),
      (recs, sizes, points, end) => {
        const { payloads, bytes } = toFrames(recs, sizes);
        const reader = new FrameReader();
        const got: string[] = [];
        const decoder = new TextDecoder();
        for (const piece of cut(bytes, points)) {
          for (const unit of reader.push(piece)) {
            got.push(decoder.decode(join(unit.parts)));
          }
        }
        assert.equal(reader.error, null);
        assert.equal(reader.heldBytes, 0);
        // Empty frames are skipped; every other frame comes back whole, in order.
        assert.deepEqual(got, payloads.filter((p) => p !== ""));
        // The stream ends part-way: exactly the whole frames before the end come back.
        const stop = end % (bytes.length + 1);
        let boundary = 0; // the end of the last whole frame before `stop`
        const complete: string[] = [];
        for (const p of payloads) {
          const size = 4 + encoder.encode(p).length;
          if (boundary + size > stop) break;
          boundary += size;
          if (p !== "") complete.push(p);
        }
        const partial = new FrameReader();
        const before: string[] = [];
        for (const piece of cut(bytes.subarray(0, stop), points)) {
          for (const unit of partial.push(piece)) {
            before.push(decoder.decode(join(unit.parts)));
          }
        }
        assert.deepEqual(before, complete);
        // What was cut short is not handed out, and is counted as dropped.
        assert.equal(partial.end(), null);
        assert.equal(partial.heldBytes, stop - boundary);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("reliability: FrameReader.heldBytes counts the unfinished frame's header, as documented", () => {
  // What the server logs as "disconnected with an unfinished record (N bytes
  // dropped)" for a client killed mid-frame, and whether it logs it at all.
  const bytes = frame("four is never finished\n");
  for (const stop of [2, 4, 10]) {
    const reader = new FrameReader();
    assert.deepEqual(reader.push(bytes.subarray(0, stop)), []);
    assert.equal(reader.heldBytes, stop, `after ${stop} bytes of a frame`);
  }
});

Deno.test("reliability: LineReader lets through only whole lines and, at the end, the same bytes however the stream is cut", () => {
  fc.assert(
    fc.property(
      fc.array(lineText, { maxLength: 50 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 30 }),
      (lines, unfinished, points) => {
        const text = lines.join("\n") + (unfinished ? "" : "\n");
        const bytes = encoder.encode(text);
        const reader = new LineReader();
        const out: Uint8Array[] = [];
        for (const piece of cut(bytes, points)) {
          const units = reader.push(piece);
          assert.ok(units.length <= 1, "one unit per read at most");
          for (const unit of units) {
            const joined = join(unit.parts);
            assert.equal(joined.length, unit.bytes);
            assert.equal(joined.at(-1), 10, "a unit ends at a newline");
            out.push(joined);
          }
        }
        const last = reader.end();
        if (last !== null) out.push(join(last.parts));
        assert.deepEqual(join(out), bytes);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("reliability: OpeningReader reads the same opening, and hands back the same data after it, however it is cut", () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.string({ unit: fc.constantFrom("a", "/", "é", ".", "-"), maxLength: 80 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (v1, name, data, points) => {
        const path = `/tmp/${name}`;
        const opening = encoder.encode((v1 ? "offlog/1\0" : "") + path + "\0");
        const bytes = join([opening, data]);
        const reader = new OpeningReader();
        let after: Uint8Array[] | null = null;
        for (const piece of cut(bytes, points)) {
          if (after !== null) {
            after.push(piece);
            continue;
          }
          const result = reader.push(piece);
          if (result.state === "more") continue;
          assert.equal(result.state, "done");
          if (result.state !== "done") return;
          assert.equal(result.version, v1 ? "offlog/1" : "0.x");
          assert.equal(new TextDecoder().decode(result.path), path);
          after = [result.rest];
        }
        assert.ok(after !== null, "the opening was read");
        assert.deepEqual(join(after), data);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("reliability: through the real server, the same stream cut at any points (with pauses) yields the same file", async () => {
  await using server = await startServer();
  let run = 0;
  /** Sends `opening` + `body` in pieces, half-closes, expects BYE; returns the file. */
  const send = async (
    v1: boolean,
    body: Uint8Array,
    points: number[],
    pauses: number[],
  ) => {
    const path = `${server.dir}/split${run++}.log`;
    const opening = encoder.encode(v1 ? `offlog/1\0${path}\0` : `${path}\0`);
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      let k = 0;
      for (const piece of cut(join([opening, body]), points)) {
        await writeAll(conn, piece);
        const pause = pauses[k++ % Math.max(1, pauses.length)] ?? 0;
        if (pause > 0) await sleep(pause);
      }
      await conn.closeWrite();
      const messages = await readMessages(conn);
      assert.equal(messages[0], "OK");
      assert.equal(messages.at(-1), "BYE");
    } finally {
      conn.close();
    }
    return await Deno.readFile(path);
  };
  const pieces = {
    points: fc.array(fc.nat(), { maxLength: 25 }),
    pauses: fc.array(fc.nat({ max: 3 }), { maxLength: 5 }),
  };
  // 0.x: the file is the stream, byte for byte, its unfinished last line included.
  await fc.assert(
    fc.asyncProperty(
      fc.array(lineText, { maxLength: 80 }),
      pieces.points,
      pieces.pauses,
      async (lines, points, pauses) => {
        const body = encoder.encode(lines.join("\n"));
        assert.deepEqual(await send(false, body, points, pauses), body);
      },
    ),
    { numRuns: 15 },
  );
  // offlog/1: the file is the frames' payloads, one after the other.
  await fc.assert(
    fc.asyncProperty(
      records,
      fc.array(fc.nat({ max: 3 }), { maxLength: 8 }),
      pieces.points,
      pieces.pauses,
      async (recs, sizes, points, pauses) => {
        const { bytes } = toFrames(recs, sizes);
        assert.deepEqual(
          await send(true, bytes, points, pauses),
          encoder.encode(recs.join("")),
        );
      },
    ),
    { numRuns: 15 },
  );
});
