// ProxyFile (client/proxy_file.ts) against the real server: opening, refusals,
// write(), flush(), close(), errors, programs that use it with narrow permissions, and
// its WritableStream (writable).

import assert from "node:assert/strict";
import {
  MAX_RECORD_BYTES,
  OfflogConnectionError,
  OfflogServerError,
  ProxyFile,
} from "../mod.ts";
import { scopedPermissions, startServer, tempDir } from "./_server.ts";
import { spawnChild } from "./_child.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

/** Deno's flags for a client that may use the socket and nothing else. */
function socketOnly(socketPath: string): string[] {
  return [
    "--no-prompt",
    `--allow-read=${socketPath}`,
    `--allow-write=${socketPath}`,
    `--allow-net=unix:${socketPath}`,
  ];
}

/** Checks a refusal: the Deno error class, and the server's error as its cause. */
function refusedAs(
  cls: new (...args: never[]) => Error,
  serverName: string,
  message: string | RegExp,
): (error: unknown) => true {
  return (error: unknown) => {
    assert.ok(error instanceof cls, `expected ${cls.name}, got ${String(error)}`);
    assert.ok(
      error.cause instanceof OfflogServerError,
      "the server's error is the cause",
    );
    assert.equal(error.cause.serverName, serverName);
    assert.equal(error.cause.message, error.message, "the message is the server's");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

Deno.test("ProxyFile.open() resolves once the server has opened (and created) the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/new.log`;
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  assert.equal((await Deno.stat(path)).size, 0, "the file exists once open() resolved");
  assert.equal(file.path, path);
  assert.equal(file.socketPath, server.socketPath);
  assert.equal(file.protocol, "offlog/2");
  assert.equal(file.connected, true);
  assert.equal(file.pendingRecords, 0);
});

Deno.test("ProxyFile.open() rejects each refusal with the Deno error that fits, the server's error as cause", async () => {
  await using server = await startServer();
  const options = { socketPath: server.socketPath };
  const dir = server.dir;
  await assert.rejects(
    ProxyFile.open(dir, options),
    refusedAs(
      Deno.errors.IsADirectory,
      "IsADirectoryError",
      `[Errno 21] Is a directory: '${dir}'`,
    ),
  );
  await assert.rejects(
    ProxyFile.open(`${dir}/missing/x.log`, options),
    refusedAs(
      Deno.errors.NotFound,
      "FileNotFoundError",
      `[Errno 2] No such file or directory: '${dir}/missing/x.log'`,
    ),
  );
  await assert.rejects(
    ProxyFile.open(`${dir}/${"n".repeat(300)}.log`, options),
    (error: unknown) => {
      // ENAMETOOLONG has no Deno error class: the server's error itself.
      assert.ok(error instanceof OfflogServerError, String(error));
      assert.equal(error.serverName, "OSError");
      assert.match(error.message, /^\[Errno 36\] File name too long: '/);
      return true;
    },
  );
  await assert.rejects(
    ProxyFile.open("/" + "p".repeat(5000), options),
    (error: unknown) => {
      assert.ok(error instanceof OfflogServerError, String(error));
      assert.equal(error.name, "OfflogServerError");
      assert.equal(error.serverName, "ValueError");
      assert.equal(error.message, "path longer than PATH_MAX");
      return true;
    },
  );
  await server.waitFor("access denied");
});

Deno.test("ProxyFile.open() outside the server's --allow-write scope rejects with PermissionDenied", async () => {
  await using outside = await tempDir();
  await using server = await startServer({ permissions: scopedPermissions });
  const path = `${outside.path}/x.log`;
  await assert.rejects(
    ProxyFile.open(path, { socketPath: server.socketPath }),
    refusedAs(
      Deno.errors.PermissionDenied,
      "PermissionError",
      new RegExp(
        `^Permission denied: '${path}' is outside the server's permission scope`,
      ),
    ),
  );
  await server.waitFor(`access denied for ${path}: PermissionError`);
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("ProxyFile.open() refuses a path with a NUL byte before it connects", async () => {
  await using server = await startServer();
  const path = `${server.dir}/a\0b.log`;
  let file: ProxyFile | undefined;
  try {
    await assert.rejects(
      (async () => {
        file = await ProxyFile.open(path, { socketPath: server.socketPath });
      })(),
      TypeError,
    );
  } finally {
    await file?.close().catch(() => {});
  }
  // The NUL must not cut the path short: no file "a" appears beside the socket.
  await assert.rejects(Deno.lstat(`${server.dir}/a`), Deno.errors.NotFound);
  assert.ok(!server.stdout().includes("Client 0 connected"), "no connection was made");
});

Deno.test("ProxyFile.open() rejects bad arguments with TypeError or RangeError", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/none.sock`;
  await assert.rejects(ProxyFile.open("", { socketPath }), TypeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(ProxyFile.open(42 as any, { socketPath }), TypeError);
  for (const timeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(
      ProxyFile.open(`${dir.path}/a.log`, { socketPath, timeout }),
      RangeError,
      `timeout ${timeout}`,
    );
  }
  await assert.rejects(
    ProxyFile.open(`${dir.path}/a.log`, { socketPath, maxPendingBytes: -1 }),
    RangeError,
  );
});

Deno.test("ProxyFile.open() without a running server rejects with OfflogConnectionError naming the socket", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/offlog.sock`;
  const namesSocket = (error: unknown) => {
    assert.ok(error instanceof OfflogConnectionError, String(error));
    assert.equal(error.name, "OfflogConnectionError");
    assert.equal(error.socketPath, socketPath);
    assert.ok(error.message.includes(`"${socketPath}"`), error.message);
    return true;
  };
  // No socket file at all.
  await assert.rejects(ProxyFile.open(`${dir.path}/a.log`, { socketPath }), namesSocket);
  // A socket file left behind by a dead server.
  const bind = await new Deno.Command("python3", {
    args: [
      "-c",
      "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      socketPath,
    ],
  }).output();
  assert.equal(bind.code, 0);
  assert.ok((await Deno.lstat(socketPath)).isSocket);
  await assert.rejects(ProxyFile.open(`${dir.path}/a.log`, { socketPath }), namesSocket);
  await assert.rejects(Deno.lstat(`${dir.path}/a.log`), Deno.errors.NotFound);
});

Deno.test("ProxyFile.open() rejects with Deno.errors.TimedOut when the socket never answers", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const accepted = listener.accept();
  try {
    const started = performance.now();
    await assert.rejects(
      ProxyFile.open(`${dir.path}/a.log`, { socketPath, timeout: 300 }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.TimedOut, String(error));
        assert.ok(error.message.includes(socketPath), error.message);
        assert.match(error.message, /300 ms/);
        return true;
      },
    );
    const elapsed = performance.now() - started;
    assert.ok(
      elapsed >= 250,
      `gave up after ${elapsed.toFixed(0)} ms, before the timeout`,
    );
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms for a 300 ms timeout`);
  } finally {
    (await accepted).close();
    listener.close();
  }
});

Deno.test("ProxyFile.flush() resolves only once the data is in the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/flush.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await file.flush(); // nothing written: resolves at once
  let expected = 0;
  for (const size of [1, 100, 70_000, 1_000_000, 5_000_000]) {
    const line = "f".repeat(size - 1) + "\n";
    file.write(line);
    file.write(new TextEncoder().encode(line));
    expected += 2 * size;
    await file.flush();
    // Read at once, synchronously: no time for a late write to land.
    assert.equal(
      Deno.statSync(path).size,
      expected,
      `after flush() of ${size}-byte lines`,
    );
  }
  // Many small records in one go.
  for (let i = 0; i < 50_000; i++) file.write(`${i}\n`);
  expected += Array.from({ length: 50_000 }, (_, i) => `${i}\n`.length).reduce((a, b) =>
    a + b
  );
  await file.flush();
  assert.equal(Deno.statSync(path).size, expected);
  assert.equal(file.pendingRecords, 0);
  assert.ok((await Deno.readTextFile(path)).endsWith("49998\n49999\n"));
});

Deno.test("ProxyFile.close() sends what is queued, is idempotent, and write() after it throws BadResource", async () => {
  await using server = await startServer();
  const path = `${server.dir}/close.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (let i = 0; i < 10_000; i++) file.write(`queued ${i}\n`);
  const first = file.close();
  const second = file.close();
  assert.equal(first, second, "the same promise");
  await first;
  // close() waited for the server's goodbye: everything is in the file now.
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines.length, 10_000);
  assert.equal(lines.at(-1), "queued 9999");
  await file.close();
  await file[Symbol.asyncDispose]();
  assert.throws(() => file.write("late\n"), (error: unknown) => {
    assert.ok(error instanceof Deno.errors.BadResource);
    assert.ok(error.message.includes(path));
    return true;
  });
  await file.flush(); // nothing pending
  await server.waitFor(`Closed ${path}`);
  assert.equal((await Deno.readTextFile(path)).split("\n").length, 10_001);
});

Deno.test("ProxyFile.write() throws RangeError for a record over MAX_RECORD_BYTES, counted in UTF-8 bytes", async () => {
  await using server = await startServer();
  const path = `${server.dir}/max.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  assert.throws(() => file.write(new Uint8Array(MAX_RECORD_BYTES + 1)), RangeError);
  // Fewer UTF-16 units than the maximum, but more UTF-8 bytes.
  const over = "é".repeat(MAX_RECORD_BYTES / 2 + 1);
  assert.ok(over.length < MAX_RECORD_BYTES);
  assert.throws(() => file.write(over), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.ok(error.message.includes(`${MAX_RECORD_BYTES + 2} bytes`), error.message);
    return true;
  });
  assert.equal(file.pendingRecords, 0, "refused records are not queued");
  // Exactly the maximum is a record like any other, and lands whole.
  const max = new Uint8Array(MAX_RECORD_BYTES).fill(0x6d);
  max[max.length - 1] = 0x0a;
  file.write("before\n");
  file.write(max);
  file.write("after\n");
  await file.flush();
  const data = await Deno.readFile(path);
  assert.equal(data.length, MAX_RECORD_BYTES + 13);
  assert.equal(new TextDecoder().decode(data.subarray(0, 7)), "before\n");
  assert.ok(data.subarray(7, 7 + MAX_RECORD_BYTES - 1).every((b) => b === 0x6d));
  assert.equal(new TextDecoder().decode(data.subarray(-7)), "\nafter\n");
});

Deno.test("ProxyFile.write() throws TypeError for data that is not a string or Uint8Array", async () => {
  await using server = await startServer();
  const path = `${server.dir}/types.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (const bad of [42, null, undefined, {}, new ArrayBuffer(4), [104, 105]]) {
    // deno-lint-ignore no-explicit-any
    assert.throws(() => file.write(bad as any), TypeError, String(bad));
  }
  file.write("");
  file.write(new Uint8Array(0));
  file.write("ok\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(path), "ok\n");
});

Deno.test("ProxyFile.write() after the server was killed throws OfflogConnectionError, and close() does not repeat it", async () => {
  await using server = await startServer();
  const path = `${server.dir}/killed.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("one\n");
  await file.flush();
  await server.stop("SIGKILL");
  let thrown: unknown;
  for (let i = 0; i < 200 && thrown === undefined; i++) {
    try {
      file.write(`after ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } catch (error) {
      thrown = error;
    }
  }
  assert.ok(thrown instanceof OfflogConnectionError, String(thrown));
  assert.equal(thrown.socketPath, server.socketPath);
  assert.ok(thrown.message.includes(server.socketPath));
  assert.throws(
    () => file.write("again\n"),
    OfflogConnectionError,
    "and every write after",
  );
  await file.close(); // the error was thrown already
  assert.equal(await Deno.readTextFile(path), "one\n");
});

