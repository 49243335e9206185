// Unit tests of client/transports/resend.ts: what a reconnecting socket transport
// sends again.
import assert from "node:assert/strict";
import { ResendLog } from "../client/transports/resend.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("ResendLog: the frames not acknowledged are sent again in order", () => {
  const log = new ResendLog();
  log.keep(3, bytes("ab\n"));
  log.keep(9, bytes("cd\nef\n"));
  log.keep(12, bytes("gh\n"));
  log.acked(3); // the first frame is in the file
  assert.equal(log.size, 9);
  assert.deepEqual(log.frames.map((frame) => frame.end), [9, 12]);
  assert.deepEqual(log.frames.map((frame) => text(frame.payload)), ["cd\nef\n", "gh\n"]);
  log.acked(12);
  assert.equal(log.size, 0);
  assert.deepEqual(log.frames, []);
});

Deno.test("ResendLog: an acknowledgement in the middle of a frame keeps that frame", () => {
  const log = new ResendLog();
  log.keep(5, bytes("abcd\n"));
  log.keep(10, bytes("efgh\n"));
  log.acked(7);
  assert.deepEqual(log.frames.map((frame) => frame.end), [10]);
  assert.equal(log.size, 5);
});
