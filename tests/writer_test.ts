// Unit tests of client/writer/writer.ts against a transport in memory: the queue, the
// one send in flight, the accounting behind flush(), the bound, the deadline, failures
// and the close order, with no server process and no file.
import assert from "node:assert/strict";
import { HEADER_ROOM, type Taken } from "../client/writer/queue.ts";
import type { Transport, TransportEvents } from "../client/writer/transport.ts";
import {
  type OverflowPolicy,
  Writer,
  type WriterOptions,
} from "../client/writer/writer.ts";
import { QueueFullError } from "../mod.ts";

const decoder = new TextDecoder();

/**
 * A transport that keeps what it is sent. Each send waits for `gate` when there is one;
 * confirmations are given by the test (`confirm()`), or at once with `autoConfirm`.
 */
class MemoryTransport implements Transport {
  readonly batchBytes: number;
  sent: string[] = [];
  calls: string[] = [];
  inFlight = 0;
  most = 0;
  gate: PromiseWithResolvers<void> | null = null;
  failNext: Error | null = null;
  autoConfirm = true;
  readonly events: TransportEvents;

  constructor(events: TransportEvents, batchBytes = 1024) {
    this.events = events;
    this.batchBytes = batchBytes;
  }

  async send({ bytes: batch }: Taken): Promise<void> {
    this.inFlight++;
    this.most = Math.max(this.most, this.inFlight);
    try {
      if (this.gate !== null) await this.gate.promise;
      if (this.failNext !== null) throw this.failNext;
      this.sent.push(decoder.decode(batch.subarray(HEADER_ROOM)));
      if (this.autoConfirm) this.events.confirmed(batch.length - HEADER_ROOM);
    } finally {
      this.inFlight--;
    }
  }

  sync(): Promise<void> {
    this.calls.push("sync");
    return Promise.resolve();
  }

  close(clean: boolean): Promise<void> {
    this.calls.push(`close(${clean})`);
    return Promise.resolve();
  }
}

function writer(
  options: Partial<WriterOptions> & { batchBytes?: number } = {},
): Writer<MemoryTransport> {
  return new Writer({
    path: "/memory",
    timeout: 1000,
    maxPendingBytes: Number.POSITIVE_INFINITY,
    overflow: "drop-newest",
    maxRecordBytes: 1 << 20,
    timedOut: (pending) => new Deno.errors.TimedOut(`no progress, ${pending} pending`),
    ...options,
  }, (events) => new MemoryTransport(events, options.batchBytes));
}