Deno.test("ProxyFile.close() does not throw again an error that flush() already threw", async () => {
  // Deno 2.9 opens device files only with --allow-all; the server, with --allow-devices.
  await using server = await startServer({
    permissions: () => ["--allow-all"],
    args: ["--allow-devices"],
  });
  const file = await ProxyFile.open("/dev/full", { socketPath: server.socketPath });
  file.write("lost\n");
  await assert.rejects(file.flush(), /No space left on device/);
  // The error reached the caller once; close() documents that it throws the server's
  // error only "if no write() or flush() threw it yet".
  await file.close();
});

Deno.test("ProxyFile in a client with permissions on the socket only gets its data into the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/socket_only.log`;
  const script = `${server.dir}/client.ts`;
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const [socketPath, path] = Deno.args;
const denied = ["read", "write"].map((name) =>
  Deno.permissions.querySync({ name, path }).state
);
console.log("file permissions:", denied.join(" "));
await using file = await ProxyFile.open(path, { socketPath });
for (let i = 0; i < 1000; i++) file.write(\`socket-only \${i}\\n\`);
await file.flush();
console.log("flushed");
`,
  );
  const child = spawnChild(
    script,
    [server.socketPath, path],
    socketOnly(server.socketPath),
  );
  const result = await child.exited(20_000);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^file permissions: (prompt|denied) (prompt|denied)\nflushed\n$/,
  );
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.deepEqual(lines, Array.from({ length: 1000 }, (_, i) => `socket-only ${i}`));
});

