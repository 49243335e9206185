// serve() (server/serve.ts): the socket file, the server's log, and the server run
// in-process or embedded in a host program.

import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { serve } from "../server/serve.ts";
import {
  defaultPermissions,
  logMessages,
  readUntilClosed,
  startServer,
  tempDir,
} from "./_server.ts";
import { writeAll } from "./_raw.ts";
import { type ChildResult, spawnChild } from "./_child.ts";

const encoder = new TextEncoder();
const SERVER = new URL("../server.ts", import.meta.url).pathname;
const INFO_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog INFO\] /;

const WARNING_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (WARNING|ERROR)\] /;

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
  assert.equal(result.code, 1, "the second server exits 1, as for any start-up error");
  assert.equal(result.signal, null, "it exits by itself");
  // One clear line (the log's ERROR line and the command's own), no stack trace.
  const said = result.stderr.trimEnd().split("\n");
  assert.equal(said.length, 2, result.stderr);
  assert.equal(
    said[1],
    `offlog: error: Another offlog server is listening on "${first.socketPath}"`,
  );
  assert.match(
    said[0]!,
    /^\[.* offlog ERROR\] Cannot listen on socket .*: Another offlog server is listening on ".*"$/,
  );
  assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
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

/** A whole line of the server's log. */
const LOG_LINE =
  /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (INFO|WARNING|ERROR)\] \S/;

/** Writes `source` as a program in a new temporary directory. */
async function program(source: string): Promise<{ dir: string; script: string }> {
  const dir = await Deno.makeTempDir({ prefix: "offlog_embed_" });
  const script = `${dir}/host.ts`;
  await Deno.writeTextFile(script, `import { serve } from "${SERVER}";\n${source}`);
  return { dir, script };
}

/** Runs `script` with the permissions an embedded server needs, in `dir`. */
function run(dir: string, script: string) {
  return spawnChild(script, [`${dir}/offlog.sock`, `${dir}/server.log`], [
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-net=unix:${dir}/offlog.sock`,
  ]);
}

function describe(result: ChildResult): string {
  return `exit ${result.code} (${result.signal}) after ${Math.round(result.ms)} ms; ` +
    `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

Deno.test("serve() embedded: the host's own SIGTERM handler decides the exit code, and the log file is whole", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
const server = await serve({ socketPath, logFile, quiet: true });
Deno.addSignalListener("SIGTERM", async () => {
  await server.close();
  Deno.exit(7);
});
console.log("ready");
`);
  try {
    const child = run(dir, script);
    await child.waitFor("ready");
    // A client, so the log has more to say than the start.
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/offlog.sock` });
    await conn.write(new TextEncoder().encode(`${dir}/app.log\0hello\n`));
    const reply = new Uint8Array(16);
    assert.equal(
      new TextDecoder().decode(reply.subarray(0, await conn.read(reply) ?? 0)),
      "OK\0",
    );
    conn.close();
    const logFile = `${dir}/server.log`;
    for (let i = 0; i < 200; i++) {
      if ((await Deno.readTextFile(logFile)).includes("Closed ")) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.process.kill("SIGTERM");
    const result = await child.exited();
    assert.equal(result.code, 7, describe(result));
    assert.doesNotMatch(result.stderr, /offlog: lost|offlog:/, describe(result));
    const text = await Deno.readTextFile(logFile);
    assert.ok(text.endsWith("\n"), text);
    const lines = text.slice(0, -1).split("\n");
    for (const line of lines) assert.match(line, LOG_LINE);
    const messages = lines.map((line) => line.slice(line.indexOf("] ") + 2));
    for (
      const expected of [
        "This is offlog server",
        `Listening on socket ${dir}/offlog.sock`,
        "Client 0 connected",
        `New client 0 (total: 1) for ${dir}/app.log`,
        `Closed ${dir}/app.log`,
        "Shutting down",
        "Exiting",
      ]
    ) {
      assert.ok(messages.includes(expected), `"${expected}" in the log:\n${text}`);
    }
    assert.equal(messages.at(-1), "Exiting");
    assert.equal(await Deno.readTextFile(`${dir}/app.log`), "hello\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() embedded: an uncaught error ends the host at once, as Deno reports it", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
await serve({ socketPath, logFile, quiet: true });
throw new Error("x");
`);
  try {
    const result = await run(dir, script).exited(10_000);
    assert.equal(result.code, 1, describe(result));
    assert.match(
      result.stderr,
      /^error: Uncaught (\(in promise\) )?Error: x\n/,
      describe(result),
    );
    // Deno's own report quotes the source line; one printed by a listener does not.
    assert.match(result.stderr, /\nthrow new Error\("x"\);\n +\^\n/, describe(result));
    assert.doesNotMatch(result.stderr, /^offlog:/m, describe(result));
    assert.ok(result.ms < 5000, describe(result));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() embedded: a host that closes the server and ends exits 0 without waiting", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
const server = await serve({ socketPath, logFile, quiet: true });
await server.close();
console.log("closed");
`);
  try {
    const result = await run(dir, script).exited(10_000);
    assert.equal(result.code, 0, describe(result));
    assert.equal(result.stdout, "closed\n", describe(result));
    assert.equal(result.stderr, "", describe(result));
    assert.ok(result.ms < 5000, describe(result));
    const text = await Deno.readTextFile(`${dir}/server.log`);
    assert.match(text, /offlog INFO\] Exiting\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() adds no signal or global event listener, in this process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "offlog_embed_" });
  const added: string[] = [];
  const { addSignalListener } = Deno;
  const { addEventListener } = globalThis;
  Deno.addSignalListener = (signal: Deno.Signal, handler: () => void) => {
    added.push(signal);
    addSignalListener(signal, handler);
  };
  globalThis.addEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ) => {
    added.push(type);
    addEventListener.call(globalThis, type, listener, options);
  }) as typeof globalThis.addEventListener;
  try {
    const server = await serve({
      socketPath: `${dir}/offlog.sock`,
      logFile: `${dir}/server.log`,
      quiet: true,
    });
    await server.close();
  } finally {
    Deno.addSignalListener = addSignalListener;
    globalThis.addEventListener = addEventListener;
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(added, []);
});
