// WriteQueue (server/_write_queue.ts): the records queued for one file, coalesced into
// buffers that each become one write, a record never split.

import assert from "node:assert/strict";
import { MAX_WRITE_BYTES, WriteQueue } from "../server/_write_queue.ts";
import { BufferPool } from "../server/buffer_pool.ts";

const owner = () => ({ failed: false, onWritten() {}, onWriteError() {} });

Deno.test("WriteQueue coalesces units into one batch, never past MAX_WRITE_BYTES, and counts its backlog", () => {
  const queue = new WriteQueue(new BufferPool());
  const who = owner();
  const unit = new Uint8Array(1024 * 1024).fill(7);
  for (let i = 0; i < 6; i++) queue.enqueue(who, { parts: [unit], bytes: unit.length });
  assert.equal(queue.backlog, 6 * unit.length);
  const first = queue.take()!;
  assert.equal(first.data.length, MAX_WRITE_BYTES, "four whole units");
  assert.equal(first.entries.length, 4);
  queue.done(first);
  const second = queue.take()!;
  assert.equal(second.entries.length, 2);
  queue.done(second);
  assert.equal(queue.take(), null);
  assert.equal(queue.backlog, 0);
});

Deno.test("WriteQueue.take() leaves out the units of an owner that failed since they were queued", () => {
  const queue = new WriteQueue();
  const good = owner();
  const bad = { ...owner(), failed: false };
  const text = (s: string) => new TextEncoder().encode(s);
  queue.enqueue(good, { parts: [text("a\n")], bytes: 2 });
  queue.enqueue(bad, { parts: [text("bad\n")], bytes: 4 });
  queue.enqueue(good, { parts: [text("b\n")], bytes: 2 });
  bad.failed = true;
  const batch = queue.take()!;
  assert.equal(new TextDecoder().decode(batch.data), "a\nb\n");
  assert.deepEqual(batch.entries.map((entry) => entry.bytes), [2, 2]);
  queue.done(batch);
  assert.equal(queue.backlog, 0, "the failed owner's bytes leave the backlog too");
});
