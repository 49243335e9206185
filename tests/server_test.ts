// The server (server.ts, server/), tested as a child process on a socket in a temporary
// directory, or in-process through serve() where that is simpler.

import assert from "node:assert/strict";
import { OfflogServerError, ProxyFile } from "../mod.ts";
import { serve } from "../server.ts";
import denoJson from "../deno.json" with { type: "json" };
import {
  defaultPermissions,
  logMessages,
  readMessageTexts,
  readUntilClosed,
  scopedPermissions,
  startServer,
  tempDir,
  waitUntil,
} from "./_server.ts";
import { writeAll } from "./_raw.ts";
import { spawnChild } from "./_child.ts";

const encoder = new TextEncoder();
const SERVER = new URL("../server.ts", import.meta.url).pathname;
const MOD = new URL("../mod.ts", import.meta.url).href;
const INFO_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog INFO\] /;
const WARNING_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (WARNING|ERROR)\] /;

/**
 * One multi-line record: a BEGIN line, `lines` body lines of about `lineBytes` each,
 * an END line. `checkRecords` parses a file of them back.
 */
function record(client: number, index: number, lines: number, lineBytes: number): string {
  let text = `BEGIN ${client} ${index} ${lines} ${lineBytes}\n`;
  for (let k = 0; k < lines; k++) {
    const head = `  ${client}/${index}/${k} `;
    text += head + "x".repeat(Math.max(0, lineBytes - head.length)) + "\n";
  }
  return text + `END ${client} ${index}\n`;
}

/**
 * Checks that `text` is whole records only, each client's in order from 0, and
 * returns how many records of each client it holds.
 */
function checkRecords(text: string, clients: number): number[] {
  const next = new Array<number>(clients).fill(0);
  assert.ok(text === "" || text.endsWith("\n"), "the file ends with a whole line");
  const lines = text.split("\n");
  lines.pop();
  for (let k = 0; k < lines.length; k++) {
    const begin = /^BEGIN (\d+) (\d+) (\d+) (\d+)$/.exec(lines[k]!);
    assert.ok(
      begin,
      `line ${k} starts a record: ${JSON.stringify(lines[k]!.slice(0, 80))}`,
    );
    const [c, i, count, bytes] = begin.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    assert.equal(i, next[c], `client ${c}'s records in order`);
    const expected = record(c, i, count, bytes).split("\n");
    expected.pop();
    for (let l = 1; l < expected.length; l++) {
      assert.ok(lines[k + l] === expected[l], `record ${c}/${i} whole (its line ${l})`);
    }
    k += expected.length - 1;
    next[c] = i + 1;
  }
  return next;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("server appends two clients' records to one file through one shared handle", async () => {
  await using server = await startServer();
  const path = `${server.dir}/two.log`;
  const a = await ProxyFile.open(path, { socketPath: server.socketPath });
  const b = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (let i = 0; i < 200; i++) {
    a.write(`a ${i}\n`);
    b.write(`b ${i}\n`);
    if (i % 50 === 0) await delay(1);
  }
  await Promise.all([a.flush(), b.flush()]);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines.length, 400);
  for (const who of ["a", "b"]) {
    assert.deepEqual(
      lines.filter((line) => line.startsWith(who)),
      Array.from({ length: 200 }, (_, i) => `${who} ${i}`),
      `${who}'s lines whole and in order`,
    );
  }
  await a.close();
  await server.waitFor(`Client 0 done (remaining: 1) with ${path}`);
  assert.ok(!server.stdout().includes(`Closed ${path}`), "open while b uses it");
  await b.close();
  await server.waitFor(`Closed ${path}`);
  const log = logMessages(server.stdout());
  assert.ok(log.includes(`New client 0 (total: 1) for ${path}`));
  assert.ok(log.includes(`New client 1 (total: 2) for ${path}`));
  assert.ok(log.includes(`Client 1 done (remaining: 0) with ${path}`));
  assert.equal(log.filter((line) => line === `Closed ${path}`).length, 1);
  // After the last client left, the next one opens the file anew.
  await using c = await ProxyFile.open(path, { socketPath: server.socketPath });
  c.write("c\n");
  await c.flush();
  await server.waitFor(`New client 2 (total: 1) for ${path}`);
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith(" 199\nc\n"), "the new client appends after both");
  assert.equal(text.split("\n").length, 402);
});

