// Rotation under writing: the file renamed or deleted (found within --rotate-check),
// SIGHUP, and who is told. See RELIABILITY.md.

import assert from "node:assert/strict";
import { ProxyFile } from "../../mod.ts";
import { startServer, waitUntil } from "../_server.ts";
import { readMessages, writeAll } from "../_raw.ts";
import {
  checkRecords,
  range,
  rawLine,
  record,
  sleep,
  spawnWriter,
} from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();

/** Reads an open file from where it is to its end. */
async function readAll(file: Deno.FsFile): Promise<string> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
  }
  return chunks.join("") + decoder.decode();
}

/** Writes record(0, i), 20 per millisecond, until stopped. */
function writeSteadily(file: ProxyFile): { next(): number; stop(): number } {
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 20; k++) file.write(record(0, i++));
  }, 1);
  return {
    next: () => i,
    stop() {
      clearInterval(timer);
      return i;
    },
  };
}

for (const how of ["renamed", "deleted"] as const) {
  Deno.test(`reliability: a file ${how} while written is reopened within --rotate-check; old data stays in the old file, later data in the new`, async () => {
    await using server = await startServer({ args: ["--rotate-check", "200"] });
    const path = `${server.dir}/app.log`;
    let rotatedAt = 0;
    let writtenAtRotation = -1;
    const file = await ProxyFile.open(path, {
      socketPath: server.socketPath,
      onRotated: () => {
        rotatedAt = performance.now();
        writtenAtRotation = writer.next();
      },
    });
    // A 0.x client on the same file, with a line cut in two across the rotation.
    const raw = await Deno.connect({ transport: "unix", path: server.socketPath });
    const old = await (async () => {
      await writeAll(raw, encoder.encode(`${path}\0${rawLine(0, 0)}${rawLine(0, 1)}`));
      const writer = writeSteadily(file);
      await sleep(100);
      // Counted before flush(): the records written before the call are what it confirms.
      const before = writer.next();
      await file.flush();
      const half = rawLine(0, 2);
      await writeAll(raw, encoder.encode(half.slice(0, 5)));
      let handle: Deno.FsFile | null = null;
      const movedAt = performance.now();
      if (how === "renamed") await Deno.rename(path, `${path}.1`);
      else {
        handle = await Deno.open(path, { read: true });
        await Deno.remove(path);
      }
      return { writer, before, half, movedAt, handle };
    })();
    const writer = old.writer;
    try {
      await waitUntil(() => rotatedAt > 0, "ROTATED", 5000);
      await sleep(100);
      await writeAll(raw, encoder.encode(old.half.slice(5) + rawLine(0, 3)));
      await raw.closeWrite();
      // No flag: a 0.x client is not told (a 0.1 client would take it for an error).
      assert.deepEqual(await readMessages(raw), ["OK", "BYE"]);
      const total = writer.stop();
      await file.close();
      await server.waitFor(`Closed ${path}`);
      const oldText = old.handle === null
        ? await Deno.readTextFile(`${path}.1`)
        : await readAll(old.handle);
      const before = checkRecords(oldText);
      const after = checkRecords(await Deno.readTextFile(path));
      assert.deepEqual(before.torn, []);
      assert.deepEqual(after.torn, []);
      const a = before.records.get(0) ?? [];
      // The old file has a prefix (at least what was flushed before the move), the new
      // one the rest: nothing lost, nothing twice, nothing written after ROTATED in the
      // old file.
      assert.deepEqual(a, range(a.length));
      assert.ok(a.length >= old.before, `${a.length} < ${old.before} flushed before`);
      assert.ok(
        a.length <= writtenAtRotation,
        "a record written after ROTATED went to the old file",
      );
      assert.deepEqual(after.records.get(0), range(total).slice(a.length));
      assert.deepEqual(before.lines.get(0), [0, 1]);
      assert.deepEqual(
        after.lines.get(0),
        [2, 3],
        "the line cut across the rotation is whole",
      );
      const ms = rotatedAt - old.movedAt;
      console.log(
        `${how}: ROTATED ${ms.toFixed(0)} ms after the move (--rotate-check 200)`,
      );
      assert.ok(ms < 2000, `took ${ms} ms`);
      assert.match(
        server.stdout(),
        /Reopened .*app\.log \((moved or deleted|deleted while written)\)/,
      );
    } finally {
      writer.stop();
      raw.close();
      old.handle?.close();
      await file.close().catch(() => {});
    }
  });
}

