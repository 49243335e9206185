// The client against servers that break the protocol (a fake server in this file, which
// is not ours), and against the real server when the file's path disappears.

import assert from "node:assert/strict";
import {
  MAX_MESSAGE_BYTES,
  MessageDecoder,
  MessageTooLongError,
  parseMessage,
} from "../protocol/mod.ts";
import { OfflogProtocolError, OfflogServerError, ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------
// MessageDecoder's bound

Deno.test("MessageDecoder.push() takes a message of exactly MAX_MESSAGE_BYTES", () => {
  assert.equal(MAX_MESSAGE_BYTES, 16384);
  const text = "ValueError: " + "x".repeat(MAX_MESSAGE_BYTES - 12);
  const bytes = encoder.encode(text + "\0OK\0");
  assert.deepEqual(new MessageDecoder().push(bytes), [parseMessage(text), {
    type: "ok",
  }]);
  // The same, split across pushes at every kind of boundary.
  for (const cuts of [[1], [MAX_MESSAGE_BYTES - 1], [MAX_MESSAGE_BYTES], [100, 8000]]) {
    const decoder = new MessageDecoder();
    const out = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      out.push(...decoder.push(bytes.subarray(from, cut)));
      from = cut;
    }
    assert.deepEqual(out, [parseMessage(text), { type: "ok" }], `cuts ${cuts}`);
  }
});

Deno.test("MessageDecoder.push() throws MessageTooLongError one byte past MAX_MESSAGE_BYTES", () => {
  const long = encoder.encode("x".repeat(MAX_MESSAGE_BYTES + 1));
  // With its NUL in the same chunk, without a NUL, and split across pushes.
  const ways: Uint8Array[][] = [
    [Uint8Array.of(...long, 0)],
    [long],
    [long.subarray(0, MAX_MESSAGE_BYTES), long.subarray(MAX_MESSAGE_BYTES)],
    [
      long.subarray(0, 10),
      long.subarray(10, 5000),
      long.subarray(5000),
      Uint8Array.of(0),
    ],
  ];
  for (const [k, pieces] of ways.entries()) {
    const decoder = new MessageDecoder();
    let error: unknown;
    try {
      for (const piece of pieces) decoder.push(piece);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof MessageTooLongError, `way ${k}: ${error}`);
    assert.equal(error.maxBytes, MAX_MESSAGE_BYTES);
    assert.equal(error.message, "Server message longer than the maximum of 16384 bytes");
    // The decoder stays failed: a later NUL does not make the stream valid again.
    assert.throws(() => decoder.push(encoder.encode("\0OK\0")), MessageTooLongError);
  }
});

Deno.test("MessageDecoder holds at most MAX_MESSAGE_BYTES of 100 MiB without a NUL", () => {
  const chunk = new Uint8Array(1024).fill(0x41);
  const decoder = new MessageDecoder();
  const before = Deno.memoryUsage().heapUsed;
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 100 * 1024; i++) {
    try {
      decoder.push(chunk);
      accepted += chunk.length;
    } catch (error) {
      assert.ok(error instanceof MessageTooLongError);
      refused++;
    }
  }
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(accepted, MAX_MESSAGE_BYTES);
  assert.equal(refused, 100 * 1024 - MAX_MESSAGE_BYTES / 1024);
  assert.ok(grown < 4 * MiB, `heap grew by ${grown} bytes`);
});

// ---------------------------------------------------------------------------------
// A fake server that breaks the protocol

interface FakeServer extends AsyncDisposable {
  socketPath: string;
  /** Connections accepted so far. */
  accepted(): number;
}

/** Listens on a socket in a new directory and runs `serve` for each connection. */
async function fakeServer(
  serve: (conn: Deno.UnixConn) => Promise<void>,
): Promise<FakeServer> {
  const dir = await Deno.makeTempDir({ prefix: "offlog_fake_" });
  const socketPath = `${dir}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const sessions = new Set<Promise<void>>();
  let accepted = 0;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        const session = serve(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // closed already
          }
        });
        sessions.add(session);
      }
    } catch {
      // the listener was closed
    }
  })();
  return {
    socketPath,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop;
      await Promise.all(sessions);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Reads the offlog/1 opening: `offlog/1\0<path>\0`. */
async function readOpening(conn: Deno.UnixConn): Promise<void> {
  const buffer = new Uint8Array(8192);
  let nuls = 0;
  while (nuls < 2) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("client closed during its opening");
    for (const byte of buffer.subarray(0, n)) if (byte === 0) nuls++;
  }
}

/** Reads until `total` bytes in all arrived after the opening. */
async function readBytes(conn: Deno.UnixConn, total: number): Promise<void> {
  const buffer = new Uint8Array(8192);
  for (let got = 0; got < total;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("client closed");
    got += n;
  }
}

/** Sends up to `total` bytes without a NUL, until the client hangs up; returns the count. */
async function sendGarbage(conn: Deno.UnixConn, total: number): Promise<number> {
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  let sent = 0;
  try {
    while (sent < total) sent += await conn.write(chunk);
  } catch {
    // the client closed the connection
  }
  return sent;
}

/** Rounds bytes to MB for messages. */
function mb(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MB`;
}