Deno.test("server keeps every multi-line record whole when 8 ProxyFiles write one file at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/eight.log`;
  const records = 120;
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    for (let i = 0; i < records; i++) {
      // Every 15th record is about 100 KiB; the others 3 to 9 short lines.
      const big = i % 15 === 7;
      file.write(record(c, i, big ? 10 : 3 + (i % 7), big ? 10 * 1024 : 40));
      if (i % 10 === 0) await delay(0);
    }
  }));
  const counts = checkRecords(await Deno.readTextFile(path), 8);
  assert.deepEqual(counts, new Array(8).fill(records));
});

Deno.test("server keeps every multi-line record whole when 8 client processes write one file at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/processes.log`;
  const script = `${server.dir}/writer.ts`;
  const records = 60;
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const [id, path, socketPath] = Deno.args;
${record.toString()}
await using file = await ProxyFile.open(path, { socketPath });
for (let i = 0; i < ${records}; i++) {
  const big = i % 10 === 3;
  file.write(record(Number(id), i, big ? 20 : 2 + (i % 9), big ? 6000 : 30));
  if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1));
}
console.log("wrote", id);
`,
  );
  const children = Array.from(
    { length: 8 },
    (_, id) =>
      spawnChild(script, [String(id), path, server.socketPath], [
        `--allow-read=${server.socketPath}`,
        `--allow-write=${server.socketPath}`,
        `--allow-net=unix:${server.socketPath}`,
      ]),
  );
  const results = await Promise.all(children.map((child) => child.exited()));
  for (const [id, result] of results.entries()) {
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `wrote ${id}\n`);
  }
  const counts = checkRecords(await Deno.readTextFile(path), 8);
  assert.deepEqual(counts, new Array(8).fill(records));
});

Deno.test("server refuses each bad opening on the raw wire with the 0.x message and one NUL, then closes", async () => {
  await using server = await startServer();
  const dir = server.dir;
  const cases: [string, Uint8Array, string][] = [
    [
      "relative path",
      encoder.encode("relative.log\0data\n"),
      "ValueError: not an absolute path",
    ],
    [
      "more than PATH_MAX bytes without a NUL",
      encoder.encode("/" + "a".repeat(5000)),
      "ValueError: path longer than PATH_MAX",
    ],
    [
      "a directory",
      encoder.encode(`${dir}\0`),
      `IsADirectoryError: [Errno 21] Is a directory: '${dir}'`,
    ],
    [
      "a missing directory",
      encoder.encode(`${dir}/missing/x.log\0`),
      `FileNotFoundError: [Errno 2] No such file or directory: '${dir}/missing/x.log'`,
    ],
    [
      "invalid UTF-8",
      new Uint8Array([...encoder.encode(`${dir}/`), 0xff, 0xfe, 0x2e, 0x6c, 0]),
      "ValueError: path is not valid UTF-8",
    ],
  ];
  for (const [what, opening, expected] of cases) {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, opening);
      // No half-close: the server closes by itself after its refusal.
      const received = await readUntilClosed(conn);
      assert.equal(received.text, `${expected}\0`, what);
      assert.ok(received.closed, `the server closes the connection after ${what}`);
    } finally {
      conn.close();
    }
  }
  await server.waitFor("access denied");
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names, ["offlog.sock"], "no file was created");
  // The server goes on serving.
  await using file = await ProxyFile.open(`${dir}/ok.log`, {
    socketPath: server.socketPath,
  });
  file.write("still serving\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${dir}/ok.log`), "still serving\n");
});

Deno.test("server waits for a path of exactly PATH_MAX bytes and refuses the byte after it", async () => {
  await using server = await startServer();
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode("/" + "p".repeat(4095)));
    const buffer = new Uint8Array(4096);
    const read = conn.read(buffer);
    const early = await Promise.race([read, delay(300).then(() => "waiting" as const)]);
    assert.equal(early, "waiting", "4096 bytes without a NUL may still be a path");
    await writeAll(conn, encoder.encode("p"));
    const n = await read;
    assert.ok(n !== null);
    const rest = await readUntilClosed(conn);
    assert.equal(
      new TextDecoder().decode(buffer.subarray(0, n)) + rest.text,
      "ValueError: path longer than PATH_MAX\0",
    );
    assert.ok(rest.closed);
  } finally {
    conn.close();
  }
});