Deno.test("reliability: SIGHUP reopens at once (with --rotate-check 0 nothing else does)", async () => {
  await using server = await startServer({ args: ["--rotate-check", "0"] });
  const path = `${server.dir}/hup.log`;
  const other = `${server.dir}/other.log`;
  let rotations = 0;
  await using file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    onRotated: () => rotations++,
  });
  await using second = await ProxyFile.open(other, {
    socketPath: server.socketPath,
    onRotated: () => rotations++,
  });
  file.write(record(0, 0));
  second.write(record(1, 0));
  await Promise.all([file.flush(), second.flush()]);
  await Deno.rename(path, `${path}.1`);
  await Deno.rename(other, `${other}.1`);
  await sleep(400);
  // No timer: still writing to the moved files.
  file.write(record(0, 1));
  second.write(record(1, 1));
  await Promise.all([file.flush(), second.flush()]);
  assert.equal(rotations, 0);
  const sent = performance.now();
  server.process.kill("SIGHUP");
  await waitUntil(() => rotations === 2, "ROTATED on both files", 5000);
  const ms = performance.now() - sent;
  file.write(record(0, 2));
  second.write(record(1, 2));
  await Promise.all([file.flush(), second.flush()]);
  assert.deepEqual(checkRecords(await Deno.readTextFile(`${path}.1`)).records.get(0), [
    0,
    1,
  ]);
  assert.deepEqual(checkRecords(await Deno.readTextFile(path)).records.get(0), [2]);
  assert.deepEqual(checkRecords(await Deno.readTextFile(`${other}.1`)).records.get(1), [
    0,
    1,
  ]);
  assert.deepEqual(checkRecords(await Deno.readTextFile(other)).records.get(1), [2]);
  console.log(
    `SIGHUP: both files reopened, ROTATED ${ms.toFixed(0)} ms after the signal`,
  );
});

for (const tell of [false, true]) {
  Deno.test(
    `reliability: after a rename, an offlog/1 client gets ROTATED; a raw 0.x client ${
      tell ? "too, with --tell-rotated" : "does not, without --tell-rotated"
    }`,
    async () => {
      await using server = await startServer({
        args: ["--rotate-check", "100", ...(tell ? ["--tell-rotated"] : [])],
      });
      const path = `${server.dir}/told.log`;
      let rotated = 0;
      await using file = await ProxyFile.open(path, {
        socketPath: server.socketPath,
        onRotated: () => rotated++,
      });
      const raw = await Deno.connect({ transport: "unix", path: server.socketPath });
      try {
        await writeAll(raw, encoder.encode(`${path}\0${rawLine(0, 0)}`));
        file.write(record(0, 0));
        await file.flush();
        await waitUntil(
          async () => (await Deno.readTextFile(path)).includes("RAW"),
          "raw line",
        );
        await Deno.rename(path, `${path}.1`);
        await waitUntil(() => rotated === 1, "ROTATED to the offlog/1 client", 5000);
        await writeAll(raw, encoder.encode(rawLine(0, 1)));
        await raw.closeWrite();
        const messages = await readMessages(raw);
        assert.deepEqual(messages, tell ? ["OK", "ROTATED", "BYE"] : ["OK", "BYE"]);
        assert.deepEqual(checkRecords(await Deno.readTextFile(path)).lines.get(0), [1]);
      } finally {
        raw.close();
      }
    },
  );
}

Deno.test("reliability: five rotations (timer and SIGHUP) while 8 clients stream: every record whole, in exactly one file, in order", async () => {
  await using server = await startServer({ args: ["--rotate-check", "50"] });
  const path = `${server.dir}/busy.log`;
  const COUNT = 2000;
  const writers = range(4).map((p) =>
    spawnWriter(server.socketPath, {
      path,
      clients: [p * 2, p * 2 + 1],
      count: COUNT,
      burst: 20,
      pauseMs: 2,
    })
  );
  // The test's own client keeps the file open however fast the writers are, and marks
  // each file: record 50/k goes in after the k-th reopen.
  await using marker = await ProxyFile.open(path, { socketPath: server.socketPath });
  marker.write(record(50, 0));
  await marker.flush();
  await Promise.all(writers.map((w, p) => w.waitFor(`confirmed ${p * 2 + 1} `)));
  const reopened = () => (server.stdout().match(/Reopened /g) ?? []).length;
  for (let k = 1; k <= 5; k++) {
    await sleep(60);
    const before = reopened();
    await Deno.rename(path, `${path}.${k}`);
    if (k % 2 === 0) server.process.kill("SIGHUP");
    await waitUntil(() => reopened() > before, `reopen ${k}`, 5000);
    marker.write(record(50, k));
    await marker.flush();
  }
  await marker.close();
  for (const writer of writers) {
    const result = await writer.exited();
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /error/);
  }
  await server.waitFor(`Closed ${path}`);
  const files = [...range(5).map((k) => `${path}.${k + 1}`), path];
  const seen = new Map<number, number[]>();
  const perFile: number[] = [];
  for (const [k, name] of files.entries()) {
    const census = checkRecords(await Deno.readTextFile(name));
    assert.deepEqual(census.torn, [], name);
    assert.deepEqual(census.records.get(50), [k], `the marker of ${name}`);
    census.records.delete(50);
    let records = 0;
    for (const [c, list] of census.records) {
      seen.set(c, [...(seen.get(c) ?? []), ...list]);
      records += list.length;
    }
    perFile.push(records);
  }
  for (const c of range(8)) assert.deepEqual(seen.get(c), range(COUNT), `client ${c}`);
  console.log(`records per file across 5 rotations: ${perFile.join(", ")}`);
});
