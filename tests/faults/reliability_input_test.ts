// Bad and hostile input: paths the server must refuse (and how), paths that try to
// leave its permission scope, a client that stops half-way through its path, and
// records over the maximum. See RELIABILITY.md.

import assert from "node:assert/strict";
import { MAX_RECORD_BYTES, OfflogServerError, ProxyFile } from "../../mod.ts";
import {
  readUntilClosed,
  type RunningServer,
  startServer,
  tempDir,
  waitUntil,
} from "../_server.ts";
import { readMessages, writeAll } from "../_raw.ts";
import { frame, join, sleep } from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** Sends `data` without half-closing; returns what the server said before closing. */
async function sendAndWait(
  socketPath: string,
  data: Uint8Array,
  timeoutMs = 5000,
): Promise<{ messages: string[]; closed: boolean }> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    try {
      await writeAll(conn, data);
    } catch (error) {
      // The server may refuse and close before everything was sent.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
    const received = await readUntilClosed(conn, timeoutMs);
    return {
      messages: received.text.split("\0").filter((m) => m !== ""),
      closed: received.closed,
    };
  } finally {
    conn.close();
  }
}

/** The same refusal for a 0.x opening and for an offlog/1 one. */
async function bothOpenings(
  server: RunningServer,
  path: Uint8Array,
): Promise<string[][]> {
  const out: string[][] = [];
  for (const hello of [new Uint8Array(0), bytes("offlog/1\0")]) {
    const { messages, closed } = await sendAndWait(
      server.socketPath,
      join([hello, path, bytes("\0data\n")]),
    );
    assert.ok(closed, "the server closes the connection after refusing");
    out.push(messages);
  }
  return out;
}

Deno.test("reliability: relative and empty paths are refused with ValueError, on both protocols", async () => {
  await using server = await startServer();
  for (const path of ["relative.log", "", "./x.log"]) {
    const refusals = await bothOpenings(server, bytes(path));
    assert.deepEqual(refusals, [
      ["ValueError: not an absolute path"],
      ["ValueError: not an absolute path"],
    ]);
  }
  await server.waitFor("access denied for relative.log");
});

Deno.test("reliability: a path over PATH_MAX without a NUL is refused as soon as it passes 4096 bytes", async () => {
  await using server = await startServer();
  for (const hello of ["", "offlog/1\0"]) {
    // 4096 bytes and no NUL: the server waits for more.
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, bytes(hello + "/" + "a".repeat(4095)));
      await sleep(300);
      assert.ok(!server.stdout().includes("PATH_MAX"), "refused at 4096 bytes");
      // One byte more, still no NUL: refused and closed without the client closing.
      await writeAll(conn, bytes("a"));
      const late = await readUntilClosed(conn, 5000);
      assert.deepEqual([late.text, late.closed], [
        "ValueError: path longer than PATH_MAX\0",
        true,
      ]);
      await server.waitFor("access denied: ValueError: path longer than PATH_MAX");
    } finally {
      conn.close();
    }
    // 5,000 bytes at once, and 1 MB: the same, and the server holds no more than 4 KiB.
    for (const size of [5000, 1_000_000]) {
      const { messages, closed } = await sendAndWait(
        server.socketPath,
        bytes(hello + "/" + "b".repeat(size)),
      );
      assert.deepEqual(messages, ["ValueError: path longer than PATH_MAX"]);
      assert.ok(closed);
    }
  }
  // A path of exactly 4096 bytes with its NUL passes that check; the OS refuses it.
  const long = `${server.dir}/${"c".repeat(4095 - server.dir.length)}`;
  assert.equal(long.length, 4096);
  const [refusal] = (await bothOpenings(server, bytes(long)))[0]!;
  assert.match(refusal!, /^OSError: \[Errno 36\] File name too long: '\//);
  // And the server still serves.
  await using file = await ProxyFile.open(`${server.dir}/after.log`, {
    socketPath: server.socketPath,
  });
  file.write("served\n");
  await file.flush();
});

Deno.test("reliability: a path that is not valid UTF-8 is refused with ValueError", async () => {
  await using server = await startServer();
  const cases = [
    [0xff, 0xfe], // never valid
    [0xc0, 0xaf], // an overlong "/"
    [0xed, 0xa0, 0x80], // a UTF-16 surrogate
    [0xe2, 0x82], // a character cut short
  ];
  for (const tail of cases) {
    const path = join([bytes(`${server.dir}/x`), new Uint8Array(tail)]);
    assert.deepEqual(await bothOpenings(server, path), [
      ["ValueError: path is not valid UTF-8"],
      ["ValueError: path is not valid UTF-8"],
    ]);
  }
  const files = [];
  for await (const entry of Deno.readDir(server.dir)) files.push(entry.name);
  assert.deepEqual(files, ["offlog.sock"], "nothing created");
});

