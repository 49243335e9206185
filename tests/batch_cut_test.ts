// Cutting a batch where a rotation falls (server/_batch_cut.ts).

import assert from "node:assert/strict";
import { cutBatch, splitAfterLine, withoutFailed } from "../server/_batch_cut.ts";

const decoder = new TextDecoder();

function batch(units: [string, { failed: boolean }][]) {
  return {
    data: new TextEncoder().encode(units.map(([text]) => text).join("")),
    entries: units.map(([text, owner]) => ({ owner, bytes: text.length })),
  };
}

Deno.test("cutBatch() cuts after whole units, the parts sharing the bytes", () => {
  const a = { failed: false };
  const whole = batch([["one\n", a], ["two\n", a], ["three\n", a]]);
  const [head, tail] = cutBatch(whole, 2);
  assert.equal(decoder.decode(head.data), "one\ntwo\n");
  assert.equal(decoder.decode(tail.data), "three\n");
  assert.equal(head.entries.length, 2);
  assert.equal(tail.entries.length, 1);
  assert.equal(tail.data.buffer, whole.data.buffer);
  const [all, none] = cutBatch(whole, 3);
  assert.equal(all.data.length, whole.data.length);
  assert.equal(none.entries.length, 0);
  assert.equal(none.data.length, 0);
});

Deno.test("withoutFailed() drops the units of failed owners and keeps the others' order", () => {
  const ok = { failed: false };
  const bad = { failed: true };
  const kept = withoutFailed(
    batch([["a1\n", ok], ["b1\n", bad], ["a2\n", ok], ["b2\n", bad]]),
  );
  assert.equal(decoder.decode(kept.data), "a1\na2\n");
  assert.deepEqual(kept.entries.map((e) => e.bytes), [3, 3]);
  const same = batch([["x\n", ok]]);
  assert.equal(withoutFailed(same), same);
});

Deno.test("splitAfterLine() cuts a unit of lines after the line that reaches the size", () => {
  const a = { failed: false };
  const whole = batch([["x\n", a], ["one\ntwo\nthree\n", a]]);
  // 2 bytes of the unit must stay: "one\n" ends the first part.
  const split = splitAfterLine(whole, 1, 2);
  assert.deepEqual(split.entries.map((e) => e.bytes), [2, 4, 10]);
  assert.equal(split.entries[1]!.owner, a);
  const [head] = cutBatch(split, 2);
  assert.equal(decoder.decode(head.data), "x\none\n");
  // The byte that reaches the size is a line's newline: that line ends the part.
  assert.deepEqual(splitAfterLine(whole, 1, 4).entries.map((e) => e.bytes), [2, 4, 10]);
  assert.deepEqual(splitAfterLine(whole, 1, 5).entries.map((e) => e.bytes), [2, 8, 6]);
  // In the last line: nothing to split.
  assert.equal(splitAfterLine(whole, 1, 9), whole);
  assert.equal(splitAfterLine(whole, 0, 1), whole);
});
