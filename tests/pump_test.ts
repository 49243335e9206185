// Unit tests of client/_pump.ts against an outlet in memory: the queue, the one write
// in flight, the bound, failures and the close order, without a server or a file.
import assert from "node:assert/strict";
import { type OutBatch, type Outlet, Pump, type PumpOptions } from "../client/_pump.ts";
import { QueueFullError } from "../mod.ts";

const decoder = new TextDecoder();

/** An outlet that keeps what it is sent; each send waits for `release()`. */
class MemoryOutlet implements Outlet {
  sent: string[] = [];
  events: string[] = [];
  inFlight = 0;
  most = 0;
  gate: PromiseWithResolvers<void> | null = null;
  failNext: Error | null = null;
  begin(): void {}
  headerBytes(): number | null {
    return 0;
  }
  resend(): OutBatch | null {
    return null;
  }
  taken(): void {}
  async send(batch: OutBatch): Promise<void> {
    this.inFlight++;
    this.most = Math.max(this.most, this.inFlight);
    try {
      if (this.gate !== null) await this.gate.promise;
      if (this.failNext !== null) throw this.failNext;
      this.sent.push(decoder.decode(batch.bytes));
    } finally {
      this.inFlight--;
    }
  }
  keepsFailed(): boolean {
    return false;
  }
  controls: Uint8Array[] = [];
  sendControl(bytes: Uint8Array): Promise<void> {
    this.controls.push(bytes);
    return Promise.resolve();
  }
  sendFailed(cause: unknown): Promise<void> {
    this.events.push(`failed: ${(cause as Error).message}`);
    return Promise.resolve();
  }
  stopped(): Promise<void> {
    this.events.push("stopped");
    return Promise.resolve();
  }
  hold(): void {}
  release(): void {}
}

function pump(outlet: Outlet, options: Partial<PumpOptions> = {}): Pump {
  const p = new Pump({
    path: "/memory",
    timeout: 1000,
    batchUnits: 1024,
    maxPendingBytes: Number.POSITIVE_INFINITY,
    overflow: "drop-newest",
    timedOut: () => new Deno.errors.TimedOut("no progress"),
    ...options,
  }, outlet);
  p.delivery.useAcknowledgements(false);
  return p;
}

Deno.test("Pump: writes of one turn go out together, one send in flight, flush() resolves once they are handed over", async () => {
  const outlet = new MemoryOutlet();
  const p = pump(outlet);
  outlet.gate = Promise.withResolvers();
  p.write("a\n");
  p.write(new TextEncoder().encode("b\n"));
  const flushed = p.flush();
  await new Promise((r) => setTimeout(r, 0));
  p.write("c\n"); // while the first batch is in flight
  assert.equal(p.pendingRecords, 3);
  outlet.gate.resolve();
  outlet.gate = null;
  await flushed;
  await p.flush();
  assert.deepEqual(outlet.sent, ["a\nb\n", "c\n"]);
  assert.equal(outlet.most, 1);
  assert.equal(p.pendingRecords, 0);
});

Deno.test("Pump: batches are at most batchUnits; a larger record goes alone", async () => {
  const outlet = new MemoryOutlet();
  const p = pump(outlet, { batchUnits: 4 });
  for (const line of ["1\n", "2\n", "3\n", "long line\n"]) p.write(line);
  await p.flush();
  assert.deepEqual(outlet.sent, ["1\n2\n", "3\n", "long line\n"]);
});

Deno.test("Pump: the queue bound drops the newest, drops the oldest, or throws, and reports each drop", async () => {
  for (const overflow of ["drop-newest", "drop-oldest", "error"] as const) {
    const outlet = new MemoryOutlet();
    const drops: number[][] = [];
    const p = pump(outlet, {
      maxPendingBytes: 4,
      overflow,
      onDrop: (records, size) => drops.push([records, size]),
    });
    p.write("ab\n");
    if (overflow === "error") {
      assert.throws(() => p.write("cd\n"), QueueFullError);
    } else {
      p.write("cd\n");
    }
    await p.flush();
    if (overflow === "drop-newest") {
      assert.deepEqual(outlet.sent, ["ab\n"]);
      assert.deepEqual(drops, [[1, 3]]);
    } else if (overflow === "drop-oldest") {
      assert.deepEqual(outlet.sent, ["cd\n"]);
      assert.deepEqual(drops, [[1, 3]]);
    } else {
      assert.deepEqual(drops, []);
    }
  }
});

Deno.test("Pump: a failed send goes to the outlet; fail() makes flush() and write() throw it, close() only if not thrown yet", async () => {
  const outlet = new MemoryOutlet();
  const p = pump(outlet);
  outlet.failNext = new Error("socket gone");
  p.write("a\n");
  await p.idle;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(outlet.events, ["failed: socket gone", "stopped"]);
  assert.equal(p.pendingRecords, 1, "the batch that failed is still pending");
  const error = new Error("lost");
  p.fail(error);
  await assert.rejects(p.flush(), (e) => e === error);
  assert.throws(() => p.write("b\n"), (e) => e === error);
  // Already thrown to the caller: close() does not throw it again.
  await p.close(() => Promise.resolve(), () => Promise.resolve());
});

Deno.test("Pump: close() waits for what was written, then finishes, then releases; later writes are refused", async () => {
  const outlet = new MemoryOutlet();
  const p = pump(outlet);
  const order: string[] = [];
  p.write("last\n");
  await p.close(
    () => {
      order.push(`finish after ${outlet.sent.length} sent`);
      return Promise.resolve();
    },
    () => {
      order.push("release");
      return Promise.resolve();
    },
  );
  assert.deepEqual(order, ["finish after 1 sent", "release"]);
  assert.throws(() => p.write("late\n"), Deno.errors.BadResource);
});

Deno.test("Pump: write() refuses what is not a string or bytes, and a record over maxRecordBytes", () => {
  const p = pump(new MemoryOutlet(), { maxRecordBytes: 8 });
  assert.throws(() => p.write(5 as unknown as string), TypeError);
  assert.throws(() => p.write("123456789"), RangeError);
  assert.throws(() => p.write(new Uint8Array(9)), RangeError);
  p.write("12345678");
});
