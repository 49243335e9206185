// The server's background compression of rotated files (server/compressor.ts).

import assert from "node:assert/strict";
import { type Compressed, Compressor } from "../server/compressor.ts";
import { RotatedFiles } from "../server/rotated_files.ts";
import { tempDir } from "./_server.ts";
import { gunzip, names } from "./_rotated.ts";

/** `count` rotated files of `bytes` each for `path`, the newest last written. */
async function rotations(
  rotated: RotatedFiles,
  count: number,
  bytes = 10,
): Promise<void> {
  for (let k = 1; k <= count; k++) {
    await Deno.writeTextFile(rotated.path, `${k}`.padEnd(bytes, "x") + "\n");
    await rotated.rotate();
  }
}

Deno.test("Compressor compresses every rotated file, newest first, and removes the plain ones", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const rotated = new RotatedFiles(path, { keep: 5, compress: true });
  await rotations(rotated, 3);
  const done: Compressed[] = [];
  await using compressor = new Compressor({ onCompressed: (c) => done.push(c) });
  compressor.schedule(rotated);
  compressor.schedule(rotated);
  await compressor.idle();
  assert.deepEqual(done.map((c) => c.target), [
    `${path}.1.gz`,
    `${path}.2.gz`,
    `${path}.3.gz`,
  ]);
  assert.deepEqual(await names(dir.path), [
    "app.log.1.gz",
    "app.log.2.gz",
    "app.log.3.gz",
  ]);
  assert.equal(new TextDecoder().decode(await gunzip(`${path}.1.gz`)), "3xxxxxxxxx\n");
  assert.equal(new TextDecoder().decode(await gunzip(`${path}.3.gz`)), "1xxxxxxxxx\n");
  assert.equal(done[0]!.bytesIn, 11);
});

Deno.test("Compressor runs one compression at a time for the whole server", async () => {
  await using dir = await tempDir();
  const paths = ["a.log", "b.log"].map((name) =>
    new RotatedFiles(`${dir.path}/${name}`, { keep: 5, compress: true })
  );
  for (const rotated of paths) await rotations(rotated, 3, 512 * 1024);
  await using compressor = new Compressor();
  for (const rotated of paths) compressor.schedule(rotated);
  let most = 0;
  let seen = 0;
  const running = compressor.idle();
  let idle = false;
  running.then(() => idle = true);
  while (!idle) {
    const temporaries = (await names(dir.path)).filter((n) => n.endsWith(".tmp"));
    most = Math.max(most, temporaries.length);
    if (temporaries.length > 0) seen++;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(seen > 0, "a temporary file was seen while compressing");
  assert.equal(most, 1);
  assert.equal((await names(dir.path)).filter((n) => n.endsWith(".gz")).length, 6);
});

Deno.test("Compressor.close() gives up the compression under way: temporary removed, file kept", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const rotated = new RotatedFiles(path, { keep: 5, compress: true });
  await rotations(rotated, 1, 4 * 1024 * 1024);
  const compressor = new Compressor();
  compressor.schedule(rotated);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await compressor.close();
  await compressor.close();
  assert.deepEqual(await names(dir.path), ["app.log.1"]);
  compressor.schedule(rotated);
  await compressor.idle();
  assert.deepEqual(await names(dir.path), ["app.log.1"]);
});

Deno.test("Compressor logs a failure once and goes on with other paths", async () => {
  await using dir = await tempDir();
  const bad = new RotatedFiles(`${dir.path}/sub/bad.log`, { keep: 5, compress: true });
  await Deno.mkdir(`${dir.path}/sub`);
  await rotations(bad, 1);
  // The temporary file cannot be created: a directory stands at its name.
  await Deno.mkdir(bad.temporary);
  await Deno.writeTextFile(`${bad.temporary}/keep`, "");
  const good = new RotatedFiles(`${dir.path}/good.log`, { keep: 5, compress: true });
  await rotations(good, 1);
  const lines: string[] = [];
  await using compressor = new Compressor({ log: (message) => lines.push(message) });
  compressor.schedule(bad);
  compressor.schedule(good);
  await compressor.idle();
  compressor.schedule(bad);
  await compressor.idle();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^Could not compress the rotated files of .*bad\.log: /);
  assert.ok((await Deno.stat(`${dir.path}/good.log.1.gz`)).isFile);
  assert.ok((await Deno.stat(`${dir.path}/sub/bad.log.1`)).isFile);
});
