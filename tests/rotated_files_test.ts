// The rotated files of one path (server/rotated_files.ts): logrotate's naming, keep N,
// never a rename over an existing file, and what a crash leaves tidied.

import assert from "node:assert/strict";
import { RotatedFiles } from "../server/rotated_files.ts";
import { tempDir } from "./_server.ts";
import { gzipText, names } from "./_rotated.ts";

Deno.test("RotatedFiles.rotate() shifts PATH.N to PATH.N+1, PATH to PATH.1, and keeps N", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const rotated = new RotatedFiles(path, { keep: 3, compress: false });
  for (let k = 1; k <= 5; k++) {
    await Deno.writeTextFile(path, `file ${k}\n`);
    const removed = await (await rotated.rotate()).removed;
    assert.deepEqual(removed, k > 3 ? [`${path}.4`] : []);
  }
  assert.deepEqual(await names(dir.path), ["app.log.1", "app.log.2", "app.log.3"]);
  assert.equal(await Deno.readTextFile(`${path}.1`), "file 5\n");
  assert.equal(await Deno.readTextFile(`${path}.2`), "file 4\n");
  assert.equal(await Deno.readTextFile(`${path}.3`), "file 3\n");
});

Deno.test("RotatedFiles.rotate() moves .gz files along and stops at the first free number", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(`${path}.1.gz`, "one");
  await Deno.writeTextFile(`${path}.2`, "two");
  // A gap at 3: the file past it is left alone.
  await Deno.writeTextFile(`${path}.4`, "four");
  await Deno.writeTextFile(path, "live");
  const rotated = new RotatedFiles(path, { keep: 5, compress: true });
  assert.deepEqual(await (await rotated.rotate()).removed, []);
  assert.deepEqual(await names(dir.path), [
    "app.log.1",
    "app.log.2.gz",
    "app.log.3",
    "app.log.4",
  ]);
  assert.equal(await Deno.readTextFile(`${path}.1`), "live");
  assert.equal(await Deno.readTextFile(`${path}.2.gz`), "one");
  assert.equal(await Deno.readTextFile(`${path}.3`), "two");
  assert.equal(await Deno.readTextFile(`${path}.4`), "four");
});

Deno.test("RotatedFiles.rotate() with --rotate-keep 1 keeps only PATH.1, its .gz too", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(`${path}.1.gz`, "old");
  await Deno.writeTextFile(path, "new");
  const rotated = new RotatedFiles(path, { keep: 1, compress: true });
  assert.deepEqual(await (await rotated.rotate()).removed, [`${path}.2.gz`]);
  assert.deepEqual(await names(dir.path), ["app.log.1"]);
});

Deno.test("RotatedFiles.rotate() throws, and moves nothing, when the path is missing", async () => {
  await using dir = await tempDir();
  const rotated = new RotatedFiles(`${dir.path}/none.log`, { keep: 5, compress: false });
  await assert.rejects(rotated.rotate(), Deno.errors.NotFound);
  assert.deepEqual(await names(dir.path), []);
});

Deno.test("RotatedFiles.recover() removes the temporary file and the plain copy of a complete .gz", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(path, "live");
  await Deno.writeTextFile(`${path}.1`, "one");
  await Deno.writeTextFile(`${path}.2`, "two");
  await Deno.writeFile(`${path}.2.gz`, await gzipText("two"));
  await Deno.writeTextFile(`${path}.3`, "three");
  await Deno.writeTextFile(`${dir.path}/.app.log.gz.tmp`, "half");
  const rotated = new RotatedFiles(path, { keep: 5, compress: true });
  assert.equal(rotated.temporary, `${dir.path}/.app.log.gz.tmp`);
  assert.deepEqual(await rotated.recover(), {
    removedTemporary: true,
    removedCopies: [`${path}.2`],
    toCompress: 2,
  });
  assert.deepEqual(await names(dir.path), [
    "app.log",
    "app.log.1",
    "app.log.2.gz",
    "app.log.3",
  ]);
  const plain = new RotatedFiles(path, { keep: 5, compress: false });
  assert.equal((await plain.recover()).toCompress, 0);
});

