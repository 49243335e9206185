// Hardening (issue 10), the disk side: a real file system that fills up, a path whose
// directory is removed under its clients, and the rotation check racing the last
// client's leaving. See /tmp/offlog/contract.md ("Disk faults", "A path that is gone",
// "Rotation check vs last client leaving"). EFBIG is covered in
// reliability_faults_test.ts.

import assert from "node:assert/strict";
import { OfflogServerError, ProxyFile } from "../../mod.ts";
import { readUntilClosed, startServer, tempDir, waitUntil } from "../_server.ts";
import { sleep } from "../fixtures/reliability_lib.ts";
import {
  mountTmpfs,
  openDescriptors,
  openRaw,
  whyNoTmpfs,
} from "../fixtures/hardening_lib.ts";

// A tmpfs needs root (CI runs as root). Elsewhere the test is skipped, saying why; on
// CI (CI=true) it runs and fails.
const NO_TMPFS = await whyNoTmpfs();
const IN_CI = Deno.env.get("CI") === "true";
if (NO_TMPFS !== null && !IN_CI) {
  console.log(
    `hardening: skipping the full-disk test: cannot mount a tmpfs (${NO_TMPFS})`,
  );
}

/** Record `i` of the full-disk test: 100 bytes, one line, numbered. */
function record(i: number): string {
  return `${String(i).padStart(6, "0")} ${"d".repeat(92)}\n`;
}

/** The message the clients of `path` get when its directory is gone. */
function lostMessage(path: string): string {
  return `[Errno 2] No such file or directory: '${path}' (the file was deleted and ` +
    "cannot be created again; records not acknowledged were not written)";
}

/** Checks that `error` is the NotFound a ProxyFile throws for a path that is gone. */
function isLost(error: unknown, path: string): true {
  assert.ok(error instanceof Deno.errors.NotFound, `not NotFound: ${error}`);
  const cause = error.cause;
  assert.ok(cause instanceof OfflogServerError, `cause: ${cause}`);
  assert.equal(cause.serverName, "FileNotFoundError");
  assert.equal(cause.message, lostMessage(path));
  return true;
}

/** Resolves with what `flush()` rejects with once it does (`flush()` with nothing new). */
async function flushError(file: ProxyFile, what: string, timeoutMs: number) {
  let error: unknown = null;
  await waitUntil(
    () =>
      file.flush().then(() => false, (e) => {
        error = e;
        return true;
      }),
    what,
    timeoutMs,
  );
  return error;
}

/**
 * After the server logged the path as lost: with its directory back, a new client of
 * the path is served.
 */
async function servedAgain(
  server: { socketPath: string; waitFor(text: string): Promise<void> },
  dir: string,
  path: string,
): Promise<void> {
  await server.waitFor(`Lost ${path}: `);
  await Deno.mkdir(dir);
  {
    await using again = await ProxyFile.open(path, { socketPath: server.socketPath });
    again.write("again\n");
    await again.flush();
  }
  assert.equal(await Deno.readTextFile(path), "again\n");
}

