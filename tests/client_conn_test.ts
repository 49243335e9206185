// ClientConn (server/_client_conn.ts): a client's socket as its session uses it: the
// reused read buffer, the outbox with merged ACKs, and replies counted in the budget
// until the client's socket takes them.

import assert from "node:assert/strict";
import { ClientConn, MIN_READ, nextReadSize } from "../server/_client_conn.ts";
import { Budget, REPLY_SHARE } from "../server/budget.ts";

/** A connected pair: the server's side wrapped, and the client's raw socket. */
async function pair(budget: Budget) {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ transport: "unix", path: `${dir}/t.sock` });
  const client = await Deno.connect({ transport: "unix", path: `${dir}/t.sock` });
  const conn = new ClientConn(await listener.accept(), budget);
  listener.close();
  return {
    conn,
    client,
    async [Symbol.asyncDispose]() {
      conn.close();
      client.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Reads from `client` until `text` has arrived. */
async function readUntil(client: Deno.UnixConn, text: string): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let got = "";
  while (!got.includes(text)) {
    const n = await client.read(buffer);
    if (n === null) break;
    got += decoder.decode(buffer.subarray(0, n));
  }
  return got;
}

/** Reads `total` bytes from `client`. */
async function readBytes(client: Deno.UnixConn, total: number): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (let got = 0; got < total;) {
    const n = await client.read(buffer);
    if (n === null) throw new Error(`closed after ${got} of ${total} bytes`);
    got += n;
  }
}

Deno.test("ClientConn.ack() merges the ACKs queued behind a write into the latest one", async () => {
  const budget = new Budget();
  await using p = await pair(budget);
  let written = 0;
  for (let i = 1; i <= 100; i++) {
    written = i;
    p.conn.ack(() => written);
  }
  await p.conn.sent();
  const got = await readUntil(p.client, "ACK 100\0");
  assert.ok(got.split("\0").filter(Boolean).length <= 2, got);
  assert.equal(budget.replies, 0, "nothing held once taken");
  assert.equal(p.conn.unread, 0);
});

Deno.test("ClientConn counts replies a client does not read in the budget, and gives them back when it reads or is closed", async () => {
  const budget = new Budget();
  await using p = await pair(budget);
  const line = "x".repeat(1000);
  for (let i = 0; i < 2000; i++) p.conn.send(`ROTATED ${line}`);
  // The socket's buffer takes some; the rest waits in the outbox, counted.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(p.conn.unread > 1_000_000, `${p.conn.unread} bytes unread`);
  assert.equal(budget.replies, p.conn.unread);
  const reading = readBytes(p.client, 2000 * `ROTATED ${line}\0`.length);
  await p.conn.sent();
  await reading;
  assert.equal(budget.replies, 0);
  // Closed with replies still queued: they leave the budget too.
  for (let i = 0; i < 2000; i++) p.conn.send(`ROTATED ${line}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(budget.replies > 0);
  p.conn.close();
  await p.conn.sent();
  assert.equal(budget.replies, 0);
});

Deno.test("ClientConn.sendLarge() refuses an answer past the budget's share for replies", async () => {
  const budget = new Budget(1024 * 1024);
  await using p = await pair(budget);
  const share = 1024 * 1024 * REPLY_SHARE;
  assert.equal(p.conn.sendLarge("S".repeat(share / 2)), true);
  assert.equal(p.conn.sendLarge("S".repeat(share / 2)), false, "the two do not fit");
  assert.ok(budget.replies <= share);
});

Deno.test("ClientConn.read() reuses its buffer; nextReadSize() grows with full reads and stays small near the budget", async () => {
  const budget = new Budget(1024 * 1024);
  await using p = await pair(budget);
  await p.client.write(new TextEncoder().encode("hello"));
  const first = await p.conn.read(MIN_READ);
  assert.equal(new TextDecoder().decode(first!), "hello");
  await p.client.write(new TextEncoder().encode("again"));
  const second = await p.conn.read(MIN_READ);
  assert.equal(second!.buffer, first!.buffer, "the same buffer");
  assert.equal(nextReadSize(MIN_READ, MIN_READ, budget), 2 * MIN_READ);
  assert.equal(nextReadSize(8 * MIN_READ, 10, budget), MIN_READ);
  budget.queue({ path: "/x" }, 600 * 1024);
  assert.equal(nextReadSize(MIN_READ, MIN_READ, budget), MIN_READ, "near the budget");
});
