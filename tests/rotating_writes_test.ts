// RotatingWrites (server/_rotating_writes.ts): a batch written in parts where the
// file reaches --rotate-size, the file rotated between two parts.

import assert from "node:assert/strict";
import { RotatingWrites } from "../server/_rotating_writes.ts";
import { BatchWriter } from "../server/_batch_writer.ts";
import { FileCounters } from "../server/file_counters.ts";
import { FileRotation } from "../server/file_rotation.ts";
import { tempDir } from "./_server.ts";
import { names } from "./_rotated.ts";

const encoder = new TextEncoder();
const policy = { size: 4096, intervalMs: null, keep: 5, compress: false };

function unitsOf(owner: { failed: boolean; lines?: boolean }, texts: string[]) {
  return {
    data: encoder.encode(texts.join("")),
    entries: texts.map((text) => ({
      owner: { ...owner, onWritten() {}, onWriteError() {} },
      bytes: text.length,
    })),
  };
}

async function setUp(path: string) {
  const counters = new FileCounters();
  const retired: Deno.FsFile[] = [];
  const writer = await BatchWriter.open(path, {
    refuseHardlinks: false,
    timeoutMs: 5000,
    retire: (old) => {
      retired.push(old);
      old.close();
    },
  }, counters);
  const rotation = await FileRotation.open(path, policy);
  return { writer, counters, writes: new RotatingWrites(rotation, writer, counters) };
}

Deno.test("RotatingWrites.write() rotates after the unit that reaches the size, before the next", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.log`;
  const { writer, counters, writes } = await setUp(path);
  const unit = "u".repeat(999) + "\n";
  const parts: number[] = [];
  const lost = await writes.write(
    unitsOf({ failed: false }, Array(10).fill(unit)),
    (p) => {
      parts.push(p.entries.length);
      return writer.write(p).then(() => true);
    },
  );
  writer.close();
  assert.deepEqual(lost, []);
  // 4096 is reached by the 5th unit: 5 units, rotate, 5 units, rotate.
  assert.deepEqual(parts, [5, 5]);
  assert.equal(counters.rotations, 2);
  assert.deepEqual(await names(dir.path), ["a.log", "a.log.1", "a.log.2"]);
  assert.equal((await Deno.stat(`${path}.2`)).size, 5000);
  assert.equal((await Deno.stat(`${path}.1`)).size, 5000);
  assert.equal((await Deno.stat(path)).size, 0);
});

Deno.test("RotatingWrites.write() cuts a unit of lines (a 0.x client's) after the line that reaches the size", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/b.log`;
  const { writer, writes } = await setUp(path);
  const lines = Array.from(
    { length: 100 },
    (_, k) => `line ${String(k).padStart(3, "0")} ${"l".repeat(90)}\n`,
  );
  await writes.write(
    unitsOf({ failed: false, lines: true }, [lines.join("")]),
    (p) => writer.write(p).then(() => true),
  );
  writer.close();
  const files = [`${path}.2`, `${path}.1`, path];
  const texts = await Promise.all(files.map((file) => Deno.readTextFile(file)));
  for (const text of texts.slice(0, 2)) {
    assert.ok(text.length >= 4096, `${text.length} bytes`);
    assert.ok(text.length - lines[0]!.length < 4096, `${text.length} bytes`);
  }
  assert.equal(texts.join(""), lines.join(""));
});

Deno.test("RotatingWrites.movedBySomeoneElse() says no for a check that overlapped its own rotation", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/c.log`;
  const { writer, writes } = await setUp(path);
  let release!: (moved: boolean) => void;
  const check = writes.movedBySomeoneElse(() => new Promise((r) => release = r));
  await writes.write(
    unitsOf({ failed: false }, ["x".repeat(5000)]),
    (p) => writer.write(p).then(() => true),
  );
  release(true);
  assert.equal(await check, false);
  assert.equal(await writes.movedBySomeoneElse(() => writer.moved()), false);
  await Deno.rename(path, `${path}.moved`);
  assert.equal(await writes.movedBySomeoneElse(() => writer.moved()), true);
  writer.close();
});
