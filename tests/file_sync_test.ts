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

Deno.test("FileSync.retire() before any sync was asked for closes at once, and the next sync() syncs the renamed file by inode", async () => {
  const counters = new FileCounters();
  const asked: number[][] = [];
  const sync = new FileSync("/x.log", counters, undefined, {
    syncInodes(inodes) {
      asked.push([...inodes]);
      return Promise.resolve();
    },
  });
  sync.wrote();
  const old = fakeHandle();
  sync.retire(old.handle, 42);
  await sync.settled();
  assert.deepEqual(old.events, ["close"], "closed without a sync");
  sync.retire(fakeHandle().handle, 43); // clean: nothing to remember
  await sync.sync(() => Promise.resolve());
  assert.deepEqual(asked, [[42]]);
  await sync.sync(() => Promise.resolve());
  assert.deepEqual(asked, [[42]], "once");
  // Once a sync was asked for, rotated handles are synced as they are let go.
  sync.wrote();
  const later = fakeHandle();
  later.release();
  sync.retire(later.handle, 44);
  await sync.settled();
  assert.deepEqual(later.events, ["sync", "synced", "close"]);
});
