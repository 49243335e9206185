// Opening a connection (client/transports/handshake.ts), alone and through
// ProxyFile.open(): offlog/2 first, the fallback to offlog/1 against an offlog/1 server
// and to 0.x against a 0.x-style server, and servers that break the opening.

import assert from "node:assert/strict";
import { MessageTooLongError } from "../protocol/mod.ts";
import { OfflogProtocolError, OfflogServerError, ProxyFile } from "../mod.ts";
import { handshake } from "../client/transports/handshake.ts";
import { startServer, tempDir, waitUntil } from "./_server.ts";
import {
  fakeServer,
  mb,
  readBytes,
  readOpening,
  sendGarbage,
  v1Server,
  zeroXServer,
} from "./_fake_server.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

Deno.test("ProxyFile falls back to 0.x against a 0.x-style server: data arrives and close() waits for BYE", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/fallback.log`;
  await using server = zeroXServer(socketPath, { byeDelayMs: 300 });
  const file = await ProxyFile.open(path, { socketPath });
  assert.equal(file.protocol, "0.x");
  assert.deepEqual(
    server.openings,
    ["offlog/2", "offlog/1", path],
    "tried offlog/2 and offlog/1, then fell back",
  );
  file.write("text, ");
  file.write(encoder.encode("bytes\n"));
  for (let i = 0; i < 1000; i++) file.write(`line ${i}\n`);
  await file.flush();
  const started = performance.now();
  await file.close();
  const closed = performance.now();
  assert.equal(server.byes.length, 1, "the server said BYE");
  assert.ok(closed >= server.byes[0]!, "close() resolved after BYE");
  assert.ok(
    closed - started >= 250,
    `close() did not wait for BYE (${closed - started} ms)`,
  );
  const expected = "text, bytes\n" +
    Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
  assert.equal(
    await Deno.readTextFile(path),
    expected,
    "raw 0.x bytes: no frame headers",
  );
  assert.throws(() => file.write("late\n"), Deno.errors.BadResource);
});

Deno.test("ProxyFile.open() against a 0.x-style server rejects its refusal as the Deno error that fits", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/refused.log`;
  const message = `[Errno 13] Permission denied: '${path}'`;
  {
    await using server = zeroXServer(socketPath, {
      refuse: `PermissionError: ${message}`,
    });
    await assert.rejects(ProxyFile.open(path, { socketPath }), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.PermissionDenied, String(error));
      assert.equal(error.message, message);
      assert.ok(error.cause instanceof OfflogServerError);
      assert.equal(error.cause.serverName, "PermissionError");
      return true;
    });
    assert.deepEqual(server.openings, ["offlog/2", "offlog/1", path]);
  }
  {
    // A name with no Deno class: the server's error itself.
    await using _server = zeroXServer(socketPath, { refuse: "SomeCustomError: nope" });
    await assert.rejects(ProxyFile.open(path, { socketPath }), (error: unknown) => {
      assert.ok(error instanceof OfflogServerError, String(error));
      assert.equal(error.serverName, "SomeCustomError");
      assert.equal(error.message, "nope");
      return true;
    });
  }
});

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
  await waitUntil(() => sent > 0, "the fake server to stop sending");
  assert.ok(sent < 100 * MiB, `the client read on: ${mb(sent)} sent`);
  console.log(`open(): rss grew by ${mb(grown)}; the fake server got ${mb(sent)} out`);
});

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
    await waitUntil(() => !file.connected, "the client to drop the connection");
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

Deno.test("handshake() opens the file with the real server in offlog/1 and hands over the connection", async () => {
  await using server = await startServer();
  const opened = await handshake(server.socketPath, `${server.dir}/h.log`, 2000);
  try {
    assert.equal(opened.version, "offlog/2");
    assert.equal(opened.path, `${server.dir}/h.log`);
    assert.deepEqual(opened.messages, []);
  } finally {
    opened.conn.close();
  }
  await assert.rejects(
    handshake(server.socketPath, `${server.dir}/no/such/dir/h.log`, 2000),
    Deno.errors.NotFound,
  );
});

Deno.test("ProxyFile falls back to offlog/1 against an offlog/1 server: frames without record ends, acknowledged, nothing refused", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/v1.sock`;
  const path = `${dir.path}/v1.log`;
  await using server = v1Server(socketPath);
  const file = await ProxyFile.open(path, { socketPath });
  assert.equal(file.protocol, "offlog/1");
  assert.deepEqual(server.openings, ["offlog/2", "offlog/1", path]);
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`);
  for (const line of lines) file.write(line); // one turn: frames of many records
  await file.flush({ durable: false });
  await file.close();
  assert.deepEqual(server.refusals, []);
  assert.ok(server.frames < lines.length / 10, `${server.frames} frames`);
  assert.equal(await Deno.readTextFile(path), lines.join(""));
});