Deno.test("RotatedFiles.place() finds its file after later rotations moved it, or drops the copy", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const rotated = new RotatedFiles(path, { keep: 2, compress: true });
  await Deno.writeTextFile(path, "first");
  await rotated.rotate();
  const job = (await rotated.nextToCompress())!;
  assert.equal(job.source, `${path}.1`);
  await Deno.writeFile(job.temporary, await gzipText("first"));
  // Rotated again while compressed: the file is now PATH.2.
  await Deno.writeTextFile(path, "second");
  await rotated.rotate();
  assert.equal(await rotated.place(job), `${path}.2.gz`);
  job.file.close();
  assert.deepEqual(await names(dir.path), ["app.log.1", "app.log.2.gz"]);

  const next = (await rotated.nextToCompress())!;
  assert.equal(next.source, `${path}.1`);
  await Deno.writeTextFile(next.temporary, "partial");
  // Two more rotations push it past --rotate-keep 2: its copy is dropped.
  for (const text of ["third", "fourth"]) {
    await Deno.writeTextFile(path, text);
    await rotated.rotate();
  }
  assert.equal(await rotated.place(next), null);
  next.file.close();
  assert.deepEqual(await names(dir.path), ["app.log.1", "app.log.2"]);
  assert.equal(await Deno.readTextFile(`${path}.2`), "third");
});

Deno.test("RotatedFiles.nextToCompress() takes the newest plain file, none when compression is off", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(`${path}.1.gz`, "x");
  await Deno.writeTextFile(`${path}.2`, "two");
  await Deno.writeTextFile(`${path}.3`, "three");
  const job = await new RotatedFiles(path, { keep: 5, compress: true }).nextToCompress();
  assert.equal(job?.source, `${path}.2`);
  job?.file.close();
  assert.equal(
    await new RotatedFiles(path, { keep: 5, compress: false }).nextToCompress(),
    null,
  );
});

Deno.test("RotatedFiles.rotate(ino) renames nothing when PATH is not the open file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(`${path}.1`, "older");
  await Deno.writeTextFile(path, "someone else's");
  const rotated = new RotatedFiles(path, { keep: 5, compress: false });
  const other = (await Deno.stat(`${path}.1`)).ino;
  await assert.rejects(rotated.rotate(other), /not the file open/);
  assert.deepEqual(await names(dir.path), ["app.log", "app.log.1"]);
  await rotated.rotate((await Deno.stat(path)).ino);
  assert.deepEqual(await names(dir.path), ["app.log.1", "app.log.2"]);
});

Deno.test("RotatedFiles.syncInodes() syncs the plain rotated files of those inodes, wherever they moved", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const rotated = new RotatedFiles(path, { keep: 5, compress: false });
  await Deno.writeTextFile(path, "one");
  const ino = (await Deno.stat(path)).ino!;
  await rotated.rotate();
  await Deno.writeTextFile(path, "two");
  await rotated.rotate();
  await rotated.syncInodes(new Set([ino, 12345]));
  assert.equal(await Deno.readTextFile(`${path}.2`), "one");
});

Deno.test("RotatedFiles of one path opened again: recover() leaves the temporary file of a compression under way", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const first = new RotatedFiles(path, { keep: 5, compress: true });
  await Deno.writeTextFile(path, "one");
  await first.rotate();
  const job = (await first.nextToCompress())!;
  await Deno.writeFile(job.temporary, await gzipText("one"));
  // The path closed and opened again: a new object, the compression still going.
  const second = new RotatedFiles(path, { keep: 5, compress: true });
  assert.equal((await second.recover()).removedTemporary, false);
  assert.equal(await first.place(job), `${path}.1.gz`);
  job.file.close();
  assert.deepEqual(await names(dir.path), ["app.log.1.gz"]);
  // Once placed, a leftover at that name would be a crash's.
  await Deno.writeTextFile(second.temporary, "half");
  assert.equal((await second.recover()).removedTemporary, true);
});

Deno.test("RotatedFiles.nextToCompress() never opens a symlink or a FIFO put at a rotated name", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const secret = `${dir.path}/secret`;
  await Deno.writeTextFile(secret, "not a log\n");
  await Deno.symlink(secret, `${path}.1`);
  const fifo = await new Deno.Command("mkfifo", { args: [`${path}.2`] }).output();
  assert.equal(fifo.code, 0);
  await Deno.writeTextFile(`${path}.3`, "three");
  // Opening the FIFO for reading would block: the test would time out.
  const job = await new RotatedFiles(path, { keep: 5, compress: true }).nextToCompress();
  assert.equal(job?.source, `${path}.3`);
  job?.file.close();
});
