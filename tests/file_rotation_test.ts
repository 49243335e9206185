// One file's built-in rotation, as its writer uses it (server/file_rotation.ts).

import assert from "node:assert/strict";
import { Compressor } from "../server/compressor.ts";
import { FileRotation } from "../server/file_rotation.ts";
import { tempDir } from "./_server.ts";

const policy = { size: 4096, intervalMs: 60_000, keep: 2, compress: false };

Deno.test("FileRotation is due by size once reached, and says how many units still go in", async () => {
  await using dir = await tempDir();
  const rotation = await FileRotation.open(`${dir.path}/a.log`, policy);
  assert.equal(rotation.due(4000), null);
  assert.equal(rotation.unitsBefore(4000, [50, 50, 50]), 2);
  assert.equal(rotation.due(4096), "size");
});

Deno.test("FileRotation is due by age only once the file has data", async () => {
  await using dir = await tempDir();
  let now = 0;
  const rotation = await FileRotation.open(`${dir.path}/a.log`, policy, {
    now: () => now,
  });
  now = 60_000;
  assert.equal(rotation.due(0), null);
  assert.equal(rotation.due(1), "age");
  rotation.reopened();
  assert.equal(rotation.due(1), null, "counted again from the reopen");
  await Deno.writeTextFile(`${dir.path}/a.log`, "x");
  await rotation.rotate(1);
  now = 119_999;
  assert.equal(rotation.due(1), null, "counted again from the rotation");
});

Deno.test("FileRotation.rotate() renames, logs Rotated PATH (N bytes) and what --rotate-keep removed", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.log`;
  const lines: string[] = [];
  const rotation = await FileRotation.open(path, policy, {
    log: (message) => lines.push(message),
  });
  for (let k = 1; k <= 3; k++) {
    await Deno.writeTextFile(path, "x".repeat(5000));
    await rotation.rotate(5000);
  }
  await rotation.rotated.settled();
  assert.deepEqual(lines, [
    `Rotated ${path} (5000 bytes)`,
    `Rotated ${path} (5000 bytes)`,
    `Rotated ${path} (5000 bytes)`,
    `Removed ${path}.3 (--rotate-keep)`,
  ]);
});

Deno.test("FileRotation.open() tidies a crash's leftovers and has the rest compressed", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.log`;
  await Deno.writeTextFile(`${path}.1`, "one\n");
  await Deno.writeTextFile(`${dir.path}/.a.log.gz.tmp`, "half");
  const lines: string[] = [];
  await using compressor = new Compressor();
  await FileRotation.open(path, { ...policy, compress: true }, {
    compressor,
    log: (message) => lines.push(message),
  });
  await compressor.idle();
  assert.match(lines[0]!, /^Removed .*\.a\.log\.gz\.tmp, an unfinished compression/);
  await assert.rejects(Deno.stat(`${path}.1`), Deno.errors.NotFound);
  assert.ok((await Deno.stat(`${path}.1.gz`)).isFile);
  await assert.rejects(Deno.stat(`${dir.path}/.a.log.gz.tmp`), Deno.errors.NotFound);
});

Deno.test("FileRotation.rotate() that fails logs once, returns false, and waits a second before the next try", async () => {
  await using dir = await tempDir();
  let now = 0;
  const lines: string[] = [];
  const rotation = await FileRotation.open(`${dir.path}/gone.log`, policy, {
    now: () => now,
    log: (message, warning) => lines.push(`${warning ? "W " : ""}${message}`),
  });
  assert.equal(await rotation.rotate(5000), false);
  assert.equal(rotation.due(5000), null, "no retry at once");
  now = 999;
  assert.equal(rotation.due(5000), null);
  now = 1000;
  assert.equal(rotation.due(5000), "size");
  assert.equal(await rotation.rotate(5000), false);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /^W Could not rotate .*gone\.log: NotFound: Not rotated: .* is gone/,
  );
});