Deno.test("ProxyFile.open() fails with OfflogProtocolError on an endless message, memory flat", async () => {
  let sent = 0;
  await using server = await fakeServer(async (conn) => {
    await readOpening(conn);
    sent = await sendGarbage(conn, 100 * MiB);
  });
  const before = Deno.memoryUsage().rss;
  const error = await ProxyFile.open("/tmp/hostile.log", {
    socketPath: server.socketPath,
  }).then(() => null, (e: unknown) => e);
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(error instanceof OfflogProtocolError, String(error));
  assert.equal(error.name, "OfflogProtocolError");
  assert.equal(error.socketPath, server.socketPath);
  assert.equal(
    error.message,
    `Protocol error from the offlog server at "${server.socketPath}" for ` +
      `"/tmp/hostile.log": a message ran past the maximum of 16384 bytes without its NUL`,
  );
  assert.ok(error.cause instanceof MessageTooLongError);
  assert.ok(grown < 16 * MiB, `rss grew by ${mb(grown)}`);
  await until(() => sent > 0, "the fake server to stop sending");
  assert.ok(sent < 100 * MiB, `the client read on: ${mb(sent)} sent`);
  console.log(`open(): rss grew by ${mb(grown)}; the fake server got ${mb(sent)} out`);
});

Deno.test("ProxyFile fails with OfflogProtocolError on an endless message after open, memory flat", async () => {
  let sent = 0;
  let start = () => {};
  const started = new Promise<void>((resolve) => start = resolve);
  await using server = await fakeServer(async (conn) => {
    await readOpening(conn);
    await conn.write(encoder.encode("OK\0"));
    await started;
    sent = await sendGarbage(conn, 100 * MiB);
  });
  const file = await ProxyFile.open("/tmp/hostile.log", {
    socketPath: server.socketPath,
    reconnect: true,
  });
  try {
    const before = Deno.memoryUsage().rss;
    start();
    await until(() => !file.connected, "the client to drop the connection");
    await until(() => sent > 0, "the fake server to stop sending");
    const grown = Deno.memoryUsage().rss - before;
    const error = await file.flush().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof OfflogProtocolError, String(error));
    assert.match(error.message, /a message ran past the maximum of 16384 bytes/);
    assert.throws(() => file.write("more\n"), OfflogProtocolError);
    assert.ok(grown < 16 * MiB, `rss grew by ${mb(grown)}`);
    assert.ok(sent < 100 * MiB, `the client read on: ${mb(sent)} sent`);
    // A server that breaks the protocol is not retried, even with reconnect.
    await sleep(200);
    assert.equal(server.accepted(), 1);
    console.log(`idle: rss grew by ${mb(grown)}; the fake server got ${mb(sent)} out`);
  } finally {
    await file.close().catch(() => {});
  }
});

for (const reconnect of [false, true]) {
  Deno.test(`ProxyFile fails with OfflogProtocolError on an ACK beyond what was sent (reconnect: ${reconnect})`, async () => {
    await using server = await fakeServer(async (conn) => {
      await readOpening(conn);
      await conn.write(encoder.encode("OK\0"));
      await readBytes(conn, 4 + 6); // one frame: "hello\n"
      await conn.write(encoder.encode("ACK 6\0"));
      await readBytes(conn, 4 + 6); // "world\n": 12 bytes sent in all
      await conn.write(encoder.encode("ACK 13\0"));
      await readBytes(conn, Infinity).catch(() => {});
    });
    const file = await ProxyFile.open("/tmp/hostile.log", {
      socketPath: server.socketPath,
      reconnect,
    });
    try {
      file.write("hello\n");
      await file.flush(); // a true ACK
      file.write("world\n");
      const error = await file.flush().then(() => null, (e: unknown) => e);
      assert.ok(error instanceof OfflogProtocolError, String(error));
      assert.equal(
        error.message,
        `Protocol error from the offlog server at "${server.socketPath}" for ` +
          `"/tmp/hostile.log": "ACK 13" acknowledges more than the 12 bytes sent on ` +
          `this connection`,
      );
      assert.equal(file.connected, false);
      assert.throws(() => file.write("more\n"), OfflogProtocolError);
      await sleep(200);
      assert.equal(server.accepted(), 1, "no reconnect to a server that lies");
    } finally {
      await file.close().catch(() => {});
    }
  });
}

