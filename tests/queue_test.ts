// Unit tests of client/writer/queue.ts: records kept as written, encoded a batch at a
// time into one reused buffer behind HEADER_ROOM free bytes.
import assert from "node:assert/strict";
import fc from "fast-check";
import { HEADER_ROOM, RecordQueue } from "../client/writer/queue.ts";
import { utf8Length } from "../client/writer/ends.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The payload of a batch, copied (the buffer is reused by the next take()). */
function payload(queue: RecordQueue): { text: string; records: number } {
  const taken = queue.take();
  return {
    text: decoder.decode(taken.bytes.subarray(HEADER_ROOM)),
    records: taken.records,
  };
}

Deno.test("RecordQueue.take() encodes whole records, strings and bytes mixed, after the header room", () => {
  const queue = new RecordQueue(1024);
  queue.push("héllo ");
  queue.push(encoder.encode("wörld\n"));
  queue.push("!\n");
  assert.equal(queue.records, 3);
  assert.equal(queue.size, 6 + 7 + 2, "strings by UTF-16 length, bytes by length");
  const taken = queue.take();
  assert.equal(taken.records, 3);
  assert.equal(decoder.decode(taken.bytes.subarray(HEADER_ROOM)), "héllo wörld\n!\n");
  assert.equal(queue.records, 0);
  assert.equal(queue.size, 0);
  assert.equal(queue.take().records, 0);
});

Deno.test("RecordQueue.take() stops at about batchBytes, and takes a larger record whole, alone", () => {
  const queue = new RecordQueue(10);
  for (const record of ["aaaa", "bbbb", "cccc", "d".repeat(25), "e"]) queue.push(record);
  assert.deepEqual(
    [payload(queue), payload(queue), payload(queue), payload(queue)].map((p) => p.text),
    ["aaaabbbb", "cccc", "d".repeat(25), "e"],
  );
});

Deno.test("RecordQueue.shift() drops the head record and returns its size", () => {
  const queue = new RecordQueue(1024);
  assert.equal(queue.shift(), 0);
  queue.push("one\n");
  queue.push(new Uint8Array([0x74, 0x77, 0x6f, 0x0a]));
  assert.equal(queue.shift(), 4);
  assert.deepEqual(payload(queue), { text: "two\n", records: 1 });
});

Deno.test("RecordQueue encodes each string as it would alone: a half surrogate pair never joins the next record", () => {
  const queue = new RecordQueue(1024);
  queue.push("a\ud83d"); // a high surrogate at the end
  queue.push("\ude00b"); // a low one at the start
  queue.push("😀\n");
  const want = [
    ...encoder.encode("a\ud83d"),
    ...encoder.encode("\ude00b"),
    ...encoder.encode("😀\n"),
  ];
  assert.deepEqual([...queue.take().bytes.subarray(HEADER_ROOM)], want);
});

Deno.test("RecordQueue gives back every record, in order, and where each ends, as pushes, encodes, drops and takes interleave", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70_000 }),
      fc.array(
        fc.oneof(
          fc.record({
            push: fc.oneof(
              fc.string({ maxLength: 200 }),
              fc.string({ unit: "binary", maxLength: 50 }),
              fc.uint8Array({ maxLength: 30_000 }),
            ),
          }),
          fc.constant({ take: true }),
          fc.constant({ encode: true }),
          fc.constant({ shift: true }),
        ),
        { maxLength: 3000, size: "large" },
      ),
      (batchBytes, steps) => {
        const queue = new RecordQueue(batchBytes);
        const queued: Uint8Array[] = [];
        const want: number[] = [];
        const got: number[] = [];
        const take = () => {
          const taken = queue.take();
          const bytes = taken.bytes.subarray(HEADER_ROOM);
          got.push(...bytes);
          assert.equal(taken.ends.length, taken.records);
          let end = HEADER_ROOM;
          queued.slice(0, taken.records).forEach((record, k) => {
            end += record.length;
            assert.equal(
              taken.ends[k]! - taken.start + HEADER_ROOM,
              end,
              `record ${k}'s end`,
            );
          });
          for (const record of queued.splice(0, taken.records)) want.push(...record);
          taken.bytes.fill(0xff, 0, HEADER_ROOM); // a frame header, as a transport writes it
          assert.ok(taken.records > 0 || queued.length === 0);
        };
        for (const step of steps) {
          if ("push" in step) {
            queue.push(step.push);
            queued.push(
              typeof step.push === "string" ? encoder.encode(step.push) : step.push,
            );
          } else if ("take" in step) take();
          else if ("encode" in step) queue.encode();
          else if (queue.shift() > 0 || queued.length > 0) queued.shift();
          assert.equal(queue.records, queued.length);
        }
        while (queue.records > 0) take();
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("RecordQueue grows its ring past the first slots and keeps the order", () => {
  const queue = new RecordQueue(1 << 20);
  for (let i = 0; i < 3000; i++) queue.push(`${i}\n`);
  queue.shift();
  for (let i = 3000; i < 5000; i++) queue.push(`${i}\n`);
  const lines = payload(queue).text.split("\n").slice(0, -1);
  assert.deepEqual(lines, Array.from({ length: 4999 }, (_, i) => String(i + 1)));
});

Deno.test("utf8Length() counts what TextEncoder writes, lone surrogates as U+FFFD", () => {
  for (
    const text of ["", "abc", "é", "€", "😀", "\ud83d", "\ude00", "a\ud83db", "😀\ud83d"]
  ) {
    assert.equal(utf8Length(text), encoder.encode(text).length, JSON.stringify(text));
  }
});

Deno.test("RecordQueue keeps the order across many blocks of slots as records come and go", () => {
  const queue = new RecordQueue(1 << 16);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 3000 + round * 97; i++) queue.push(`${next++}\n`);
    if (round % 3 === 0) queue.encode();
    for (let i = 0; i < 2 && queue.records > 0; i++) {
      for (const line of payload(queue).text.split("\n").slice(0, -1)) {
        assert.equal(line, String(expected++));
      }
    }
  }
  while (queue.records > 0) {
    for (const line of payload(queue).text.split("\n").slice(0, -1)) {
      assert.equal(line, String(expected++));
    }
  }
  assert.equal(expected, next);
});
