// Built-in rotation under load (--rotate-size, --rotate-interval, --rotate-keep,
// --rotate-compress): nothing lost, torn or reordered across the rotated files, the
// clients see nothing of it, and a server killed in the middle of it loses nothing.
// See README "Rotation" and RELIABILITY.md.

import assert from "node:assert/strict";
import { ProxyFile } from "../../mod.ts";
import { readMessages, writeAll } from "../_raw.ts";
import { names, rotatedSet, type RotatedText, unbroken } from "../_rotated.ts";
import {
  logMessages,
  scopedPermissions,
  startServer,
  tempDir,
  waitUntil,
} from "../_server.ts";
import { ignoreWithout } from "../_tools.ts";
import { startTracedServer, STRACE } from "../_traced_server.ts";
import {
  checkRecords,
  confirmedCounts,
  cutRecord,
  range,
  rawLine,
  record,
  sleep,
  spawnWriter,
} from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();
const PIPE = new URL("../../pipe.ts", import.meta.url).pathname;
const SERVER = new URL("../../server.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;
/**
 * Asserts that a rotated file reached `size` only with its last record: the record
 * that crossed the size ends it, so it passes the size by less than one record. A
 * record is a line, or with `multiLine` a record() from `BEGIN` to `END`.
 */
function assertCutAtRecord(file: RotatedText, size: number, multiLine = false): void {
  const lastStart = multiLine
    ? file.text.lastIndexOf("\nBEGIN ") + 1
    : file.text.lastIndexOf("\n", file.text.length - 2) + 1;
  const before = encoder.encode(file.text.slice(0, lastStart)).length;
  assert.ok(file.bytes >= size, `${file.name}: ${file.bytes} bytes, rotated early`);
  assert.ok(
    before < size,
    `${file.name}: ${file.bytes} bytes, ${before} before its last record: past ${size} ` +
      `by more than one record`,
  );
}

/** Every file of the set whole records only; each client's records, in file order. */
function recordsAcross(set: RotatedText[]): Map<number, number[]> {
  const all = new Map<number, number[]>();
  for (const file of set) {
    const census = checkRecords(file.text);
    assert.deepEqual(census.torn, [], `${file.name} holds whole records only`);
    for (const [c, list] of census.records) all.set(c, [...all.get(c) ?? [], ...list]);
    for (const [c, list] of census.lines) {
      all.set(-1 - c, [...all.get(-1 - c) ?? [], ...list]);
    }
  }
  return all;
}

function rotations(output: string, path: string): number {
  return logMessages(output).filter((line) =>
    line.startsWith(`Rotated ${path} (`) && / \(\d+ bytes\)$/.test(line)
  ).length;
}

Deno.test("built-in rotation: 16 ProxyFile writers at full speed with --rotate-size 1M --rotate-compress: every record whole in one file, each writer's run unbroken, clients told nothing", async () => {
  await using server = await startServer({
    args: [
      "--rotate-size",
      "1M",
      "--rotate-compress",
      "--rotate-keep",
      "100",
      // Checked often: the server's own renames must not pass for moves.
      "--rotate-check",
      "20",
    ],
  });
  const path = `${server.dir}/app.log`;
  const COUNT = 700;
  const writers = [range(8), range(8).map((c) => c + 8)].map((clients) =>
    spawnWriter(server.socketPath, {
      path,
      clients,
      count: COUNT,
      burst: 100,
      pauseMs: 0,
      flush: false,
    })
  );
  // One more client in this process, flushing as it goes, to see what a client sees.
  let told = 0;
  const watcher = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    onRotated: () => told++,
  });
  for (let i = 0; i < 200; i++) {
    watcher.write(record(16, i));
    if (i % 20 === 19) {
      await watcher.flush();
      await sleep(5);
    }
  }
  await watcher.close();
  for (const writer of writers) {
    const result = await writer.exited(60_000);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /^(error|close-error) /m);
  }
  await server.waitFor(`Closed ${path}`, 30_000);
  const set = await rotatedSet(path, true);
  const records = recordsAcross(set);
  for (const c of range(16)) {
    assert.deepEqual(records.get(c), range(COUNT), `client ${c}`);
  }
  assert.deepEqual(records.get(16), range(200));
  const rotated = set.slice(0, -1);
  assert.ok(rotated.length >= 5, `${rotated.length} rotations`);
  for (const file of rotated) {
    assert.match(file.name, /^app\.log\.\d+\.gz$/);
    assertCutAtRecord(file, MiB, true);
  }
  assert.equal(told, 0, "no ROTATED for the server's own rotation");
  assert.equal(rotations(server.stdout(), path), rotated.length);
  assert.doesNotMatch(server.stdout(), /Reopened/);
  assert.doesNotMatch(server.stdout(), /WARNING/);
});

