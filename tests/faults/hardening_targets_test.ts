// Hardening (issue 10): what the server opens and what it tells. Targets that are not
// regular files (FIFOs, sockets, devices) are refused without ever blocking, hard links
// do not lead a confined server out of its directory, client-supplied paths cannot
// forge log lines, a half-close in the middle of an offlog/1 frame is reported, and a
// write grant through a symlinked directory is explained. Every case runs the real
// server.

import assert from "node:assert/strict";
import { ProxyFile } from "../../mod.ts";
import {
  readMessageTexts,
  readUntilClosed,
  type RunningServer,
  startServer,
  tempDir,
  waitUntil,
} from "../_server.ts";
import { writeAll } from "../_raw.ts";
import { collectOutput } from "../_output.ts";

const encoder = new TextEncoder();

/** What the server said on one connection before closing it (or before the timeout). */
interface Answer {
  messages: string[];
  closed: boolean;
}

/**
 * Sends `parts`, half-closes, and reads until the server closes the connection or
 * `timeoutMs` runs out.
 */
async function ask(
  socketPath: string,
  parts: (string | Uint8Array)[],
  timeoutMs = 3000,
): Promise<Answer> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    try {
      for (const part of parts) {
        await writeAll(conn, typeof part === "string" ? encoder.encode(part) : part);
      }
      await conn.closeWrite();
    } catch (error) {
      // The server may refuse and close before everything was sent.
      if (
        !(error instanceof Deno.errors.BrokenPipe) &&
        !(error instanceof Deno.errors.ConnectionReset) &&
        !(error instanceof Deno.errors.NotConnected)
      ) throw error;
    }
    const received = await readUntilClosed(conn, timeoutMs);
    return {
      messages: received.text.split("\0").filter((m) => m.length > 0),
      closed: received.closed,
    };
  } finally {
    conn.close();
  }
}

/** Checks that the server refused with one message starting with `expected`, and closed. */
function assertRefused(answer: Answer, expected: string): void {
  assert.ok(
    answer.closed,
    `the server did not close the connection in time; it said ${
      JSON.stringify(answer.messages)
    }`,
  );
  assert.equal(answer.messages.length, 1, JSON.stringify(answer.messages));
  assert.ok(
    answer.messages[0]!.startsWith(expected),
    `expected ${JSON.stringify(expected)}, got ${JSON.stringify(answer.messages[0])}`,
  );
}

/** Makes a FIFO at `path` with mkfifo(1). */
async function mkfifo(path: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

/** A frame of the offlog/1 protocol: 4-byte big-endian length, then the payload. */
function frame(payload: string): Uint8Array {
  const body = encoder.encode(payload);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A frame header alone announcing `length` bytes. */
function header(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/** SIGTERMs the server and waits at most `timeoutMs` for its exit; SIGKILL after. */
async function terminateWithin(
  server: RunningServer,
  timeoutMs: number,
): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), timeoutMs);
  });
  const result = await Promise.race([server.stop("SIGTERM"), expired]);
  clearTimeout(timer);
  if (result === "expired") {
    await server.stop("SIGKILL");
    assert.fail(
      `the server did not exit within ${timeoutMs} ms of SIGTERM; stdout:\n${server.stdout()}`,
    );
  }
  return result;
}

/**
 * A process holding `path` (a FIFO) open for reading, opened without blocking.
 * `finish()` ends it and returns how many bytes had arrived in the FIFO.
 */