/** Whether `promise` has settled after the pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("Writer.write() of one turn goes out in one batch, with one send in flight", async () => {
  const w = writer();
  const t = w.transport;
  t.gate = Promise.withResolvers();
  w.write("a\n");
  w.write(new TextEncoder().encode("b\n"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  w.write("c\n"); // while the first batch is in flight
  assert.equal(w.pendingRecords, 3);
  t.gate.resolve();
  t.gate = null;
  await w.flush();
  assert.deepEqual(t.sent, ["a\nb\n", "c\n"]);
  assert.equal(t.most, 1);
  assert.equal(w.pendingRecords, 0);
  await w.close();
});

Deno.test("Writer.flush() resolves once what was written before it is confirmed, not what came after", async () => {
  const w = writer({ batchBytes: 4 });
  const t = w.transport;
  t.autoConfirm = false;
  w.write("1234");
  w.write("5678");
  const first = w.flush();
  w.write("after");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(await settled(first), false, "sent, not confirmed");
  t.events.confirmed(4);
  assert.equal(await settled(first), false, "half confirmed");
  t.events.confirmed(4);
  await first; // "after" is still unconfirmed
  assert.deepEqual(w.delivery, { sent: 13, confirmed: 8 });
  const second = w.flush();
  assert.equal(await settled(second), false);
  t.events.confirmed(5);
  await second;
  t.autoConfirm = true;
  await w.close();
  assert.deepEqual(t.calls, ["close(true)"]);
});

Deno.test("Writer.flush() with nothing written resolves at once; flush(true) then syncs", async () => {
  const w = writer();
  await w.flush();
  w.write("x\n");
  await w.flush(true);
  assert.deepEqual(w.transport.calls, ["sync"]);
  await w.close();
});

Deno.test("Writer: a batch holds about batchBytes; a larger record goes alone", async () => {
  const w = writer({ batchBytes: 8 });
  w.write("aaaa");
  w.write("bbbb");
  w.write("cccc");
  w.write("d".repeat(20));
  w.write("e");
  await w.flush();
  assert.deepEqual(w.transport.sent, ["aaaabbbb", "cccc", "d".repeat(20), "e"]);
  await w.close();
});

for (const overflow of ["drop-newest", "drop-oldest", "error"] as OverflowPolicy[]) {
  Deno.test(`Writer.write() past maxPendingBytes with overflow "${overflow}"`, async () => {
    const drops: number[] = [];
    const w = writer({
      maxPendingBytes: 6,
      overflow,
      onDrop: (records, size) => drops.push(records, size),
    });
    w.write("aaa");
    w.write("bbb");
    if (overflow === "error") {
      assert.throws(() => w.write("cc"), (error: unknown) => {
        assert.ok(error instanceof QueueFullError);
        assert.equal(error.pendingSize, 6);
        assert.equal(error.maxPendingBytes, 6);
        return true;
      });
    } else {
      w.write("cc");
      assert.deepEqual(drops, overflow === "drop-newest" ? [1, 2] : [1, 3]);
      assert.equal(w.droppedRecords, 1);
    }
    await w.flush();
    const expected = { "drop-newest": "aaabbb", "drop-oldest": "bbbcc", error: "aaabbb" };
    assert.deepEqual(w.transport.sent, [expected[overflow]]);
    await w.close();
  });
}

Deno.test("Writer.flush() waiting on records that drop-oldest drops resolves with what is left", async () => {
  const w = writer({ maxPendingBytes: 4, overflow: "drop-oldest" });
  const t = w.transport;
  t.gate = Promise.withResolvers();
  w.write("1");
  await new Promise((resolve) => setTimeout(resolve, 0)); // "1" in flight
  w.write("aa");
  w.write("bb");
  const flushed = w.flush();
  w.write("cc"); // drops "aa"
  w.write("dd"); // drops "bb"
  t.gate.resolve();
  t.gate = null;
  await flushed;
  await w.flush();
  assert.deepEqual(t.sent, ["1", "ccdd"]);
  assert.equal(w.droppedRecords, 2);
  await w.close();
});

Deno.test("Writer: a lost transport rejects waiting flushes, and write() throws its error once", async () => {
  const w = writer();
  const t = w.transport;
  t.autoConfirm = false;
  w.write("x\n");
  const a = w.flush();
  const b = w.flush();
  const error = new Error("gone");
  t.events.lost(error);
  await assert.rejects(a, (e) => e === error);
  await assert.rejects(b, (e) => e === error);
  assert.throws(() => w.write("y\n"), (e) => e === error);
  await w.close(); // already thrown: not again
  assert.deepEqual(t.calls, ["close(false)"]);
});

Deno.test("Writer: a send that rejects ends the writer; close() throws the error not yet thrown", async () => {
  const w = writer();
  w.transport.failNext = new Error("EIO");
  w.write("x\n");
  await new Promise((resolve) => setTimeout(resolve, 0));
  await assert.rejects(w.close(), /EIO/);
  await assert.rejects(w.close(), /EIO/); // the same close, settled once
});

Deno.test("Writer.flush() with no progress for the timeout rejects; progress restarts the clock", async () => {
  const w = writer({ timeout: 150 });
  const t = w.transport;
  t.autoConfirm = false;
  w.write("0123456789");
  w.write("0123456789");
  const waiting = w.flush();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.events.confirmed(10); // progress: the 150 ms start again
  await assert.rejects(waiting, /no progress, 10 pending/);
  const waited = performance.now() - started;
  assert.ok(waited >= 240, `timed out after ${waited} ms, before 100 + 150`);
  t.events.confirmed(10);
  await w.close(); // the writer itself carries on
});

Deno.test("Writer.close() waits for every confirmation, closes the transport cleanly, then refuses writes", async () => {
  const w = writer();
  const t = w.transport;
  t.autoConfirm = false;
  w.write("x\n");
  const closing = w.close();
  assert.throws(() => w.write("y\n"), Deno.errors.BadResource);
  assert.equal(await settled(closing), false);
  assert.deepEqual(t.calls, []);
  t.events.confirmed(2);
  await closing;
  assert.deepEqual(t.calls, ["close(true)"]);
});

Deno.test("Writer.write() refuses a record over maxRecordBytes and what is not a string or bytes", () => {
  const w = writer({ maxRecordBytes: 10 });
  w.write("0123456789");
  assert.throws(
    () => w.write("é".repeat(6)),
    /a record of 12 bytes is larger than the maximum of 10/,
  );
  assert.throws(() => w.write(new Uint8Array(11)), RangeError);
  assert.throws(() => w.write(42 as unknown as string), TypeError);
  return w.close();
});
