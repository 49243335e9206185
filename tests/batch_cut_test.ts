// Cutting a batch where a rotation falls (server/_batch_cut.ts).

import assert from "node:assert/strict";
import { cutBatch, withoutFailed } from "../server/_batch_cut.ts";

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
