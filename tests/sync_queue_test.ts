// SyncQueue (server/_sync_queue.ts): a client's durable-flush requests, answered in
// order, merged while they wait, one fdatasync at a time.

import assert from "node:assert/strict";
import { SyncQueue } from "../server/_sync_queue.ts";

/** A host whose written bytes and syncs the test drives. */
function host() {
  const state = {
    written: 0,
    failed: false,
    syncs: 0,
    synced: [] as number[],
    errors: [] as unknown[],
    syncError: null as Error | null,
  };
  const queue = new SyncQueue({
    written: () => state.written,
    failed: () => state.failed,
    file: () => ({
      sync: () => {
        state.syncs++;
        return state.syncError === null
          ? Promise.resolve()
          : Promise.reject(state.syncError);
      },
    }),
    synced: (position) => state.synced.push(position),
    syncFailed: (error) => {
      state.errors.push(error);
      state.failed = true;
    },
  });
  return { state, queue };
}

Deno.test("SyncQueue.request() waits until the client's bytes before it are written, then syncs and answers", async () => {
  const { state, queue } = host();
  queue.request(10);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(state.syncs, 0, "its 10 bytes are not written yet");
  state.written = 10;
  queue.wake();
  await queue.idle;
  assert.equal(state.syncs, 1);
  assert.deepEqual(state.synced, [10]);
});

Deno.test("SyncQueue merges requests that arrive while one waits: one sync answers the latest", async () => {
  const { state, queue } = host();
  for (let position = 1; position <= 1000; position++) queue.request(position);
  state.written = 1000;
  queue.wake();
  await queue.idle;
  assert.ok(state.syncs <= 2, `${state.syncs} syncs for 1,000 requests`);
  assert.equal(state.synced.at(-1), 1000);
});

Deno.test("SyncQueue tells the host of a failed sync and answers nothing more", async () => {
  const { state, queue } = host();
  state.syncError = new Error("EIO");
  queue.request(0);
  await queue.idle;
  assert.deepEqual(state.errors, [state.syncError]);
  queue.request(0);
  await queue.idle;
  assert.deepEqual(state.synced, []);
});
