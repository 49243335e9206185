// Unit tests of client/_resend.ts: what a reconnecting ProxyFile sends again.
import assert from "node:assert/strict";
import { ResendLog } from "../client/_resend.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("ResendLog: after a reconnect, the frames not acknowledged are sent again in order, with header space", () => {
  const log = new ResendLog();
  log.keep(3, bytes("ab\n"), 1);
  log.keep(9, bytes("cd\nef\n"), 2);
  log.keep(12, bytes("gh\n"), 1);
  log.acked(3); // the first frame is in the file
  assert.equal(log.records, 0, "nothing to resend before a reconnect");
  log.restart();
  assert.equal(log.records, 3);
  assert.equal(log.size, 9);
  const first = log.next(4)!;
  assert.equal(first.end, 9);
  assert.equal(first.records, 2);
  assert.equal(first.bytes.length, 4 + 6);
  assert.equal(text(first.bytes.subarray(4)), "cd\nef\n");
  assert.equal(text(log.next(0)!.bytes), "gh\n");
  assert.equal(log.next(4), null);
});

Deno.test("ResendLog: an acknowledgement in the middle of a frame keeps that frame", () => {
  const log = new ResendLog();
  log.keep(5, bytes("abcd\n"), 1);
  log.keep(10, bytes("efgh\n"), 1);
  log.acked(7);
  log.restart();
  assert.equal(log.records, 1);
  assert.equal(log.next(0)!.end, 10);
});