Deno.test({
  name:
    "hardening: a full tmpfs: flush() rejects with ENOSPC, the file ends on a record boundary, and once space is freed the next record starts on its own line",
  ignore: NO_TMPFS !== null && !IN_CI,
  async fn() {
    if (NO_TMPFS !== null) throw new Error(`CI=true but no tmpfs: ${NO_TMPFS}`);
    await using dir = await tempDir("offlog_enospc_");
    const disk = `${dir.path}/disk`;
    await Deno.mkdir(disk);
    await using _mount = await mountTmpfs(disk, "1m");
    // Disposed first: the server exits (closing its files) before the unmount.
    await using server = await startServer({ dir: dir.path });
    // A filler to delete later, so that space can be freed.
    const filler = `${disk}/filler`;
    await Deno.writeFile(filler, new Uint8Array(256 * 1024));
    const path = `${disk}/app.log`;
    const enospc = `[Errno 28] No space left on device: '${path}'`;
    const file = await ProxyFile.open(path, { socketPath: server.socketPath });
    let sent = 0;
    let confirmed = 0;
    let failure: unknown = null;
    try {
      // Batches of 50 records (5,000 bytes: never a multiple of a page), flushed.
      while (failure === null) {
        assert.ok(sent < 20_000, "1 MiB took 2 MB of records and never filled up");
        for (let k = 0; k < 50; k++) file.write(record(sent++));
        await file.flush().then(() => confirmed = sent, (e) => failure = e);
      }
    } finally {
      await file.close().catch(() => {});
    }
    assert.ok(failure instanceof OfflogServerError, String(failure));
    assert.equal(failure.serverName, "OSError");
    assert.equal(failure.message, enospc);
    const full = await Deno.readTextFile(path);
    const whole = Math.floor(full.length / 100);
    console.log(
      `tmpfs of 1 MiB with a 256 KiB filler: full at ${full.length} bytes; ` +
        `${confirmed} records confirmed, ${whole} in the file, ${sent} sent`,
    );
    assert.equal(full.length % 100, 0, `the file ends in a cut record (${full.length})`);
    for (let i = 0; i < whole; i++) {
      assert.equal(full.slice(i * 100, (i + 1) * 100), record(i), `record ${i}`);
    }
    assert.ok(whole >= confirmed, `${confirmed} confirmed, ${whole} in the file`);
    assert.ok(whole < sent);

    // Still full: a new client is served, and its record (bigger than a page and what
    // a cut could have freed) fails the same way, leaving the file as it was.
    {
      await using again = await ProxyFile.open(path, { socketPath: server.socketPath });
      again.write(`big ${"b".repeat(16 * 1024)}\n`);
      await assert.rejects(again.flush(), (error: Error) => {
        assert.ok(error instanceof OfflogServerError, String(error));
        assert.equal(error.message, enospc);
        return true;
      });
      await again.close().catch(() => {});
    }
    assert.equal(await Deno.readTextFile(path), full);

    // Space freed: the next record starts on a clean line.
    await Deno.remove(filler);
    {
      await using after = await ProxyFile.open(path, { socketPath: server.socketPath });
      after.write("after the disk was freed\n");
      await after.flush();
    }
    assert.equal(await Deno.readTextFile(path), `${full}after the disk was freed\n`);
  },
});

Deno.test("hardening: a directory removed under idle clients: the rotation check tells them FileNotFoundError within ~1 s; once it exists again, a new client is served", async () => {
  await using server = await startServer({ args: ["--rotate-check", "200"] });
  const sub = `${server.dir}/sub`;
  await Deno.mkdir(sub);
  const path = `${sub}/app.log`;
  const idle = await ProxyFile.open(path, { socketPath: server.socketPath });
  const raw = await openRaw(server.socketPath, path, false);
  try {
    idle.write("before the removal\n");
    await idle.flush();
    await Deno.remove(sub, { recursive: true });
    const removed = performance.now();
    // Nobody writes: only the periodic check can notice.
    const [error, received] = await Promise.all([
      flushError(idle, "the idle ProxyFile learns the path is gone", 3000),
      readUntilClosed(raw, 3000),
    ]);
    const ms = performance.now() - removed;
    console.log(
      `a removed directory was reported to idle clients in ${ms.toFixed(0)} ms`,
    );
    isLost(error, path);
    assert.throws(() => idle.write("more\n"), Deno.errors.NotFound);
    assert.equal(received.text, `FileNotFoundError: ${lostMessage(path)}\0`);
    assert.ok(received.closed, "the 0.x client was not closed");
    assert.ok(ms < 1500, `took ${ms} ms`);
    await servedAgain(server, sub, path);
  } finally {
    raw.close();
    await idle.close().catch(() => {});
  }
});

Deno.test("hardening: a directory removed under a writing client: flush() throws NotFound and nothing is acknowledged that went only to the unlinked file", async () => {
  // No rotation check: the server must notice at the write.
  await using server = await startServer({ args: ["--rotate-check", "0"] });
  const sub = `${server.dir}/sub`;
  await Deno.mkdir(sub);
  const path = `${sub}/app.log`;
  const writer = await ProxyFile.open(path, { socketPath: server.socketPath });
  const raw = await openRaw(server.socketPath, path, false);
  try {
    writer.write("before the removal\n");
    await writer.flush();
    await Deno.remove(sub, { recursive: true });
    const removed = performance.now();
    writer.write("after the removal\n");
    const error = await writer.flush().then(() => null, (e) => e);
    const ms = performance.now() - removed;
    assert.notEqual(
      error,
      null,
      "flush() resolved: a record that only went to an unlinked file was acknowledged",
    );
    isLost(error, path);
    assert.ok(ms < 1000, `took ${ms} ms`);
    // The other client of the file is told and closed too.
    const received = await readUntilClosed(raw, 3000);
    assert.equal(received.text, `FileNotFoundError: ${lostMessage(path)}\0`);
    assert.ok(received.closed, "the 0.x client was not closed");
    await servedAgain(server, sub, path);
  } finally {
    raw.close();
    await writer.close().catch(() => {});
  }
});