Deno.test("built-in rotation: 0.x line clients keep every line whole, no file passes the size by more than its last line, --rotate-keep drops only the oldest", async () => {
  await using server = await startServer({
    args: ["--rotate-size", "64K", "--rotate-keep", "3", "--tell-rotated"],
  });
  const path = `${server.dir}/raw.log`;
  const CLIENTS = 6;
  const LINES = 3000;
  const messages = await Promise.all(
    range(CLIENTS).map(async (r) => {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      try {
        await writeAll(conn, encoder.encode(`${path}\0`));
        for (let j = 0; j < LINES; j += 50) {
          const lines = range(Math.min(50, LINES - j)).map((k) => rawLine(r, j + k));
          await writeAll(conn, encoder.encode(lines.join("")));
          await sleep(0);
        }
        await conn.closeWrite();
        return await readMessages(conn);
      } finally {
        conn.close();
      }
    }),
  );
  for (const received of messages) assert.deepEqual(received, ["OK", "BYE"]);
  await server.waitFor(`Closed ${path}`);
  const set = await rotatedSet(path, false);
  assert.deepEqual(set.map((file) => file.name), [
    "raw.log.3",
    "raw.log.2",
    "raw.log.1",
    "raw.log",
  ]);
  const lines = recordsAcross(set);
  for (const r of range(CLIENTS)) {
    const got = lines.get(-1 - r) ?? [];
    unbroken(got, `raw client ${r}`);
    assert.equal(got.at(-1), LINES - 1, `raw client ${r} up to its last line`);
  }
  for (const file of set.slice(0, -1)) assertCutAtRecord(file, 65536);
  assert.ok(rotations(server.stdout(), path) > 3);
});

Deno.test("built-in rotation: pipe.ts lines land whole and in order across compressed files", async () => {
  await using server = await startServer({
    args: ["--rotate-size", "64K", "--rotate-compress", "--rotate-keep", "50"],
  });
  const path = `${server.dir}/pipe.log`;
  const LINES = 20_000;
  const pipe = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      `--allow-read=${server.socketPath}`,
      `--allow-write=${server.socketPath}`,
      `--allow-net=unix:${server.socketPath}`,
      PIPE,
      "-s",
      server.socketPath,
      path,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = pipe.stdin.getWriter();
  for (let j = 0; j < LINES; j += 100) {
    await writer.write(
      encoder.encode(range(100).map((k) => rawLine(0, j + k)).join("")),
    );
    // As a program's output comes: the pipe sends smaller frames.
    if (j % 1000 === 0) await sleep(2);
  }
  await writer.close();
  const output = await pipe.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  await server.waitFor(`Closed ${path}`);
  const set = await rotatedSet(path, true);
  assert.ok(set.length > 5, `${set.length} files`);
  assert.deepEqual(recordsAcross(set).get(-1), range(LINES));
  for (const file of set.slice(0, -1)) assertCutAtRecord(file, 65536);
});

