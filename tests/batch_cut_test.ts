// Cutting a batch where a rotation falls (server/_batch_cut.ts).

import assert from "node:assert/strict";
import { cutBatch, splitAfterRecord, withoutFailed } from "../server/_batch_cut.ts";
import { encodeRecordEnds } from "../protocol/mod.ts";

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

Deno.test("splitAfterRecord() cuts a 0.x unit of lines after the line that reaches the size", () => {
  const a = { failed: false, lines: true };
  const whole = batch([["x\n", a], ["one\ntwo\nthree\n", a]]);
  // 2 bytes of the unit must stay: "one\n" ends the first part.
  const split = splitAfterRecord(whole, 1, 2);
  assert.deepEqual(split.entries.map((e) => e.bytes), [2, 4, 10]);
  assert.equal(split.entries[1]!.owner, a);
  const [head] = cutBatch(split, 2);
  assert.equal(decoder.decode(head.data), "x\none\n");
  // The byte that reaches the size is a line's newline: that line ends the part.
  assert.deepEqual(splitAfterRecord(whole, 1, 4).entries.map((e) => e.bytes), [2, 4, 10]);
  assert.deepEqual(splitAfterRecord(whole, 1, 5).entries.map((e) => e.bytes), [2, 8, 6]);
  // In the last line: nothing to split.
  assert.equal(splitAfterRecord(whole, 1, 9), whole);
  assert.equal(splitAfterRecord(whole, 0, 1), whole);
});

Deno.test("splitAfterRecord() cuts an offlog/2 unit by its record ends, never inside a record", () => {
  const owner = { failed: false };
  // Records "ab", "cde\nfg" (a newline inside: not a cut point) and "h".
  const text = "x\nabcde\nfgh";
  const ends = encodeRecordEnds([2, 8], 0, 3)!.subarray(4);
  const whole = {
    data: new TextEncoder().encode(text),
    entries: [{ owner, bytes: 2 }, { owner, bytes: 9, ends, extra: ends.length }],
  };
  const split = splitAfterRecord(whole, 1, 3);
  assert.deepEqual(split.entries.map((e) => e.bytes), [2, 8, 1]);
  // The record ends held stay counted with the first part.
  assert.deepEqual(split.entries.map((e) => e.extra), [undefined, 2, 0]);
  assert.deepEqual([...split.entries[1]!.ends!], [2]);
  assert.deepEqual([...split.entries[2]!.ends!], []);
  const [head, tail] = cutBatch(split, 2);
  assert.equal(decoder.decode(head.data), "x\nabcde\nfg");
  assert.equal(decoder.decode(tail.data), "h");
  assert.deepEqual(splitAfterRecord(whole, 1, 1).entries.map((e) => e.bytes), [2, 2, 7]);
  // In the last record: nothing to split.
  assert.equal(splitAfterRecord(whole, 1, 9), whole);
  // A unit without record ends and not of lines is one record.
  const plain = { ...whole, entries: [whole.entries[0]!, { owner, bytes: 9 }] };
  assert.equal(splitAfterRecord(plain, 1, 3), plain);
  // Record ends that do not describe the unit: one record.
  const bad = {
    ...whole,
    entries: [whole.entries[0]!, { owner, bytes: 9, ends: new Uint8Array([20]) }],
  };
  assert.equal(splitAfterRecord(bad, 1, 3), bad);
});
