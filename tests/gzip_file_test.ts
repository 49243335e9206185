// Compressing a rotated file (server/gzip_file.ts).

import assert from "node:assert/strict";
import { gzipFile, restAfter } from "../server/gzip_file.ts";
import { tempDir } from "./_server.ts";
import { gunzip } from "./_rotated.ts";

Deno.test("gzipFile() writes a gzip file that gzip -d reads back byte for byte", async () => {
  await using dir = await tempDir();
  const data = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let k = 0; k < data.length; k++) data[k] = (k * 7919) % 251 < 200 ? 97 : k % 256;
  await Deno.writeFile(`${dir.path}/a`, data);
  using source = await Deno.open(`${dir.path}/a`);
  const result = await gzipFile(source, `${dir.path}/a.gz`, { chunkBytes: 100_000 });
  assert.equal(result.bytesIn, data.length);
  assert.equal(result.bytesOut, (await Deno.stat(`${dir.path}/a.gz`)).size);
  assert.deepEqual(await gunzip(`${dir.path}/a.gz`), data);
  const gzip = await new Deno.Command("gzip", {
    args: ["-dc", `${dir.path}/a.gz`],
    stdout: "piped",
  }).output();
  assert.equal(gzip.code, 0);
  assert.deepEqual(gzip.stdout, data);
});

Deno.test("gzipFile() lets timers run between chunks", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a`, new Uint8Array(2 * 1024 * 1024).fill(120));
  using source = await Deno.open(`${dir.path}/a`);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    await gzipFile(source, `${dir.path}/a.gz`, { chunkBytes: 64 * 1024 });
  } finally {
    clearInterval(timer);
  }
  // 32 chunks, each followed by a timer turn.
  assert.ok(ticks >= 16, `timers ran ${ticks} times during 32 chunks`);
});

Deno.test("gzipFile() stops when aborted, the target left for the caller", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a`, new Uint8Array(1024 * 1024));
  using source = await Deno.open(`${dir.path}/a`);
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(
    gzipFile(source, `${dir.path}/a.gz`, { signal: controller.signal }),
    /stop/,
  );
  assert.ok((await Deno.stat(`${dir.path}/a.gz`)).isFile);
});

Deno.test("gzipFile() of an empty file is a valid empty gzip", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a`, new Uint8Array(0));
  using source = await Deno.open(`${dir.path}/a`);
  assert.equal((await gzipFile(source, `${dir.path}/a.gz`)).bytesIn, 0);
  assert.equal((await gunzip(`${dir.path}/a.gz`)).length, 0);
});

Deno.test("gzipFile() rests after every chunk as long as restAfter() says for its duty", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a`, new Uint8Array(2 * 1024 * 1024).fill(7));
  using source = await Deno.open(`${dir.path}/a`);
  const rests: number[] = [];
  await gzipFile(source, `${dir.path}/a.gz`, {
    duty: 0.1,
    rest: (ms) => {
      rests.push(ms);
      return Promise.resolve();
    },
  });
  assert.equal(rests.length, 32, "one rest per 64 KiB chunk");
  assert.ok(rests.every((ms) => ms >= 0));
  assert.equal(restAfter(1, 0.1), 9);
  assert.equal(restAfter(3, 1), 0);
});

Deno.test("gzipFile() replaces a symlink at the target name, never writing through it", async () => {
  await using dir = await tempDir();
  const victim = `${dir.path}/victim`;
  await Deno.writeTextFile(victim, "keep me\n");
  await Deno.writeTextFile(`${dir.path}/a`, "log line\n");
  await Deno.symlink(victim, `${dir.path}/a.gz.tmp`);
  using source = await Deno.open(`${dir.path}/a`);
  await gzipFile(source, `${dir.path}/a.gz.tmp`);
  assert.equal(await Deno.readTextFile(victim), "keep me\n");
  assert.ok((await Deno.lstat(`${dir.path}/a.gz.tmp`)).isFile);
  assert.deepEqual(
    new TextDecoder().decode(await gunzip(`${dir.path}/a.gz.tmp`)),
    "log line\n",
  );
});