Deno.test("server refuses a path outside its --allow-write scope as PermissionError and logs access denied", async () => {
  await using outside = await tempDir();
  await using server = await startServer({ permissions: scopedPermissions });
  const refused = `${outside.path}/x.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`${refused}\0data\n`));
    const received = await readUntilClosed(conn);
    assert.ok(received.closed);
    assert.ok(
      received.text.startsWith(`PermissionError: Permission denied: '${refused}'`),
      received.text,
    );
    assert.equal(
      received.text.indexOf("\0"),
      received.text.length - 1,
      "one NUL, at the end",
    );
  } finally {
    conn.close();
  }
  await server.waitFor(
    `access denied for ${refused}: PermissionError: Permission denied`,
  );
  assert.match(server.stderr(), WARNING_LINE, "a refusal is logged as a warning");
  const names = [];
  for await (const entry of Deno.readDir(outside.path)) names.push(entry.name);
  assert.deepEqual(names, [], "nothing created outside the scope");
  // Inside the scope the same server works.
  await using file = await ProxyFile.open(`${server.dir}/in.log`, {
    socketPath: server.socketPath,
  });
  file.write("in scope\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${server.dir}/in.log`), "in scope\n");
});

Deno.test("server acknowledges offlog/1 frames with cumulative ACKs, then says BYE once all is written", async () => {
  await using server = await startServer();
  const path = `${server.dir}/v1.log`;
  const frame = (text: string) => {
    const body = encoder.encode(text);
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  };
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`offlog/1\0${path}\0`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
    const payloads = ["one\n", "two lines\nin one record\n", "", "three\n"];
    for (const payload of payloads) {
      await writeAll(conn, frame(payload));
      await delay(5);
    }
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.ok(received.closed);
    const messages = received.text.split("\0");
    assert.equal(messages.pop(), "", "every message ends with NUL");
    assert.equal(messages.at(-1), "BYE");
    const acks = messages.slice(0, -1).map((m) => {
      const match = /^ACK (\d+)$/.exec(m);
      assert.ok(match, `only ACKs before BYE, got ${JSON.stringify(m)}`);
      return Number(match[1]);
    });
    const total = encoder.encode(payloads.join("")).length;
    assert.equal(acks.at(-1), total, "the last ACK counts every payload byte");
    assert.deepEqual(acks, [...acks].sort((x, y) => x - y), "ACKs only grow");
    assert.equal(await Deno.readTextFile(path), payloads.join(""));
  } finally {
    conn.close();
  }
});

Deno.test("server exits 0 on SIGTERM with data in flight: socket removed, client told, every acknowledged record kept whole", async () => {
  await using server = await startServer();
  const path = `${server.dir}/inflight.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  let i = 0;
  for (; i < 5000; i++) file.write(record(0, i, 1 + (i % 4), 60));
  await file.flush();
  const acknowledged = i;
  assert.equal(checkRecords(await Deno.readTextFile(path), 1)[0], acknowledged);
  let thrown: unknown;
  let status: Promise<Deno.CommandStatus> | null = null;
  try {
    // Keep streaming; the signal arrives while records are on their way.
    for (let burst = 0; burst < 2000; burst++) {
      for (let k = 0; k < 200; k++, i++) file.write(record(0, i, 1 + (i % 4), 60));
      if (burst === 5) status = server.stop("SIGTERM");
      await delay(1);
    }
    await file.close();
  } catch (error) {
    thrown = error;
  }
  assert.ok(status !== null);
  assert.equal((await status).code, 0);
  assert.ok(thrown instanceof Error, "a later write() or close() throws");
  assert.match(thrown.message, /offlog server exited/);
  await file.close(); // already thrown: resolves
  await assert.rejects(Deno.lstat(server.socketPath), Deno.errors.NotFound);
  const written = checkRecords(await Deno.readTextFile(path), 1)[0]!;
  assert.ok(written >= acknowledged, `${written} < ${acknowledged} acknowledged records`);
  const log = logMessages(server.stdout());
  assert.ok(log.includes("Shutting down") && log.includes("Exiting"), log.join("\n"));
  assert.ok(log.includes(`Closed ${path}`));
});

Deno.test("server exits 0 on SIGINT, removes its socket file and tells a connected client", async () => {
  await using server = await startServer();
  const path = `${server.dir}/int.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("before\n");
  await file.flush();
  const status = await server.stop("SIGINT");
  assert.equal(status.code, 0);
  await assert.rejects(Deno.lstat(server.socketPath), Deno.errors.NotFound);
  await assert.rejects(file.close(), /offlog server exited/);
  assert.equal(await Deno.readTextFile(path), "before\n");
});