Deno.test("ProxyFile in a program that ends without close(): every line reaches the file and the program exits promptly", async () => {
  await using server = await startServer();
  const path = `${server.dir}/ends.log`;
  const idlePath = `${server.dir}/idle.log`;
  const script = `${server.dir}/ends.ts`;
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const [socketPath, path, count] = Deno.args;
// A long timeout: a client that kept the process waiting would show.
const file = await ProxyFile.open(path, { socketPath, timeout: 30_000 });
for (let i = 0; i < Number(count); i++) file.write(\`line \${i} of \${count}\\n\`);
`,
  );
  const flags = socketOnly(server.socketPath);
  const writer = spawnChild(script, [server.socketPath, path, "30000"], flags);
  const idle = spawnChild(script, [server.socketPath, idlePath, "0"], flags);
  const [written, quiet] = await Promise.all([
    writer.exited(20_000),
    idle.exited(20_000),
  ]);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stderr, "");
  assert.ok(written.ms < 8000, `the writer took ${written.ms.toFixed(0)} ms to exit`);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.ok(
    quiet.ms < 8000,
    `an idle ProxyFile kept its process for ${quiet.ms.toFixed(0)} ms`,
  );
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  assert.equal(lines.pop(), "");
  if (lines.length !== 30_000) {
    // Say what is missing or torn, for a failure that does not come back at will.
    const bad = lines.findIndex((line, i) => line !== `line ${i} of 30000`);
    const zeros = [...text].filter((c) => c === "\0").length;
    assert.fail(
      `${lines.length} lines, ${text.length} characters (${zeros} NUL); first wrong ` +
        `line ${bad}: ${JSON.stringify(lines[bad]?.slice(0, 80))}; server log:\n` +
        server.stdout().slice(-2000),
    );
  }
  lines.forEach((line, i) => {
    if (line !== `line ${i} of 30000`) assert.equal(line, `line ${i} of 30000`);
  });
  assert.equal(await Deno.readTextFile(idlePath), "");
});