Deno.test("ProxyFile fails with OfflogProtocolError on an ACK that arrives with OK", async () => {
  await using server = await fakeServer(async (conn) => {
    await readOpening(conn);
    await conn.write(encoder.encode("OK\0ACK 1\0"));
    await readBytes(conn, Infinity).catch(() => {});
  });
  const file = await ProxyFile.open("/tmp/hostile.log", {
    socketPath: server.socketPath,
  });
  try {
    await until(() => !file.connected, "the client to drop the connection");
    file.write("never acknowledged\n");
  } catch (error) {
    assert.ok(error instanceof OfflogProtocolError, String(error));
    assert.match(error.message, /"ACK 1" acknowledges more than the 0 bytes sent/);
    return;
  } finally {
    await file.close().catch(() => {});
  }
  assert.fail("write() did not throw");
});

// ---------------------------------------------------------------------------------
// A path that is gone (real server)

/** Writes numbered lines every millisecond until stopped. */
function stream(file: ProxyFile): { count(): number; stop(): number } {
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 50; k++) file.write(`line ${i++}\n`);
  }, 1);
  return {
    count: () => i,
    stop() {
      clearInterval(timer);
      return i;
    },
  };
}

Deno.test("ProxyFile with reconnect outlives its directory being removed and created again", async () => {
  await using server = await startServer();
  const sub = `${server.dir}/sub`;
  const path = `${sub}/app.log`;
  await Deno.mkdir(sub);
  const file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    reconnect: true,
  });
  try {
    const writer = stream(file);
    await sleep(50);
    await file.flush();
    const flushed = writer.count(); // every line before this is in the old file
    await sleep(20);
    await Deno.remove(sub, { recursive: true });
    const atRemoval = writer.count(); // every line from here on is in the new one
    await until(() => !file.connected, "the client to learn that the path is gone");
    await sleep(300); // reconnects are refused with FileNotFoundError meanwhile
    assert.equal(file.connected, false);
    await Deno.mkdir(sub);
    await until(() => file.connected, "the client to reconnect");
    await sleep(50);
    const written = writer.stop();
    await file.flush();
    await file.close();
    await server.waitFor(`Closed ${path}`);
    // The new file holds a run of lines up to the last, each once and in order,
    // starting no later than the removal (what came before went to the old file).
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    const first = Number(lines[0]?.slice("line ".length));
    assert.ok(
      first >= flushed && first <= atRemoval,
      `first line ${first}, flushed ${flushed}, at removal ${atRemoval}`,
    );
    assert.equal(lines.length, written - first);
    lines.forEach((text, k) => assert.equal(text, `line ${first + k}`));
  } finally {
    await file.close().catch(() => {});
  }
});

Deno.test("ProxyFile without reconnect: flush() rejects with NotFound once its directory is removed", async () => {
  await using server = await startServer();
  const sub = `${server.dir}/sub`;
  const path = `${sub}/app.log`;
  await Deno.mkdir(sub);
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  try {
    file.write("before\n");
    await file.flush();
    await Deno.remove(sub, { recursive: true });
    file.write("after\n");
    const error = await file.flush().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof Deno.errors.NotFound, String(error));
    assert.ok(error.cause instanceof OfflogServerError);
    assert.equal(error.cause.serverName, "FileNotFoundError");
    assert.match(
      error.message,
      /^\[Errno 2\] No such file or directory: '.*\/sub\/app\.log' \(the file was deleted/,
    );
    assert.throws(() => file.write("more\n"), Deno.errors.NotFound);
  } finally {
    await file.close().catch(() => {});
  }
});

Deno.test("ProxyFile.open() with reconnect still throws NotFound at once for a missing directory", async () => {
  await using server = await startServer();
  await assert.rejects(
    ProxyFile.open(`${server.dir}/missing/app.log`, {
      socketPath: server.socketPath,
      reconnect: true,
    }),
    Deno.errors.NotFound,
  );
});