Deno.test("built-in rotation: flush() across rotations covers the rotated files", async () => {
  await using server = await startServer({
    args: ["--rotate-size", "64K", "--rotate-keep", "100"],
  });
  const path = `${server.dir}/flushed.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  let expected = 0;
  for (let i = 0; i < 1000; i++) {
    file.write(record(1, i));
    expected += record(1, i).length;
  }
  await file.flush();
  // Everything before the flush is in the files when it resolves; the server may
  // still rename them (a rotation after the last write), so the sizes are summed
  // once two listings agree.
  let before = "";
  for (;;) {
    const sizes: string[] = [];
    for (const name of await names(server.dir)) {
      if (!name.startsWith("flushed.log")) continue;
      const size = await Deno.stat(`${server.dir}/${name}`).then((i) => i.size, () => -1);
      sizes.push(`${name} ${size}`);
    }
    const now = sizes.join(",");
    if (now === before) {
      const total = sizes.reduce((sum, entry) => sum + Number(entry.split(" ")[1]), 0);
      assert.equal(total, expected);
      break;
    }
    before = now;
    await sleep(20);
  }
  await file.close();
  await server.waitFor(`Closed ${path}`);
  const set = await rotatedSet(path, false);
  assert.ok(set.length >= 3);
  assert.deepEqual(recordsAcross(set).get(1), range(1000));
});

Deno.test({
  name:
    "built-in rotation: flush({ durable: true }) after a rotation syncs the renamed file too (fdatasync of the old handle)",
  ignore: ignoreWithout(STRACE, "strace", "durable flush under strace"),
}, async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/offlog.sock`;
  const trace = `${dir.path}/trace.txt`;
  const { process: server, output } = startTracedServer(socketPath, trace, [
    "--rotate-size",
    "64K",
  ]);
  try {
    await waitUntil(() => output.stdout().includes("Listening"), "listening", 20_000);
    const path = `${dir.path}/durable.log`;
    const file = await ProxyFile.open(path, { socketPath });
    // No sync asked for yet when the file rotates.
    for (let i = 0; i < 300; i++) file.write(record(1, i));
    await file.flush();
    await waitUntil(() => output.stdout().includes("Rotated"), "a rotation");
    file.write(record(1, 300));
    await file.flush({ durable: true });
    // One fdatasync per rotated file (no sync had been asked for when they rotated:
    // the flush syncs them by name first) and one of the new file; strace splits a
    // call that overlaps another thread's, so calls are counted, finished or not.
    const calls = (await Deno.readTextFile(trace)).match(/fdatasync\(/g)?.length ?? 0;
    const rotated = rotations(output.stdout(), path);
    assert.ok(rotated >= 1);
    assert.ok(calls >= rotated + 1, `${calls} fdatasync calls for ${rotated} rotations`);
    await file.close();
    assert.deepEqual(recordsAcross(await rotatedSet(path, false)).get(1), range(301));
  } finally {
    // SIGTERM to strace would only detach it: stop the server it runs.
    const children = await new Deno.Command("pgrep", { args: ["-P", String(server.pid)] })
      .output();
    for (const pid of new TextDecoder().decode(children.stdout).trim().split("\n")) {
      if (pid !== "") Deno.kill(Number(pid), "SIGTERM");
    }
    await server.status;
    await output.done;
  }
});

Deno.test("built-in rotation: a confined server (--root, scoped --allow-write) rotates and compresses within its directory", async () => {
  await using dir = await tempDir();
  const logs = `${dir.path}/logs`;
  await Deno.mkdir(logs);
  await using server = await startServer({
    dir: dir.path,
    permissions: scopedPermissions,
    args: ["--root", logs, "--rotate-size", "4K", "--rotate-compress"],
  });
  const path = `${logs}/app.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (let i = 0; i < 300; i++) {
    file.write(record(2, i));
    // Each flush ends a frame: the server rotates between frames.
    if (i % 20 === 19) await file.flush();
  }
  await file.close();
  await server.waitFor(`Closed ${path}`);
  const set = await rotatedSet(path, true);
  assert.deepEqual(
    set.map((f) => f.name),
    [
      "app.log.5.gz",
      "app.log.4.gz",
      "app.log.3.gz",
      "app.log.2.gz",
      "app.log.1.gz",
      "app.log",
    ],
  );
  const got = recordsAcross(set).get(2)!;
  unbroken(got, "client 2");
  assert.equal(got.at(-1), 299);
  assert.doesNotMatch(server.stdout(), /WARNING/);
  assert.deepEqual(await names(dir.path), ["logs", "offlog.sock"]);
});

Deno.test("built-in rotation: --rotate-interval rotates a file that has data once it is that old, never an empty one", async () => {
  await using server = await startServer({ args: ["--rotate-interval", "1s"] });
  const path = `${server.dir}/aged.log`;
  const empty = `${server.dir}/empty.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await using idle = await ProxyFile.open(empty, { socketPath: server.socketPath });
  file.write("first\n");
  await file.flush();
  await server.waitFor(`Rotated ${path} (6 bytes)`, 5000);
  file.write("second\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${path}.1`), "first\n");
  assert.equal(await Deno.readTextFile(path), "second\n");
  await sleep(1300);
  assert.doesNotMatch(server.stdout(), /Rotated .*empty\.log/);
  assert.equal(idle.protocol, "offlog/2");
});

Deno.test("built-in rotation: --stats and the metrics file count rotations and give the current file's bytes", async () => {
  await using dir = await tempDir();
  const metrics = `${dir.path}/metrics.prom`;
  await using server = await startServer({
    args: [
      "--rotate-size",
      "4K",
      "--metrics-file",
      metrics,
      "--metrics-interval",
      "1",
    ],
  });
  const path = `${server.dir}/counted.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (let i = 0; i < 12; i++) {
    file.write("x".repeat(999) + "\n");
    await file.flush();
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "-A",
      SERVER,
      "--stats",
      "-s",
      server.socketPath,
    ],
  }).output();
  const stats = JSON.parse(new TextDecoder().decode(output.stdout));
  const entry = stats.files.find((f: { path: string }) => f.path === path);
  assert.equal(entry.rotations, 2);
  assert.equal(entry.currentBytes, 2000);
  assert.equal(entry.bytesWritten, 12_000);
  await waitUntil(async () => {
    const text = await Deno.readTextFile(metrics).catch(() => "");
    return text.includes(`offlog_file_rotations_total{path="${path}"} 2`) &&
      text.includes(`offlog_file_current_bytes{path="${path}"} 2000`);
  }, "the metrics file to count the rotations");
});

Deno.test("built-in rotation: a restart finishes what a crash left: the temporary file removed, compression done again, numbering continued", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await Deno.writeTextFile(path, "live\n");
  await Deno.writeTextFile(`${path}.1`, "one\n");
  await Deno.writeTextFile(`${path}.2`, "two\n");
  const gz = new Response(
    new Blob(["two\n"]).stream().pipeThrough(new CompressionStream("gzip")),
  );
  await Deno.writeFile(`${path}.2.gz`, new Uint8Array(await gz.arrayBuffer()));
  await Deno.writeTextFile(`${dir.path}/.app.log.gz.tmp`, "half a gzip");
  await using server = await startServer({
    dir: dir.path,
    args: ["--rotate-size", "4K", "--rotate-compress"],
  });
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await server.waitFor("an unfinished compression");
  file.write("x".repeat(4095) + "\n");
  await file.flush();
  await server.waitFor(`Rotated ${path} (4101 bytes)`);
  const set = await rotatedSet(path, true);
  assert.deepEqual(set.map((f) => [f.name, f.text.slice(0, 5)]), [
    ["app.log.3.gz", "two\n"],
    ["app.log.2.gz", "one\n"],
    ["app.log.1.gz", "live\n"],
    ["app.log", ""],
  ]);
  assert.ok(!(await names(dir.path)).includes(".app.log.gz.tmp"));
});

Deno.test("built-in rotation: the server SIGKILLed again and again during rotations and compressions loses no confirmed record and overwrites nothing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const args = ["--rotate-size", "16K", "--rotate-compress", "--rotate-keep", "1000"];
  const confirmed = new Map<number, number>();
  const ROUNDS = 4;
  for (let round = 0; round < ROUNDS; round++) {
    const server = await startServer({ dir: dir.path, args });
    try {
      const clients = range(3).map((c) => round * 3 + c);
      const writer = spawnWriter(server.socketPath, {
        path,
        clients,
        burst: 20,
        pauseMs: 0,
      });
      await writer.waitFor(`confirmed ${clients[0]} 200`, 20_000);
      await sleep(50 + round * 40);
      server.process.kill("SIGKILL");
      const result = await writer.exited(20_000);
      for (const [c, n] of confirmedCounts(result.stdout)) confirmed.set(c, n);
    } finally {
      await server.stop("SIGKILL");
    }
  }
  // A last start, and a client, so that the path is opened and tidied.
  await using server = await startServer({ dir: dir.path, args });
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write(record(99, 0));
  await file.close();
  await server.waitFor(`Closed ${path}`);
  const set = await rotatedSet(path, true);
  const listed = await names(dir.path);
  assert.ok(!listed.some((name) => name.endsWith(".tmp")), listed.join(", "));
  const numbers = set.slice(0, -1).map((f) => Number(f.name.split(".")[2])).reverse();
  assert.deepEqual(numbers, range(numbers.length).map((n) => n + 1), "no gap");
  const all = new Map<number, number[]>();
  for (const file of set) {
    const census = checkRecords(file.text);
    // A write cut short by the kill may leave the start of a record (never more).
    for (const fragment of census.fragments) {
      assert.ok(cutRecord(fragment.text) !== null, `${file.name}: ${fragment.text}`);
    }
    for (const [c, list] of census.records) all.set(c, [...all.get(c) ?? [], ...list]);
  }
  for (const [c, n] of confirmed) {
    const got = all.get(c) ?? [];
    assert.deepEqual(got.slice(0, n), range(n), `client ${c}'s confirmed records`);
    unbroken(got, `client ${c}`);
  }
  assert.equal(confirmed.size, ROUNDS * 3);
});