Deno.test("server replaces a stale socket file that no server answers on", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/offlog.sock`;
  const bind = await new Deno.Command("python3", {
    args: [
      "-c",
      "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      socketPath,
    ],
  }).output();
  assert.equal(bind.code, 0, new TextDecoder().decode(bind.stderr));
  assert.ok((await Deno.lstat(socketPath)).isSocket, "a stale socket file is there");
  await using server = await startServer({ dir: dir.path });
  await server.waitFor(`Replacing stale socket file ${socketPath}`);
  await using file = await ProxyFile.open(`${dir.path}/a.log`, { socketPath });
  file.write("served\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${dir.path}/a.log`), "served\n");
});

Deno.test("server does not steal a socket that a live server answers on", async () => {
  await using first = await startServer();
  const before = await Deno.lstat(first.socketPath);
  const second = spawnChild(
    SERVER,
    ["-s", first.socketPath],
    defaultPermissions(first.socketPath),
  );
  const result = await second.exited(10_000);
  assert.notEqual(result.code, 0, "the second server exits non-zero");
  assert.equal(result.signal, null, "it exits by itself");
  assert.match(result.stderr, /Another offlog server is listening on/);
  assert.ok(!result.stdout.includes("Listening on socket"), result.stdout);
  const after = await Deno.lstat(first.socketPath);
  assert.equal(after.ino, before.ino, "the socket file is the first server's");
  await using file = await ProxyFile.open(`${first.dir}/a.log`, {
    socketPath: first.socketPath,
  });
  file.write("first still serves\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${first.dir}/a.log`), "first still serves\n");
});

Deno.test("server will not start on a path that is not a socket, and leaves that file alone", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/offlog.sock`;
  await Deno.writeTextFile(socketPath, "precious\n");
  const child = spawnChild(SERVER, ["-s", socketPath], defaultPermissions(socketPath));
  const result = await child.exited(10_000);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /not a socket/);
  assert.equal(await Deno.readTextFile(socketPath), "precious\n");
});

Deno.test("server reports a write error (/dev/full) to that file's clients only", async () => {
  // Deno 2.9 opens device files only with --allow-all; the server, with --allow-devices.
  await using server = await startServer({
    permissions: () => ["--allow-all"],
    args: ["--allow-devices"],
  });
  const socketPath = server.socketPath;
  await using fine = await ProxyFile.open(`${server.dir}/fine.log`, { socketPath });
  fine.write("kept 1\n");
  const isFull = (error: unknown) => {
    assert.ok(error instanceof OfflogServerError, String(error));
    assert.equal(error.serverName, "OSError");
    assert.match(error.message, /No space left on device/);
    return true;
  };

  // From write(): the error comes back once the server has tried.
  const byWrite = await ProxyFile.open("/dev/full", { socketPath });
  byWrite.write("lost\n");
  let thrown: unknown;
  await waitUntil(() => {
    try {
      byWrite.write("more\n");
      return false;
    } catch (error) {
      thrown = error;
      return true;
    }
  }, "write() throws");
  isFull(thrown);
  await byWrite.close();

  // From flush().
  const byFlush = await ProxyFile.open("/dev/full", { socketPath });
  byFlush.write("lost\n");
  await assert.rejects(byFlush.flush(), isFull);
  // (Whether close() repeats the error is proxy_file_test's business.)
  await byFlush.close().catch(() => {});

  // From close().
  const byClose = await ProxyFile.open("/dev/full", { socketPath });
  byClose.write("lost\n");
  await assert.rejects(byClose.close(), isFull);

  // A 0.x client gets the error on the wire, then the connection closes.
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await writeAll(conn, encoder.encode("/dev/full\0a line\n"));
    const received = await readUntilClosed(conn);
    assert.equal(
      received.text,
      "OK\0OSError: [Errno 28] No space left on device: '/dev/full'\0",
    );
    assert.ok(received.closed);
  } finally {
    conn.close();
  }

  fine.write("kept 2\n");
  await fine.close();
  assert.equal(await Deno.readTextFile(`${server.dir}/fine.log`), "kept 1\nkept 2\n");
  await server.waitFor("write failed");
});

Deno.test("server without --allow-devices refuses /dev/full as a character device", async () => {
  // Deno would open the device (--allow-all); the server refuses it without the flag.
  await using server = await startServer({ permissions: () => ["--allow-all"] });
  await assert.rejects(
    ProxyFile.open("/dev/full", { socketPath: server.socketPath }),
    (error: unknown) => {
      assert.ok(error instanceof Error, String(error));
      const cause = error instanceof OfflogServerError ? error : error.cause;
      assert.ok(cause instanceof OfflogServerError, String(error));
      assert.equal(cause.serverName, "OSError");
      assert.ok(
        cause.message.startsWith(
          "[Errno 22] Not a regular file: '/dev/full' is a character device",
        ),
        cause.message,
      );
      return true;
    },
  );
  await server.waitFor("Not a regular file: '/dev/full' is a character device");
});

Deno.test("server logs each event in the seed's form, in local time, to stdout and to --logfile", async () => {
  await using logDir = await tempDir();
  const logFile = `${logDir.path}/offlog.log`;
  // A zone far from UTC, so that a UTC timestamp would show.
  await using server = await startServer({
    args: ["-l", logFile],
    env: { TZ: "Asia/Kolkata" },
  });
  const path = `${server.dir}/a.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("logged\n");
  await file.close();
  await server.waitFor(`Closed ${path}`);
  const refused = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(refused, encoder.encode("relative.log\0"));
    assert.equal(
      (await readUntilClosed(refused)).text,
      "ValueError: not an absolute path\0",
    );
  } finally {
    refused.close();
  }
  await server.waitFor("access denied");
  assert.equal((await server.stop("SIGTERM")).code, 0);

  const stdout = server.stdout().trimEnd().split("\n");
  for (const line of stdout) assert.match(line, INFO_LINE);
  const stderr = server.stderr().trimEnd().split("\n");
  for (const line of stderr) assert.match(line, WARNING_LINE);

  const expected = [
    "This is offlog server",
    `Listening on socket ${server.socketPath}`,
    "Client 0 connected",
    `Client 0 access confirmed for ${path}`,
    `New client 0 (total: 1) for ${path}`,
    "Client 0 disconnected",
    `Client 0 done (remaining: 0) with ${path}`,
    `Closed ${path}`,
    "Client 1 connected",
    "Shutting down",
    "Exiting",
  ];
  const log = logMessages(server.stdout());
  let at = -1;
  for (const message of expected) {
    const found = log.indexOf(message, at + 1);
    assert.ok(found > at, `"${message}" after the line before it in:\n${log.join("\n")}`);
    at = found;
  }
  assert.ok(
    logMessages(server.stderr()).some((line) =>
      line.startsWith("Client 1 access denied") &&
      line.endsWith("ValueError: not an absolute path")
    ),
    server.stderr(),
  );

  // Local time: the stamp reads as the wall clock in the server's zone (UTC+05:30).
  const stamp = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(
    stdout[0]!,
  )!;
  const [y, mo, d, h, mi, s, ms] = stamp.slice(1).map(Number) as number[];
  const asUtc = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
  const offset = asUtc - Date.now();
  assert.ok(
    Math.abs(offset - 5.5 * 3600_000) < 120_000,
    `stamp ${stdout[0]!.slice(0, 25)} is not local time in Asia/Kolkata`,
  );

  // --logfile: the same lines, warnings included, in the order they happened.
  const logged = (await Deno.readTextFile(logFile)).trimEnd().split("\n");
  assert.deepEqual([...logged].sort(), [...stdout, ...stderr].sort());
  assert.deepEqual(logged.filter((line) => INFO_LINE.test(line)), stdout);
});

