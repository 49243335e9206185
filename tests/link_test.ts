// One connection's messages after the opening (client/transports/link.ts): alone over
// a socket pair, and through ProxyFile: errors, BYE and ROTATED from a 0.x-style server,
// and servers that break the protocol.

import assert from "node:assert/strict";
import { OfflogProtocolError, OfflogServerError, ProxyFile } from "../mod.ts";
import { Link } from "../client/transports/link.ts";
import { MessageDecoder, type ServerMessage } from "../protocol/mod.ts";
import { tempDir, waitUntil } from "./_server.ts";
import {
  fakeServer,
  mb,
  readBytes,
  readOpening,
  sendGarbage,
  zeroXServer,
} from "./_fake_server.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("ProxyFile.write() against a 0.x-style server throws 'offlog server exited' once the server says so", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/exits.log`;
  await using _server = zeroXServer(socketPath, { exitOnData: true });
  const file = await ProxyFile.open(path, { socketPath });
  assert.equal(file.protocol, "0.x");
  file.write("first\n");
  let thrown: unknown;
  await waitUntil(() => {
    try {
      file.write("more\n");
      return false;
    } catch (error) {
      thrown = error;
      return true;
    }
  }, "write() throws");
  assert.ok(thrown instanceof OfflogServerError, String(thrown));
  assert.equal(thrown.serverName, "OSError");
  assert.equal(thrown.message, "offlog server exited");
  await file.close();
  assert.ok((await Deno.readTextFile(path)).startsWith("first\n"));
});

Deno.test("ProxyFile.close() against a 0.x-style server that never says BYE rejects with TimedOut", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  await using _server = zeroXServer(socketPath, { noBye: true });
  const file = await ProxyFile.open(`${dir.path}/nobye.log`, {
    socketPath,
    timeout: 300,
  });
  file.write("sent\n");
  const started = performance.now();
  await assert.rejects(file.close(), Deno.errors.TimedOut);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 3000, `close() gave up after ${elapsed} ms`);
  assert.equal(await Deno.readTextFile(`${dir.path}/nobye.log`), "sent\n");
});

Deno.test("ProxyFile against a 0.3-style server calls onRotated for ROTATED and goes on writing", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/rotated.log`;
  await using _server = zeroXServer(socketPath, { afterOk: ["ROTATED"] });
  let rotated = 0;
  const file = await ProxyFile.open(path, { socketPath, onRotated: () => rotated++ });
  await waitUntil(() => rotated === 1, "onRotated is called");
  file.write("after rotation\n");
  await file.close();
  assert.equal(await Deno.readTextFile(path), "after rotation\n");
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
    await waitUntil(() => !file.connected, "the client to drop the connection");
    await waitUntil(() => sent > 0, "the fake server to stop sending");
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

Deno.test("Link reports each message; an ACK past what it sent ends it with OfflogProtocolError", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pair.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const [conn, peer] = await Promise.all([
    Deno.connect({ transport: "unix", path }),
    listener.accept(),
  ]);
  listener.close();
  const messages: ServerMessage[] = [];
  let ended: unknown = "not yet";
  const link = new Link(
    {
      conn,
      socketPath: path,
      path: "/x.log",
      version: "offlog/1",
      decoder: new MessageDecoder(),
      messages: [],
    },
    100,
    {
      onMessage: (_link, message) => messages.push(message),
      onEnd: (_link, cause) => ended = cause,
    },
  );
  link.hold(); // its reads do not keep the process alive by themselves
  await link.send(new Uint8Array([0, 0, 0, 3, 0x61, 0x62, 0x0a]), 3);
  const frame = new Uint8Array(7);
  await peer.read(frame);
  await peer.write(encoder.encode("ACK 3\0ROTATED\0ACK 4\0"));
  await link.done;
  link.release();
  peer.close();
  assert.equal(link.base, 100);
  assert.deepEqual(messages, [{ type: "ack", bytes: 3 }, { type: "rotated" }]);
  assert.ok(ended instanceof OfflogProtocolError, String(ended));
  assert.match(ended.message, /"ACK 4" acknowledges more than the 3 bytes sent/);
  link.close();
});