Deno.test("ProxyFile.open() resolves a relative path against the working directory", async () => {
  await using server = await startServer();
  const script = `${server.dir}/relative.ts`;
  await Deno.mkdir(`${server.dir}/work`);
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
await using file = await ProxyFile.open("sub/../rel.log", { socketPath: Deno.args[0] });
console.log(file.path);
file.write("relative\\n");
`,
  );
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, server.socketPath],
    cwd: `${server.dir}/work`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  assert.equal(
    new TextDecoder().decode(result.stdout).trim(),
    `${server.dir}/work/rel.log`,
  );
  assert.equal(await Deno.readTextFile(`${server.dir}/work/rel.log`), "relative\n");
});

Deno.test("ProxyFile.writable: readable.pipeTo(file.writable) appends every chunk through a real server, then closes the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/piped.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const encoder = new TextEncoder();
  const chunks = function* () {
    for (let i = 0; i < 10_000; i++) {
      yield i % 2 === 0 ? `line ${i}\n` : encoder.encode(`line ${i}\n`);
    }
  };
  await ReadableStream.from(chunks()).pipeTo(file.writable);
  assert.throws(() => file.write("after\n"), Deno.errors.BadResource);
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  assert.deepEqual(lines, Array.from({ length: 10_000 }, (_, i) => `line ${i}`));
});

Deno.test("ProxyFile.writable takes the bytes of a TextEncoderStream", async () => {
  await using server = await startServer();
  const path = `${server.dir}/encoded.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await ReadableStream.from(["héllo ", "wörld\n"])
    .pipeThrough(new TextEncoderStream())
    .pipeTo(file.writable);
  assert.equal(await Deno.readTextFile(path), "héllo wörld\n");
});

Deno.test("ProxyFile.writable keeps the file open with pipeTo(..., { preventClose: true })", async () => {
  await using server = await startServer();
  const path = `${server.dir}/open.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await ReadableStream.from(["a\n", "b\n"]).pipeTo(file.writable, { preventClose: true });
  file.write("c\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(path), "a\nb\nc\n");
});

Deno.test("ProxyFile.writable closes the file, after writing what came first, when the source fails", async () => {
  await using server = await startServer();
  const path = `${server.dir}/aborted.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const failure = new Error("source failed");
  const source = ReadableStream.from(async function* () {
    yield "before\n";
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw failure;
  }());
  await assert.rejects(source.pipeTo(file.writable), (error) => error === failure);
  await file.close();
  assert.throws(() => file.write("after\n"), Deno.errors.BadResource);
  assert.equal(await Deno.readTextFile(path), "before\n");
});

Deno.test("ProxyFile.writable accepts writes without waiting: every write() resolves at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/direct.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const writer = file.writable.getWriter();
  const writes = [];
  for (let i = 0; i < 1000; i++) writes.push(writer.write(`w${i}\n`));
  await Promise.all(writes);
  assert.equal(writer.desiredSize, 1);
  await writer.close();
  assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, 1000);
});
