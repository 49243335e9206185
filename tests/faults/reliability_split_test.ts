// Property test (fast-check): however a byte stream is cut into reads, the server
// writes the same file. See RELIABILITY.md. The protocol readers' own property tests
// are in frames_test.ts and opening_test.ts.

import assert from "node:assert/strict";
import fc from "fast-check";
import { startServer } from "../_server.ts";
import { readMessages, writeAll } from "../_raw.ts";
import { join, sleep } from "../fixtures/reliability_lib.ts";
import { cut, lineText, records, toFrames } from "../_streams.ts";

const encoder = new TextEncoder();

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