Deno.test("server CLI: --help and --version exit 0; unknown flags and missing values print usage and exit 2", async () => {
  const run = async (...args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "--allow-read", "--allow-write", SERVER, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  };
  const [help, h, version, unknown, noSocket, noLogfile, positional] = await Promise.all([
    run("--help"),
    run("-h"),
    run("--version"),
    run("--bogus"),
    run("-s"),
    run("--logfile"),
    run("extra"),
  ]);
  assert.equal(help.code, 0);
  assert.equal(help.stderr, "");
  for (
    const option of [
      "-h, --help",
      "--version",
      "-n, --notify",
      "-s SOCKET_FILE, --socket-file SOCKET_FILE",
      "-l LOGFILE, --logfile LOGFILE",
      "/tmp/offlog.sock",
    ]
  ) {
    assert.ok(help.stdout.includes(option), `--help lists ${option}`);
  }
  assert.match(help.stdout, /^usage: offlog /);
  assert.deepEqual(h, help);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `offlog ${denoJson.version}\n`);
  for (
    const [what, bad] of Object.entries({ unknown, noSocket, noLogfile, positional })
  ) {
    assert.equal(bad.code, 2, what);
    assert.equal(bad.stdout, "", what);
    assert.match(bad.stderr, /^usage: offlog \[-h\]/, what);
    assert.match(bad.stderr, /offlog: error: /, what);
  }
});