async function fifoReader(
  path: string,
): Promise<AsyncDisposable & { finish(): Promise<number> }> {
  const script = [
    "import os, sys",
    "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)",
    "print('ready', flush=True)",
    "sys.stdin.read()",
    "try:",
    "    n = len(os.read(fd, 1 << 20))",
    "except BlockingIOError:",
    "    n = 0",
    "print(n, flush=True)",
  ].join("\n");
  const process = new Deno.Command("python3", {
    args: ["-c", script, path],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = collectOutput(process);
  let finished: Promise<number> | null = null;
  const finish = () =>
    finished ??= (async () => {
      await process.stdin.close().catch(() => {});
      const status = await process.status;
      await output.done;
      assert.equal(status.code, 0, output.stderr());
      return Number(output.stdout().split("\n")[1]);
    })();
  try {
    await waitUntil(
      () => output.stdout().includes("ready\n"),
      "the FIFO reader is ready",
    );
  } catch (error) {
    process.kill("SIGKILL");
    await process.stdin.close().catch(() => {});
    await process.status;
    await output.done;
    throw error;
  }
  return {
    finish,
    async [Symbol.asyncDispose]() {
      await finish().catch(() => {});
    },
  };
}

// 1. Targets that are not regular files.

Deno.test("server refuses a FIFO at once, with no reader and with one, and writes nothing into it", async () => {
  await using server = await startServer();
  const fifo = `${server.dir}/pipe.log`;
  await mkfifo(fifo);
  const expected = `OSError: [Errno 22] Not a regular file: '${fifo}' is a FIFO`;

  const started = performance.now();
  assertRefused(await ask(server.socketPath, [`${fifo}\0`, "lost\n"]), expected);
  assert.ok(performance.now() - started < 2000, "refused at once");

  await using reader = await fifoReader(fifo);
  assertRefused(await ask(server.socketPath, [`${fifo}\0`, "lost\n"]), expected);
  assertRefused(
    await ask(server.socketPath, [`offlog/1\0${fifo}\0`, frame("lost\n")]),
    expected,
  );
  assert.equal(await reader.finish(), 0, "nothing was written into the FIFO");
  await server.waitFor(`Not a regular file: '${fifo}' is a FIFO`);
});

Deno.test("server refuses a Unix socket file and a character device as not regular files", async () => {
  // Deno needs --allow-all to open a device file.
  await using server = await startServer({ permissions: () => ["--allow-all"] });
  const socketFile = `${server.dir}/other.sock`;
  // A listening socket, closed at the end of the test.
  using _listener = Deno.listen({ transport: "unix", path: socketFile });
  assertRefused(
    await ask(server.socketPath, [`${socketFile}\0`, "lost\n"]),
    `OSError: [Errno 22] Not a regular file: '${socketFile}' is a socket`,
  );
  assertRefused(
    await ask(server.socketPath, ["/dev/null\0", "lost\n"]),
    "OSError: [Errno 22] Not a regular file: '/dev/null' is a character device",
  );
  assertRefused(
    await ask(server.socketPath, ["offlog/1\0/dev/null\0", frame("lost\n")]),
    "OSError: [Errno 22] Not a regular file: '/dev/null' is a character device",
  );
  await server.waitFor("Not a regular file: '/dev/null' is a character device");
});

Deno.test("40 FIFO requests at once do not stall the server: a normal client is served right after", async () => {
  await using server = await startServer();
  const fifos = Array.from({ length: 20 }, (_, i) => `${server.dir}/pipe${i}.log`);
  for (const fifo of fifos) await mkfifo(fifo);
  // Each FIFO is asked for twice, at the same time.
  const requests = [...fifos, ...fifos].map((fifo) =>
    ask(server.socketPath, [`${fifo}\0`, "lost\n"], 5000)
  );

  const started = performance.now();
  await using file = await ProxyFile.open(`${server.dir}/normal.log`, {
    socketPath: server.socketPath,
    timeout: 2000,
  });
  file.write("served\n");
  await file.flush();
  assert.ok(performance.now() - started < 2500, "the normal client was served at once");
  assert.equal(await Deno.readTextFile(`${server.dir}/normal.log`), "served\n");

  const answers = await Promise.all(requests);
  for (const [i, answer] of answers.entries()) {
    const fifo = fifos[i % fifos.length]!;
    assertRefused(answer, `OSError: [Errno 22] Not a regular file: '${fifo}' is a FIFO`);
  }
  await file.close();
});

Deno.test("SIGTERM with FIFO requests outstanding: the server exits 0 within the grace period", async () => {
  await using server = await startServer();
  const conns: Deno.UnixConn[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const fifo = `${server.dir}/pipe${i}.log`;
      await mkfifo(fifo);
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      conns.push(conn);
      await writeAll(conn, encoder.encode(`${fifo}\0`));
    }
    // No waiting for the answers: the requests are outstanding when SIGTERM comes.
    const status = await terminateWithin(server, 4000);
    assert.equal(status.code, 0, server.stdout() + server.stderr());
    assert.match(server.stdout(), /Exiting/);
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("a FIFO planted at a rotated path does not block the server: other files carry on, SIGTERM completes", async () => {
  await using server = await startServer({ args: ["--rotate-check", "100"] });
  const options = { socketPath: server.socketPath, timeout: 2000 };
  const rotated = `${server.dir}/a.log`;
  const other = `${server.dir}/b.log`;
  const a = await ProxyFile.open(rotated, options);
  const b = await ProxyFile.open(other, options);
  try {
    a.write("a1\n");
    b.write("b1\n");
    await Promise.all([a.flush(), b.flush()]);

    await Deno.rename(rotated, `${rotated}.1`);
    await mkfifo(rotated);
    await server.waitFor("Not a regular file", 3000);

    // The file's client gets the error, or keeps writing (to the old file).
    a.write("a2\n");
    const outcome = await a.flush().then(() => "written", (error: unknown) => error);
    if (outcome !== "written") {
      assert.match(String((outcome as Error).message), /Not a regular file/);
    }
    // Another file's client carries on at once.
    const started = performance.now();
    b.write("b2\n");
    await b.flush();
    assert.ok(performance.now() - started < 2000);
    await b.close();
    assert.equal(await Deno.readTextFile(other), "b1\nb2\n");

    // SIGTERM with the FIFO's client still connected.
    const status = await terminateWithin(server, 4000);
    assert.equal(status.code, 0, server.stdout() + server.stderr());
  } finally {
    // After the server exited, close() reports it; that is not under test here.
    await a.close().catch(() => {});
    await b.close().catch(() => {});
  }
  const old = await Deno.readTextFile(`${rotated}.1`);
  assert.ok(old === "a1\n" || old === "a1\na2\n", JSON.stringify(old));
  assert.ok((await Deno.lstat(rotated)).isFifo, "the FIFO is left as it was");
});

Deno.test("ProxyFile.open() of a FIFO rejects: not a regular file", async () => {
  await using server = await startServer();
  const fifo = `${server.dir}/pipe.log`;
  await mkfifo(fifo);
  await assert.rejects(
    ProxyFile.open(fifo, { socketPath: server.socketPath, timeout: 2000 }),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /[Nn]ot a regular file/);
      assert.ok(error.message.includes(fifo), error.message);
      return true;
    },
  );
});

// 2. Hard links.

/** `<dir>/allowed/link.log`, a hard link to `<dir>/outside/x.log` ("secret\n"). */
async function hardLinkLayout(
  dir: string,
): Promise<{ allowed: string; outside: string; link: string }> {
  const allowed = `${dir}/allowed`;
  const outside = `${dir}/outside`;
  await Deno.mkdir(allowed);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/x.log`, "secret\n");
  await Deno.link(`${outside}/x.log`, `${allowed}/link.log`);
  return { allowed, outside, link: `${allowed}/link.log` };
}

/**
 * Checks the refusal of a hard-linked `path`: the contract's text, allowing a clause
 * of explanation between "hard-linked files" and the advice in parentheses.
 */
function assertHardLinkRefused(answer: Answer, path: string): void {
  assertRefused(answer, hardLinkRefusal(path));
  assert.ok(
    answer.messages[0]!.endsWith("(start it with --allow-hardlinks to allow them)"),
    answer.messages[0],
  );
}

function hardLinkRefusal(path: string): string {
  return `PermissionError: Permission denied: '${path}' has 2 hard links; a confined ` +
    "server does not open hard-linked files";
}

Deno.test("a server confined by --root refuses a hard link to a file outside, unless --allow-hardlinks", async () => {
  await using tmp = await tempDir();
  const { allowed, outside, link } = await hardLinkLayout(tmp.path);
  {
    await using server = await startServer({ dir: tmp.path, args: ["--root", allowed] });
    assertHardLinkRefused(await ask(server.socketPath, [`${link}\0`, "forged\n"]), link);
    await server.waitFor(`access denied for ${link}: ${hardLinkRefusal(link)}`);
    assert.equal(await Deno.readTextFile(`${outside}/x.log`), "secret\n");
    // A file with one link in the same directory is served.
    assert.deepEqual(
      (await ask(server.socketPath, [`${allowed}/own.log`, "\0mine\n"])).messages,
      ["OK", "BYE"],
    );
    assert.equal(await Deno.readTextFile(`${allowed}/own.log`), "mine\n");
  }
  {
    await using server = await startServer({
      dir: tmp.path,
      args: ["--root", allowed, "--allow-hardlinks"],
    });
    assert.deepEqual(
      (await ask(server.socketPath, [`${link}\0`, "allowed\n"])).messages,
      ["OK", "BYE"],
    );
    assert.equal(await Deno.readTextFile(`${outside}/x.log`), "secret\nallowed\n");
  }
});

Deno.test("a server confined by scoped --allow-write refuses a hard-linked file; an unconfined one opens it", async () => {
  await using tmp = await tempDir();
  const { allowed, outside, link } = await hardLinkLayout(tmp.path);
  {
    await using server = await startServer({
      dir: tmp.path,
      permissions: (socket) => [
        "--no-prompt",
        `--allow-read=${allowed},${socket}`,
        `--allow-write=${allowed},${socket}`,
        `--allow-net=unix:${socket}`,
      ],
    });
    assertHardLinkRefused(await ask(server.socketPath, [`${link}\0`, "forged\n"]), link);
    await server.waitFor(`access denied for ${link}: ${hardLinkRefusal(link)}`);
    assert.equal(await Deno.readTextFile(`${outside}/x.log`), "secret\n");
  }
  {
    await using server = await startServer({ dir: tmp.path });
    assert.deepEqual(
      (await ask(server.socketPath, [`${link}\0`, "unconfined\n"])).messages,
      ["OK", "BYE"],
    );
    assert.equal(await Deno.readTextFile(`${outside}/x.log`), "secret\nunconfined\n");
  }
});

// 3. Log forging.

/** A line of the server's log: `[YYYY-MM-DD HH:MM:SS.mmm offlog LEVEL] text`. */
const LOG_LINE =
  /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} offlog (DEBUG|INFO|WARNING|ERROR|CRITICAL)\] \S/;

/** Checks that every line of `text` is one log line, however a terminal breaks lines. */
function assertOnlyLogLines(text: string, where: string): string[] {
  // deno-lint-ignore no-control-regex
  const lines = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  for (const line of lines) {
    if (line.length === 0) continue;
    assert.match(line, LOG_LINE, `${where}: not a log line: ${JSON.stringify(line)}`);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(line, /[\x00-\x08\x0e-\x1f\x7f-\x9f]/, `${where}: ${line}`);
  }
  return lines;
}

Deno.test("client-supplied paths with control characters are logged in Python repr, never as a new log line", async () => {
  await using tmp = await tempDir();
  const logFile = `${tmp.path}/server.log`;
  await using server = await startServer({ dir: tmp.path, args: ["--logfile", logFile] });
  const forged = "[2026-01-01 00:00:00.000 offlog INFO] Client 99 forged";
  const dir = tmp.path;
  const served = [
    { path: `${dir}/a\n${forged}`, repr: `'${dir}/a\\n${forged}'` },
    { path: `${dir}/b\r${forged}`, repr: `'${dir}/b\\r${forged}'` },
    {
      path: `${dir}/c\x1b[31mred\x1b[0m\t.log`,
      repr: `'${dir}/c\\x1b[31mred\\x1b[0m\\t.log'`,
    },
    { path: `${dir}/d\u2028${forged}`, repr: `'${dir}/d\\u2028${forged}'` },
  ];
  for (const { path } of served) {
    assert.deepEqual((await ask(server.socketPath, [`${path}\0`, "x\n"])).messages, [
      "OK",
      "BYE",
    ]);
  }
  // A refusal whose text holds the path (its directory does not exist).
  const missing = `${dir}/missing\n${forged}/x.log`;
  const refused = await ask(server.socketPath, [`${missing}\0`]);
  assert.equal(refused.messages.length, 1);
  assert.match(refused.messages[0]!, /^FileNotFoundError: /);

  const status = await terminateWithin(server, 4000);
  assert.equal(status.code, 0);
  const outputs = {
    stdout: server.stdout(),
    stderr: server.stderr(),
    logfile: await Deno.readTextFile(logFile),
  };
  for (const [where, text] of Object.entries(outputs)) {
    const lines = assertOnlyLogLines(text, where);
    assert.ok(
      !lines.some((line) => line.startsWith(forged)),
      `${where} has a forged line`,
    );
    assert.ok(!text.includes("\x1b"), `${where} has an escape character`);
  }
  const log = outputs.stdout + outputs.stderr;
  for (const { repr } of served) {
    assert.ok(log.includes(repr), `the log does not show ${repr}:\n${log}`);
    assert.ok(outputs.logfile.includes(repr), `the log file does not show ${repr}`);
  }
  assert.ok(log.includes(`${dir}/missing\\n${forged}/x.log`), log);
});

// 4. Half-close in the middle of an offlog/1 frame.

/** Opens `path` with the offlog/1 opening and waits for `OK`. */
async function openV1(socketPath: string, path: string): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await writeAll(conn, encoder.encode(`offlog/1\0${path}\0`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

Deno.test("a half-close in the middle of an offlog/1 frame gets its ACKs, then a ValueError naming the dropped bytes, not BYE", async () => {
  await using server = await startServer();
  const path = `${server.dir}/half.log`;
  const conn = await openV1(server.socketPath, path);
  let messages: string[];
  try {
    await writeAll(conn, frame("one\n"));
    await writeAll(conn, frame("two\n"));
    await writeAll(conn, header(100));
    await writeAll(conn, encoder.encode("sixby\n"));
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.ok(received.closed, "the server closes the connection");
    messages = received.text.split("\0").filter((m) => m.length > 0);
  } finally {
    conn.close();
  }
  const error =
    "ValueError: Connection ended in the middle of a record: its 10 bytes (header included) were dropped";
  assert.equal(messages.at(-1), error, JSON.stringify(messages));
  assert.ok(!messages.includes("BYE"), JSON.stringify(messages));
  const acks = messages.slice(0, -1);
  assert.ok(
    acks.length > 0 && acks.every((m) => /^ACK \d+$/.test(m)),
    JSON.stringify(acks),
  );
  assert.equal(acks.at(-1), "ACK 8");
  await server.waitFor("disconnected with an unfinished record (10 bytes dropped)");
  assert.match(
    server.stdout() + server.stderr(),
    /\] Client \d+ disconnected with an unfinished record \(10 bytes dropped\)\n/,
  );
  assert.equal(await Deno.readTextFile(path), "one\ntwo\n");
});

Deno.test("a half-close right after an offlog/1 frame header drops its 4 bytes, and says so", async () => {
  await using server = await startServer();
  const path = `${server.dir}/header.log`;
  const conn = await openV1(server.socketPath, path);
  let messages: string[];
  try {
    await writeAll(conn, frame("whole\n"));
    await writeAll(conn, header(100));
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.ok(received.closed, "the server closes the connection");
    messages = received.text.split("\0").filter((m) => m.length > 0);
  } finally {
    conn.close();
  }
  assert.deepEqual(messages, [
    "ACK 6",
    "ValueError: Connection ended in the middle of a record: its 4 bytes (header included) were dropped",
  ]);
  await server.waitFor("disconnected with an unfinished record (4 bytes dropped)");
  assert.equal(await Deno.readTextFile(path), "whole\n");
});

// 5. A write grant through a symlinked directory.

/** `<dir>/real/` and `<dir>/link -> <dir>/real`. */
async function symlinkedDir(dir: string): Promise<{ real: string; link: string }> {
  const real = `${dir}/real`;
  const link = `${dir}/link`;
  await Deno.mkdir(real);
  await Deno.symlink(real, link);
  return { real, link };
}

Deno.test("a write grant through a symlinked directory is refused, naming the real directory to grant", async () => {
  await using tmp = await tempDir();
  const { real, link } = await symlinkedDir(tmp.path);
  await using server = await startServer({
    dir: tmp.path,
    permissions: (socket) => [
      "--no-prompt",
      "--allow-read",
      `--allow-write=${link},${socket}`,
      `--allow-net=unix:${socket}`,
    ],
  });
  const path = `${link}/a.log`;
  const answer = await ask(server.socketPath, [`${path}\0`, "lost\n"]);
  assertRefused(answer, `PermissionError: Permission denied: '${path}'`);
  const message = answer.messages[0]!;
  assert.ok(message.includes(`leads through a symlink to '${real}`), message);
  assert.ok(message.includes("grant the real directory"), message);

  await server.waitFor(`access denied for ${path}: PermissionError:`);
  const logged = (server.stdout() + server.stderr()).split("\n").find((line) =>
    line.includes(`access denied for ${path}`)
  )!;
  assert.ok(logged.includes(`leads through a symlink to '${real}`), logged);
  assert.ok(logged.includes("grant the real directory"), logged);
  await assert.rejects(Deno.lstat(`${real}/a.log`), Deno.errors.NotFound);
});

Deno.test("--root that is a symlink gives a start-up warning", async () => {
  await using tmp = await tempDir();
  const { real, link } = await symlinkedDir(tmp.path);
  await using server = await startServer({ dir: tmp.path, args: ["--root", link] });
  const warning = (server.stdout() + server.stderr()).split("\n").find((line) =>
    / offlog WARNING\] /.test(line) && line.includes("is a symlink to")
  );
  assert.ok(warning !== undefined, server.stdout() + server.stderr());
  // The server still serves under the directory the symlink leads to.
  assert.deepEqual((await ask(server.socketPath, [`${real}/a.log\0`, "x\n"])).messages, [
    "OK",
    "BYE",
  ]);
});

Deno.test("a socket directory that is a symlink gives a start-up warning", async () => {
  await using tmp = await tempDir();
  const { link } = await symlinkedDir(tmp.path);
  await using server = await startServer({ dir: link });
  const warning = (server.stdout() + server.stderr()).split("\n").find((line) =>
    / offlog WARNING\] /.test(line) && line.includes("is a symlink to")
  );
  assert.ok(warning !== undefined, server.stdout() + server.stderr());
});