Deno.test("reliability: a directory and a missing directory are refused as Python names them; ProxyFile.open() throws the Deno error", async () => {
  await using server = await startServer();
  const missing = `${server.dir}/nope/x.log`;
  const refusals = await bothOpenings(server, bytes(server.dir));
  assert.deepEqual(refusals[0], [
    `IsADirectoryError: [Errno 21] Is a directory: '${server.dir}'`,
  ]);
  assert.deepEqual(refusals[1], refusals[0]);
  assert.deepEqual((await bothOpenings(server, bytes(missing)))[1], [
    `FileNotFoundError: [Errno 2] No such file or directory: '${missing}'`,
  ]);
  for (
    const [path, cls, name] of [
      [server.dir, Deno.errors.IsADirectory, "IsADirectoryError"],
      [missing, Deno.errors.NotFound, "FileNotFoundError"],
      [
        `${server.dir}/offlog.sock/x.log`,
        Deno.errors.NotADirectory,
        "NotADirectoryError",
      ],
    ] as const
  ) {
    await assert.rejects(
      ProxyFile.open(path, { socketPath: server.socketPath }),
      (error: Error) => {
        assert.ok(error instanceof cls, `${error.name}: ${error.message}`);
        assert.ok(error.cause instanceof OfflogServerError);
        assert.equal(error.cause.serverName, name);
        assert.ok(error.message.includes(`'${path}'`), error.message);
        return true;
      },
    );
  }
});

/** A server whose Deno permissions cover only `<dir>/allowed`. */
async function scopedServer(dir: string, args: string[] = []): Promise<RunningServer> {
  await Deno.mkdir(`${dir}/allowed`);
  await Deno.mkdir(`${dir}/outside`);
  return await startServer({
    dir,
    args,
    socketName: "allowed/offlog.sock",
    permissions: (socketPath) => [
      "--no-prompt",
      `--allow-read=${dir}/allowed`,
      `--allow-write=${dir}/allowed`,
      `--allow-net=unix:${socketPath}`,
    ],
  });
}

Deno.test("reliability: paths outside the server's permission scope are refused with PermissionError, through .. and symlinks too", async () => {
  await using dir = await tempDir("offlog_scope_");
  await using server = await scopedServer(dir.path);
  const d = dir.path;
  await Deno.symlink(`${d}/outside/target.log`, `${d}/allowed/link.log`);
  await Deno.symlink(`${d}/outside`, `${d}/allowed/sub`);
  await Deno.writeTextFile(`${d}/outside/existing.log`, "untouched\n");
  await Deno.symlink(`${d}/outside/existing.log`, `${d}/allowed/existing-link.log`);
  const refused = [
    `${d}/outside/plain.log`, // outside, plainly
    `${d}/allowed/../outside/dotdot.log`, // out through ..
    `${d}/allowed/link.log`, // a dangling symlink in scope pointing out
    `${d}/allowed/existing-link.log`, // a symlink in scope to an existing file outside
    `${d}/allowed/sub/via-dir.log`, // a symlinked directory in scope pointing out
    `${d}/allowed/sub/../../outside/both.log`, // both
  ];
  for (const path of refused) {
    const [messages] = await bothOpenings(server, bytes(path));
    assert.equal(messages!.length, 1, path);
    assert.match(messages![0]!, /^PermissionError: Permission denied: '/, path);
    assert.ok(messages![0]!.includes(`'${path}'`), messages![0]);
    await assert.rejects(
      ProxyFile.open(path, { socketPath: server.socketPath }),
      Deno.errors.PermissionDenied,
    );
  }
  // Nothing was created or written outside.
  const outside = [];
  for await (const entry of Deno.readDir(`${d}/outside`)) outside.push(entry.name);
  assert.deepEqual(outside, ["existing.log"]);
  assert.equal(await Deno.readTextFile(`${d}/outside/existing.log`), "untouched\n");
  // Inside the scope, .. and symlinks that stay inside are fine, and are followed.
  await Deno.mkdir(`${d}/allowed/a`);
  await Deno.symlink(`${d}/allowed/real.log`, `${d}/allowed/inside-link.log`);
  for (const path of [`${d}/allowed/a/../real.log`, `${d}/allowed/inside-link.log`]) {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    file.write(`via ${path}\n`);
    await file.flush();
  }
  assert.equal(
    await Deno.readTextFile(`${d}/allowed/real.log`),
    `via ${d}/allowed/a/../real.log\nvia ${d}/allowed/inside-link.log\n`,
  );
});

Deno.test("reliability: a symlink planted at a rotated path is not followed out of scope; writing goes on to the old file", async () => {
  await using dir = await tempDir("offlog_plant_");
  const d = dir.path;
  await using rotating = await scopedServer(d, ["--rotate-check", "100"]);
  const path = `${d}/allowed/app.log`;
  let rotated = 0;
  await using file = await ProxyFile.open(path, {
    socketPath: rotating.socketPath,
    onRotated: () => rotated++,
  });
  file.write("before\n");
  await file.flush();
  await Deno.rename(path, `${path}.1`);
  await Deno.symlink(`${d}/outside/stolen.log`, path);
  await rotating.waitFor("Could not reopen");
  file.write("after\n");
  await file.flush();
  assert.equal(rotated, 0);
  assert.equal(await Deno.readTextFile(`${path}.1`), "before\nafter\n");
  await assert.rejects(Deno.stat(`${d}/outside/stolen.log`), Deno.errors.NotFound);
});

Deno.test("reliability: a client that sends half a path and hangs holds only its connection; the server serves others and still shuts down", async () => {
  await using server = await startServer();
  const hanging = [];
  try {
    for (const hello of ["", "offlog/1\0", "offlog/"]) {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      await writeAll(conn, bytes(`${hello}${server.dir}/ha`));
      hanging.push(conn);
    }
    for (let i = 0; i < 3; i++) {
      await using file = await ProxyFile.open(`${server.dir}/other.log`, {
        socketPath: server.socketPath,
        timeout: 2000,
      });
      file.write(`served ${i}\n`);
      await file.flush();
    }
    assert.equal(
      await Deno.readTextFile(`${server.dir}/other.log`),
      "served 0\nserved 1\nserved 2\n",
    );
    // Shutdown does not wait for them.
    const started = performance.now();
    const status = await server.stop("SIGTERM");
    const ms = performance.now() - started;
    assert.equal(status.code, 0);
    assert.ok(ms < 1500, `shutdown took ${ms} ms`);
    for (const conn of hanging) assert.ok((await readUntilClosed(conn, 2000)).closed);
  } finally {
    for (const conn of hanging) conn.close();
  }
});

Deno.test("reliability: a frame over MAX_RECORD_BYTES is refused after the frames before it are written", async () => {
  await using server = await startServer();
  // 0xffffffff is SYNC_FRAME, a sync request: the largest length that is a frame.
  for (const length of [MAX_RECORD_BYTES + 1, 0xfffffffe]) {
    const path = `${server.dir}/big${length}.log`;
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, length);
    const { messages, closed } = await sendAndWait(
      server.socketPath,
      join([bytes(`offlog/1\0${path}\0`), frame("fine\n"), header, bytes("and more")]),
    );
    assert.ok(closed);
    assert.deepEqual(messages, [
      "OK",
      "ACK 5",
      `ValueError: record of ${length} bytes is larger than the maximum of ${MAX_RECORD_BYTES} bytes`,
    ]);
    assert.equal(await Deno.readTextFile(path), "fine\n");
  }
});

