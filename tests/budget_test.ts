// Budget (server/budget.ts): one bound on every byte the server holds for its clients,
// and the one place that decides whether a client is read.

import assert from "node:assert/strict";
import {
  Budget,
  CLIENT_REPLY_BYTES,
  FILE_SHARE,
  PAUSE_SHARE,
  REPLY_SHARE,
  RESUME_SHARE,
  UNFINISHED_SHARE,
  UnfinishedHold,
} from "../server/budget.ts";

const LIMIT = 12 * 64 * 1024; // a twelfth is whole

/** Whether `promise` settled within a turn of the event loop. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("Budget.holdUnfinished() refuses past the unfinished share, and UnfinishedHold follows a reader", () => {
  const budget = new Budget(LIMIT);
  const share = LIMIT * UNFINISHED_SHARE;
  const a = new UnfinishedHold(budget);
  const b = new UnfinishedHold(budget);
  assert.equal(a.set(share - 10), true);
  assert.equal(b.set(11), false, "past the share: refuse that client");
  assert.equal(b.set(10), true);
  assert.equal(budget.unfinished, share);
  a.set(0);
  b.set(0);
  assert.equal(budget.unfinished, 0);
});

Deno.test("Budget.room() pauses every client past the pause share and resumes below the resume share, saying so", async () => {
  const said: string[] = [];
  const budget = new Budget(LIMIT, (m) => said.push(m));
  const [a, b, c] = ["/a.log", "/b.log", "/c.log"].map((path) => ({ path }));
  // Three files, each under the file share, together at the pause share.
  budget.queue(a!, LIMIT / 6);
  budget.queue(b!, LIMIT / 6);
  assert.equal(budget.room(a!, { unread: 0 }), null);
  budget.queue(c!, LIMIT / 6);
  assert.equal(budget.queued, LIMIT * PAUSE_SHARE);
  const waiting = budget.room(a!, { unread: 0 });
  assert.notEqual(waiting, null, "paused at the share");
  assert.match(said.at(-1)!, /^Not reading any client: .*--max-buffered-bytes 786432/);
  budget.written(c!, LIMIT / 6);
  assert.equal(await settled(waiting!), false, "still above the resume share");
  budget.written(b!, LIMIT / 12);
  assert.equal(budget.queued, LIMIT * RESUME_SHARE);
  assert.equal(await settled(waiting!), false, "at the resume share, not below it");
  budget.written(b!, 1);
  assert.equal(await settled(waiting!), true, "below the resume share");
  assert.match(said.at(-1)!, /^Reading clients again/);
});

Deno.test("Budget.room() pauses only the clients of a file past the file share, until it is below half of it", async () => {
  const said: string[] = [];
  const budget = new Budget(LIMIT, (m) => said.push(m));
  const slow = { path: "/slow.log" };
  const other = { path: "/other.log" };
  budget.queue(slow, LIMIT * FILE_SHARE);
  const waiting = budget.room(slow, { unread: 0 });
  assert.notEqual(waiting, null);
  assert.equal(budget.room(other, { unread: 0 }), null, "another file's clients read on");
  assert.equal(budget.room(null, { unread: 0 }), null, "so do openings");
  assert.match(said.at(-1)!, /^Not reading the clients of \/slow\.log: /);
  budget.written(slow, LIMIT * FILE_SHARE / 2 - 1);
  assert.equal(await settled(waiting!), false, "not yet below half of the file share");
  budget.written(slow, 2);
  assert.equal(await settled(waiting!), true);
});

Deno.test("Budget counts replies: a client with unread replies past its bound is not read until it reads half of them", async () => {
  const budget = new Budget(LIMIT);
  let unread = CLIENT_REPLY_BYTES;
  const client = {
    get unread() {
      return unread;
    },
  };
  budget.holdReply(unread);
  assert.equal(budget.room(null, client), null, "at the bound: read on");
  budget.holdReply(1);
  unread += 1;
  const waiting = budget.room(null, client);
  assert.notEqual(waiting, null);
  unread -= CLIENT_REPLY_BYTES / 4;
  budget.releaseReply(CLIENT_REPLY_BYTES / 4);
  assert.equal(await settled(waiting!), false);
  unread -= CLIENT_REPLY_BYTES / 4 + 1;
  budget.releaseReply(CLIENT_REPLY_BYTES / 4 + 1);
  assert.equal(await settled(waiting!), true);
  assert.equal(budget.replies, unread);
});

Deno.test("Budget.holdReply() refuses a large reply past the reply share; small ones always count", () => {
  const budget = new Budget(LIMIT);
  const share = LIMIT * REPLY_SHARE;
  assert.equal(budget.holdReply(share - 100, true), true);
  assert.equal(budget.holdReply(101, true), false, "a stats answer that does not fit");
  assert.equal(budget.holdReply(101), true, "an ACK is never refused");
  assert.equal(budget.replies, share + 1);
  assert.equal(budget.smallReads, false);
  budget.queue({ path: "/x" }, LIMIT / 2);
  assert.equal(budget.smallReads, true, "past half of the limit held, reads stay small");
});
