// The server and offlog/2 record ends from raw clients: their bytes are counted in the
// memory budget and given back once the frame is written, and a client that breaks
// their rules is told why while the others go on.

import assert from "node:assert/strict";
import { encodeRecordEnds } from "../../protocol/mod.ts";
import { exchange, readMessages, writeAll } from "../_raw.ts";
import { startServer } from "../_server.ts";

const encoder = new TextEncoder();
const KiB = 1024;

function header(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

/** A frame of `records` records of "a\n", after its record-ends frame. */
function framed(records: number): Uint8Array[] {
  const ends = encodeRecordEnds(
    Array.from({ length: records }, (_, i) => 2 * (i + 1)),
    0,
    records,
  )!;
  return [ends, header(2 * records), encoder.encode("a\n".repeat(records))];
}

Deno.test("offlog/2 record ends count in --max-buffered-bytes and are given back once written: 16 MiB of them through an 8M budget", async () => {
  await using server = await startServer({ args: ["--max-buffered-bytes", "8M"] });
  const path = `${server.dir}/ends.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  // A server that stopped reading fails the test rather than hang it.
  const stuck = setTimeout(() => conn.close(), 60_000);
  try {
    await writeAll(conn, encoder.encode(`offlog/2\0${path}\0`));
    // Records of 2 bytes: their ends are half the frame. Kept counted, 2 MiB of them
    // would hold the file's quarter of the budget and stop the server reading.
    const FRAMES = 512;
    const RECORDS = 32 * KiB;
    const frame = framed(RECORDS);
    for (let i = 0; i < FRAMES; i++) for (const part of frame) await writeAll(conn, part);
    await conn.closeWrite();
    const messages = await readMessages(conn);
    assert.equal(messages.at(-1), "BYE", messages.slice(-3).join(" | "));
    assert.equal(messages.at(-2), `ACK ${FRAMES * RECORDS * 2}`);
  } finally {
    clearTimeout(stuck);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  assert.equal((await Deno.stat(path)).size, 512 * 32 * KiB * 2);
});

Deno.test("offlog/2: a client whose record ends break the rules is told why, after its earlier frames are written; another client of the file goes on", async () => {
  await using server = await startServer();
  const path = `${server.dir}/rules.log`;
  const hello = `offlog/2\0${path}\0`;
  const good = Deno.connect({ transport: "unix", path: server.socketPath });
  const twice = await exchange(
    server.socketPath,
    hello,
    ...framed(3),
    header(0x80000001),
    new Uint8Array([2]),
    header(0x80000001),
    new Uint8Array([2]),
  );
  assert.deepEqual(twice, [
    "OK",
    "ACK 6",
    "ValueError: two record-ends frames in a row",
  ]);
  const tooLong = await exchange(
    server.socketPath,
    hello,
    header(0x80000003),
    new Uint8Array([1, 1, 1]),
    header(3),
    encoder.encode("ab\n"),
  );
  assert.deepEqual(tooLong, [
    "OK",
    "ValueError: record ends of 3 bytes cannot describe a frame of 3 bytes",
  ]);
  const cutShort = await exchange(
    server.socketPath,
    hello,
    header(0x80000001),
    new Uint8Array([2]),
  );
  assert.deepEqual(cutShort, [
    "OK",
    "ValueError: Connection ended in the middle of a record: its 5 bytes (header " +
    "included) were dropped",
  ]);
  const conn = await good;
  try {
    await writeAll(conn, encoder.encode(hello));
    for (const part of framed(5)) await writeAll(conn, part);
    await conn.closeWrite();
    assert.deepEqual(await readMessages(conn), ["OK", "ACK 10", "BYE"]);
  } finally {
    conn.close();
  }
  assert.equal(await Deno.readTextFile(path), "a\n".repeat(3 + 5));
});