Deno.test("reliability: ProxyFile.write() throws RangeError for a record over MAX_RECORD_BYTES and queues nothing; one of exactly the maximum lands whole", async () => {
  await using server = await startServer();
  const path = `${server.dir}/max.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await using other = await ProxyFile.open(path, { socketPath: server.socketPath });
  const tooBig = [
    new Uint8Array(MAX_RECORD_BYTES + 1),
    "a".repeat(MAX_RECORD_BYTES + 1),
    "é".repeat(MAX_RECORD_BYTES / 2 + 1), // fewer UTF-16 units than bytes
    "\u{1F600}".repeat(MAX_RECORD_BYTES / 4 + 1), // surrogate pairs: 4 bytes each
  ];
  for (const data of tooBig) {
    assert.throws(() => file.write(data), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /is larger than the maximum of 16777216 bytes/);
      return true;
    });
    assert.equal(file.pendingRecords, 0);
  }
  // Exactly the maximum, between records of another client: it lands in one piece.
  const max = new Uint8Array(MAX_RECORD_BYTES).fill(0x6d); // "m"
  max[MAX_RECORD_BYTES - 1] = 0x0a;
  for (let i = 0; i < 20; i++) other.write(`other ${i}\n`);
  file.write(max);
  for (let i = 20; i < 40; i++) other.write(`other ${i}\n`);
  await Promise.all([file.flush(), other.flush()]);
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  assert.equal(lines.pop(), "");
  const big = lines.filter((line) => line.startsWith("m"));
  assert.deepEqual(big.map((line) => line.length), [MAX_RECORD_BYTES - 1]);
  assert.deepEqual(
    lines.filter((line) => !line.startsWith("m")),
    Array.from({ length: 40 }, (_, i) => `other ${i}`),
  );
});

Deno.test("reliability: a 0.x client that never sends a newline is held to 16 MiB, then written unfinished", async () => {
  await using server = await startServer();
  const path = `${server.dir}/endless.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, bytes(`${path}\0`));
    const chunk = new Uint8Array(1024 * 1024).fill(0x6c); // "l", no newline
    for (let i = 0; i < 17; i++) await writeAll(conn, chunk);
    // Past the maximum, what is held goes to the file although no newline came.
    await waitUntil(
      async () => (await Deno.stat(path)).size > MAX_RECORD_BYTES,
      "the held line to be written",
      10_000,
    );
    await writeAll(conn, bytes("end\n"));
    await conn.closeWrite();
    assert.deepEqual(await readMessages(conn), ["OK", "BYE"]);
    assert.equal((await Deno.stat(path)).size, 17 * 1024 * 1024 + 4);
  } finally {
    conn.close();
  }
});