Deno.test("hardening: a file deleted under a writing client: the next write goes to a new file at the path before it is acknowledged", async () => {
  await using server = await startServer({ args: ["--rotate-check", "0"] });
  const path = `${server.dir}/deleted.log`;
  await using writer = await ProxyFile.open(path, { socketPath: server.socketPath });
  writer.write("before\n");
  await writer.flush();
  await Deno.remove(path);
  writer.write("after\n");
  await writer.flush();
  const text = await Deno.readTextFile(path).catch((e) => `(${e})`);
  assert.equal(text, "after\n", "an acknowledged record is not at the path");
});

Deno.test("hardening: the rotation check racing the last client's leaving (--rotate-check 1): no descriptor leaks, no stray file is created", async () => {
  await using server = await startServer({ args: ["--rotate-check", "1"] });
  const pid = server.process.pid;
  const paths = [0, 1, 2].map((k) => `${server.dir}/race${k}.log`);
  const mine = (target: string) => target.startsWith(`${server.dir}/`);
  // One client per path first, so that descriptors opened lazily are counted before.
  for (const path of paths) {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    file.write("warm up\n");
    await file.flush();
  }
  await waitUntil(
    async () => (await openDescriptors(pid)).filter(mine).length === 0,
    "the warm-up files closed",
  );
  const before = await openDescriptors(pid);
  let stop = false;
  let sessions = 0;
  let renames = 0;
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      await using file = await ProxyFile.open(paths[(c + i) % paths.length]!, {
        socketPath: server.socketPath,
      });
      file.write(`client ${c} record ${i}\n`);
      sessions++;
    }
  };
  const renamer = async () => {
    for (let n = 0; !stop; n++) {
      const path = paths[n % paths.length]!;
      try {
        await Deno.rename(path, `${path}.${n}`);
        renames++;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await sleep(n % 7);
    }
  };
  const running = Promise.all([client(0), client(1), client(2), client(3), renamer()]);
  await sleep(5000);
  stop = true;
  await running;
  // Every client has had its BYE; the server closes the files right after.
  let after = before;
  await waitUntil(
    async () => {
      after = await openDescriptors(pid);
      return after.length <= before.length + 1 && !after.some(mine);
    },
    "the server's descriptors back to what it had before",
    3000,
  ).catch(() => {});
  const leaked = after.filter(mine);
  const empty: string[] = [];
  for await (const entry of Deno.readDir(server.dir)) {
    if (!entry.isFile) continue;
    const stat = await Deno.stat(`${server.dir}/${entry.name}`);
    if (stat.size === 0) empty.push(entry.name);
  }
  console.log(
    `${sessions} client sessions and ${renames} renames in 5 s: server descriptors ` +
      `${before.length} before, ${after.length} after; ${leaked.length} still open in ` +
      `the test directory; empty files: ${empty.length}`,
  );
  assert.deepEqual(leaked, [], "descriptors leaked to files whose clients all left");
  assert.ok(
    Math.abs(after.length - before.length) <= 1,
    `${before.length} descriptors before, ${after.length} after`,
  );
  assert.ok(sessions > 100, `only ${sessions} sessions`);
  assert.ok(renames > 20, `only ${renames} renames`);
  // Empty files are no proof of a stray here: a reopen made while a client was still
  // connected (that client then left without writing) leaves one too. A stray, made by
  // a reopen after the last client left, keeps its handle: the check above finds it.
  // What can be checked without a race: a path whose last client left and which was
  // then renamed away is not created again, however many checks run.
  for (const path of paths) {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    file.write("last\n");
    await file.flush();
  }
  await waitUntil(
    async () => !(await openDescriptors(pid)).some(mine),
    "the last clients' files closed",
    3000,
  );
  for (const path of paths) await Deno.rename(path, `${path}.last`);
  await sleep(300); // some hundred rotation checks
  for (const path of paths) {
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound, `${path} came back`);
  }
});