Deno.test("serve() runs in-process: close() shuts it down, removes the socket and resolves finished", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/in.sock`;
  const logFile = `${dir.path}/server.log`;
  const server = await serve({ socketPath, logFile, quiet: true });
  assert.equal(server.socketPath, socketPath);
  const file = await ProxyFile.open(`${dir.path}/a.log`, { socketPath });
  file.write("in-process\n");
  await file.close();
  const closing = server.close();
  assert.equal(server.close(), closing, "close() is idempotent");
  await closing;
  await server.finished;
  await server[Symbol.asyncDispose]();
  await assert.rejects(Deno.lstat(socketPath), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(`${dir.path}/a.log`), "in-process\n");
  const log = await Deno.readTextFile(logFile);
  for (const line of log.trimEnd().split("\n")) {
    assert.match(
      line,
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (INFO|WARNING)\] /,
    );
  }
  assert.match(log, /Listening on socket .*in\.sock\n/);
  assert.match(log, /Exiting\n$/);
});

Deno.test("serve() shuts down when its signal aborts, and at once if it was aborted already", async () => {
  await using dir = await tempDir();
  const controller = new AbortController();
  const server = await serve({
    socketPath: `${dir.path}/a.sock`,
    quiet: true,
    signal: controller.signal,
  });
  assert.ok((await Deno.lstat(`${dir.path}/a.sock`)).isSocket);
  controller.abort();
  await server.finished;
  await assert.rejects(Deno.lstat(`${dir.path}/a.sock`), Deno.errors.NotFound);

  const aborted = await serve({
    socketPath: `${dir.path}/b.sock`,
    quiet: true,
    signal: AbortSignal.abort(),
  });
  await aborted.finished;
  await assert.rejects(Deno.lstat(`${dir.path}/b.sock`), Deno.errors.NotFound);
});

Deno.test("serve() throws AddrInUse on a socket another server listens on; that one keeps serving", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/live.sock`;
  await using server = await serve({ socketPath, quiet: true });
  await assert.rejects(serve({ socketPath, quiet: true }), Deno.errors.AddrInUse);
  await using file = await ProxyFile.open(`${dir.path}/a.log`, { socketPath });
  file.write("still\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${dir.path}/a.log`), "still\n");
  assert.ok(server.socketPath === socketPath);
});
