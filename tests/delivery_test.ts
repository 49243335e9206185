// Unit tests of client/_delivery.ts: the counters behind flush(), without a server.
import assert from "node:assert/strict";
import { Delivery } from "../client/_delivery.ts";

function delivery(timeout = 1000) {
  const calls: string[] = [];
  const d = new Delivery(timeout, {
    hold: () => calls.push("hold"),
    release: () => calls.push("release"),
    timedOut: () => new Deno.errors.TimedOut("no progress"),
  });
  return { d, calls };
}

/** Whether `promise` has settled after the microtasks queued so far. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

Deno.test("Delivery: flush() waits for the acknowledgement of what was written before it, not after", async () => {
  const { d, calls } = delivery();
  d.recordWritten();
  d.recordWritten();
  const end = d.recordTaken(2, 100);
  assert.equal(end, 100);
  const first = d.wait();
  d.recordWritten(); // after the flush() call: not waited for
  d.recordHanded(100);
  assert.equal(await settled(first), false, "handed is not enough with acknowledgements");
  assert.equal(d.recordAcked(60), true);
  assert.equal(await settled(first), false);
  assert.equal(d.recordAcked(60), false, "an old ACK is not news");
  d.recordAcked(100);
  await first;
  assert.deepEqual(calls, ["hold", "release"]);
});

Deno.test("Delivery: without acknowledgements (0.x, a local file) handed over is done", async () => {
  const { d } = delivery();
  d.useAcknowledgements(false);
  d.recordWritten();
  const waiting = d.wait();
  assert.equal(await settled(waiting), false, "not yet taken");
  const end = d.recordTaken(1, 10);
  assert.equal(await settled(waiting), false, "taken, not handed");
  d.recordHanded(end);
  await waiting;
});

Deno.test("Delivery: dropped records count as done; nothing written resolves at once", async () => {
  const { d } = delivery();
  await d.wait();
  d.recordWritten();
  const waiting = d.wait();
  d.recordDropped(1);
  await waiting;
});

Deno.test("Delivery: fail() rejects every waiting flush()", async () => {
  const { d, calls } = delivery();
  d.recordWritten();
  const a = d.wait();
  const b = d.wait();
  const error = new Error("gone");
  d.fail(error);
  await assert.rejects(a, (e) => e === error);
  await assert.rejects(b, (e) => e === error);
  assert.deepEqual(calls, ["hold", "release"]);
});

Deno.test("Delivery: a flush() with no progress for the timeout rejects; progress restarts the clock", async () => {
  const { d } = delivery(150);
  d.recordWritten();
  d.recordWritten();
  const end = d.recordTaken(2, 20);
  const waiting = d.wait();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  d.recordAcked(10); // progress: the 150 ms start again
  await assert.rejects(waiting, Deno.errors.TimedOut);
  const waited = performance.now() - started;
  assert.ok(waited >= 240, `timed out after ${waited} ms, before 100 + 150`);
  assert.ok(end === 20);
});
