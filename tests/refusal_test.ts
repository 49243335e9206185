import assert from "node:assert/strict";
import {
  MAX_RECORD_BYTES,
  OfflogConnectionError,
  OfflogServerError,
  ProxyFile,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { exchange } from "./_raw.ts";

Deno.test("server refuses a relative path with the 0.x message, then closes", async () => {
  await using server = await startServer();
  const messages = await exchange(server.socketPath, "relative.log\0data\n");
  assert.deepEqual(messages, ["ValueError: not an absolute path"]);
  await server.waitFor("access denied");
});

Deno.test("server refuses more than PATH_MAX bytes without a NUL", async () => {
  await using server = await startServer();
  const messages = await exchange(server.socketPath, "/" + "a".repeat(5000));
  assert.deepEqual(messages, ["ValueError: path longer than PATH_MAX"]);
});

Deno.test("server refuses a directory, a missing directory and invalid UTF-8 on the wire", async () => {
  await using server = await startServer();
  assert.deepEqual(await exchange(server.socketPath, `${server.dir}\0`), [
    `IsADirectoryError: [Errno 21] Is a directory: '${server.dir}'`,
  ]);
  assert.deepEqual(await exchange(server.socketPath, `${server.dir}/nope/x.log\0`), [
    `FileNotFoundError: [Errno 2] No such file or directory: '${server.dir}/nope/x.log'`,
  ]);
  const bad = new Uint8Array([47, 116, 109, 112, 47, 0xff, 0xfe, 0]);
  assert.deepEqual(await exchange(server.socketPath, bad), [
    "ValueError: path is not valid UTF-8",
  ]);
  // The server keeps serving.
  await using file = await ProxyFile.open(`${server.dir}/ok.log`, {
    socketPath: server.socketPath,
  });
  file.write("still serving\n");
  await file.flush();
});

Deno.test("ProxyFile.open() rejects with the Deno error that fits and keeps the server's", async () => {
  await using server = await startServer();
  const options = { socketPath: server.socketPath };
  await assert.rejects(ProxyFile.open(server.dir, options), (error: unknown) => {
    assert.ok(error instanceof Deno.errors.IsADirectory);
    assert.ok(error.cause instanceof OfflogServerError);
    assert.equal(error.cause.serverName, "IsADirectoryError");
    assert.match(error.message, /Is a directory/);
    return true;
  });
  await assert.rejects(
    ProxyFile.open(`${server.dir}/missing/x.log`, options),
    Deno.errors.NotFound,
  );
});

Deno.test("ProxyFile.open() outside the server's permission scope is a PermissionError", async () => {
  const outside = await Deno.makeTempDir();
  try {
    await using server = await startServer({
      permissions: (socket, dir) => [
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        `--allow-net=unix:${socket}`,
      ],
    });
    await assert.rejects(
      ProxyFile.open(`${outside}/x.log`, { socketPath: server.socketPath }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.PermissionDenied);
        assert.equal((error.cause as OfflogServerError).serverName, "PermissionError");
        assert.ok(error.message.includes(`${outside}/x.log`));
        return true;
      },
    );
    await server.waitFor("access denied");
    assert.match(server.stderr() + server.stdout(), /access denied .*PermissionError/);
    // Inside the scope works.
    await using file = await ProxyFile.open(`${server.dir}/in.log`, {
      socketPath: server.socketPath,
    });
    file.write("in scope\n");
    await file.flush();
    assert.equal(await Deno.readTextFile(`${server.dir}/in.log`), "in scope\n");
  } finally {
    assert.deepEqual([...Deno.readDirSync(outside)], []);
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("ProxyFile.open() without a server names the socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const socketPath = `${dir}/none.sock`;
    await assert.rejects(
      ProxyFile.open(`${dir}/x.log`, { socketPath }),
      (error: unknown) => {
        assert.ok(error instanceof OfflogConnectionError);
        assert.equal(error.socketPath, socketPath);
        assert.ok(error.message.includes(socketPath));
        return true;
      },
    );
    // A socket file that no server listens on.
    const stale = new Deno.Command("python3", {
      args: [
        "-c",
        `import socket; s = socket.socket(socket.AF_UNIX); s.bind("${socketPath}")`,
      ],
    });
    assert.equal((await stale.output()).code, 0);
    await assert.rejects(
      ProxyFile.open(`${dir}/x.log`, { socketPath }),
      OfflogConnectionError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProxyFile.open() times out against a socket that never answers", async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const accepted = listener.accept();
  try {
    const started = performance.now();
    await assert.rejects(
      ProxyFile.open(`${dir}/x.log`, { socketPath, timeout: 300 }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.TimedOut);
        assert.match(error.message, /300 ms/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 3000);
  } finally {
    (await accepted).close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProxyFile.write() refuses a record over the maximum, and any write after close()", async () => {
  await using server = await startServer();
  const file = await ProxyFile.open(`${server.dir}/a.log`, {
    socketPath: server.socketPath,
  });
  assert.throws(() => file.write(new Uint8Array(MAX_RECORD_BYTES + 1)), RangeError);
  file.write("kept\n");
  await file.close();
  await file.close(); // idempotent
  assert.throws(() => file.write("late\n"), Deno.errors.BadResource);
  assert.equal(await Deno.readTextFile(`${server.dir}/a.log`), "kept\n");
});

Deno.test("server refuses an offlog/1 frame over the maximum record size and keeps earlier ones", async () => {
  await using server = await startServer();
  const path = `${server.dir}/big.log`;
  const frame = (payload: string) => {
    const body = new TextEncoder().encode(payload);
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  };
  const huge = new Uint8Array(4);
  new DataView(huge.buffer).setUint32(0, MAX_RECORD_BYTES + 1);
  const messages = await exchange(
    server.socketPath,
    `offlog/1\0${path}\0`,
    frame("before\n"),
    huge,
  );
  assert.equal(messages[0], "OK");
  assert.ok(
    messages.includes(
      `ValueError: record of ${
        MAX_RECORD_BYTES + 1
      } bytes is larger than the maximum of ${MAX_RECORD_BYTES} bytes`,
    ),
    messages.join(" | "),
  );
  assert.ok(!messages.includes("BYE"));
  assert.equal(await Deno.readTextFile(path), "before\n");
});
