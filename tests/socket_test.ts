// Unit tests of client/transports/socket.ts: the reconnect backoff and the state
// machine, under its writer, against a peer socket in the test where a server would
// misbehave on cue (the real server is in proxy_file_test.ts and tests/faults/).
import assert from "node:assert/strict";
import type { Opened } from "../client/transports/handshake.ts";
import {
  FIRST_RETRY,
  LAST_RETRY,
  nextDelay,
  type SocketOptions,
  SocketTransport,
} from "../client/transports/socket.ts";
import { Writer } from "../client/writer/writer.ts";
import { OfflogConnectionError } from "../mod.ts";
import { MessageDecoder } from "../protocol/mod.ts";

/** A writer whose transport is a SocketTransport on `opened`. */
function socketWriter(opened: Opened, options: SocketOptions): Writer<SocketTransport> {
  return new Writer({
    path: "/x.log",
    timeout: 2000,
    maxPendingBytes: Number.POSITIVE_INFINITY,
    overflow: "drop-newest",
    maxRecordBytes: 1 << 20,
    timedOut: () => new Deno.errors.TimedOut("no progress"),
  }, (events) => new SocketTransport(opened, options, events));
}

Deno.test("nextDelay: the reconnect wait doubles from 50 ms up to 5 s", () => {
  const delays = [FIRST_RETRY];
  while (delays.at(-1)! < LAST_RETRY) delays.push(nextDelay(delays.at(-1)!));
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600, 3200, 5000]);
  assert.equal(nextDelay(LAST_RETRY), LAST_RETRY);
});

/** A connected pair of Unix sockets: `client` for the Connection, `peer` for the test. */
async function socketPair(dir: string) {
  const path = `${dir}/peer.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const [client, peer] = await Promise.all([
    Deno.connect({ transport: "unix", path }),
    listener.accept(),
  ]);
  listener.close();
  return { client, peer };
}

Deno.test("SocketTransport: a lost link with reconnect retries with backoff, then connects and resends", async () => {
  const dir = await Deno.makeTempDir();
  const first = await socketPair(dir);
  const second = await socketPair(dir);
  const attempts: number[] = [];
  const started = performance.now();
  const opened = (conn: Deno.UnixConn): Opened => ({
    conn,
    socketPath: `${dir}/offlog.sock`,
    path: "/x.log",
    version: "offlog/1",
    decoder: new MessageDecoder(),
    messages: [],
  });
  const writer = socketWriter(opened(first.client), {
    socketPath: `${dir}/offlog.sock`,
    path: "/x.log",
    timeout: 2000,
    reconnect: true,
    onRotated: undefined,
    connect: () => {
      attempts.push(performance.now() - started);
      if (attempts.length < 3) {
        return Promise.reject(
          new OfflogConnectionError("no server", {
            socketPath: `${dir}/offlog.sock`,
            unsentBytes: 0,
          }),
        );
      }
      return Promise.resolve(opened(second.client));
    },
  });
  try {
    writer.write("one\n");
    const frame = new Uint8Array(8);
    await first.peer.read(frame); // 4-byte header and "one\n"; never acknowledged
    assert.equal(new TextDecoder().decode(frame.subarray(4)), "one\n");
    first.peer.close(); // the server is gone
    const flushed = writer.flush();
    // The same frame arrives again on the new connection; acknowledge it.
    const again = new Uint8Array(8);
    await second.peer.read(again);
    assert.equal(new TextDecoder().decode(again.subarray(4)), "one\n");
    assert.equal(writer.transport.state, "connected");
    await second.peer.write(new TextEncoder().encode("ACK 4\0"));
    await flushed;
    assert.equal(attempts.length, 3);
    // Waits of 50, 100 and 200 ms: attempts at about 50, 150 and 350 ms.
    assert.ok(attempts[1]! - attempts[0]! >= 90, `${attempts}`);
    assert.ok(attempts[2]! - attempts[1]! >= 190, `${attempts}`);
  } finally {
    const closing = writer.close();
    second.peer.close(); // the peer ends it; a server would say BYE first
    await closing;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SocketTransport: a lost link without reconnect fails the writer, saying how much was not confirmed", async () => {
  const dir = await Deno.makeTempDir();
  const pair = await socketPair(dir);
  const writer = socketWriter({
    conn: pair.client,
    socketPath: `${dir}/offlog.sock`,
    path: "/x.log",
    version: "offlog/1",
    decoder: new MessageDecoder(),
    messages: [],
  }, {
    socketPath: `${dir}/offlog.sock`,
    path: "/x.log",
    timeout: 2000,
    reconnect: false,
    onRotated: undefined,
  });
  try {
    writer.write("one\n");
    await pair.peer.read(new Uint8Array(8));
    pair.peer.close();
    await assert.rejects(writer.flush(), (error) => {
      assert.ok(error instanceof OfflogConnectionError);
      assert.match(error.message, /4 bytes not confirmed written/);
      return true;
    });
    assert.equal(writer.transport.state, "failed");
  } finally {
    await writer.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
