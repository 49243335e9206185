// FileSync (server/_file_sync.ts): the syncs of one file, and of the handles its
// rotations let go.

import assert from "node:assert/strict";
import { FileSync } from "../server/_file_sync.ts";
import { FileCounters } from "../server/file_counters.ts";

/** A handle whose syncData() waits until released, and records what happened. */
function fakeHandle(fail = false) {
  const events: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const handle = {
    async syncData() {
      events.push("sync");
      await released;
      events.push("synced");
      if (fail) throw new Error("EIO");
    },
    close() {
      events.push("close");
    },
  } as unknown as Deno.FsFile;
  return { handle, events, release };
}

Deno.test("FileSync.retire() syncs a dirty old handle in the background, then closes it; a later sync() waits for it", async () => {
  const counters = new FileCounters();
  const sync = new FileSync("/x.log", counters);
  sync.wrote();
  const old = fakeHandle();
  sync.retire(old.handle);
  assert.equal(sync.dirty, false);
  let done = false;
  const current: string[] = [];
  const flushing = sync.sync(() => {
    current.push("sync current");
    return Promise.resolve();
  }).then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(done, false, "the durable flush waits for the renamed file's sync");
  assert.deepEqual(current, []);
  old.release();
  await flushing;
  assert.deepEqual(old.events, ["sync", "synced", "close"]);
  assert.deepEqual(current, ["sync current"]);
  assert.equal(counters.syncs, 2);
  await sync.settled();
});

Deno.test("FileSync.retire() closes a clean old handle without a sync; a failed sync is reported by the next sync()", async () => {
  const counters = new FileCounters();
  const lines: string[] = [];
  const sync = new FileSync("/x.log", counters, (message) => lines.push(message));
  const clean = fakeHandle();
  sync.retire(clean.handle);
  await sync.settled();
  assert.deepEqual(clean.events, ["close"]);
  sync.wrote();
  const failing = fakeHandle(true);
  failing.release();
  sync.retire(failing.handle);
  await sync.settled();
  assert.deepEqual(failing.events, ["sync", "synced", "close"]);
  assert.match(lines[0]!, /^Could not sync the rotated \/x\.log: Error: EIO/);
  await assert.rejects(sync.sync(() => Promise.resolve()), /EIO/);
  await sync.sync(() => Promise.resolve());
  assert.equal(counters.writeErrors, 1);
});
