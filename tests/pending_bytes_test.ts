// PendingBytes (client/pending_bytes.ts), the queue behind ProxyFile.write(): strings are
// encoded a group at a time, byte arrays copied, and come out in batches of whole,
// encoded records.

import assert from "node:assert/strict";
import fc from "fast-check";
import { COPY_LIMIT, ENCODE_LIMIT, PendingBytes } from "../client/pending_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Each record as the bytes it must become. */
function encoded(item: string | Uint8Array): Uint8Array {
  return typeof item === "string" ? encoder.encode(item) : item;
}

Deno.test("PendingBytes.take() encodes whole records in batches, strings and bytes mixed", () => {
  const queue = new PendingBytes();
  queue.push("héllo ");
  queue.push(new Uint8Array([119, 10]));
  queue.push("x".repeat(100));
  queue.push("y".repeat(100));
  assert.equal(queue.records, 4);
  const first = queue.take(110, 4);
  assert.equal(first.records, 3, "stops before the record that would pass the target");
  assert.equal(decoder.decode(first.bytes.subarray(4)), "héllo w\n" + "x".repeat(100));
  const second = queue.take(10, 0);
  assert.equal(second.records, 1, "a larger first record is taken whole");
  assert.equal(decoder.decode(second.bytes), "y".repeat(100));
  assert.equal(queue.records, 0);
  assert.equal(queue.size, 0);
  assert.equal(queue.take(10, 0).records, 0);
  queue.push("a");
  queue.push("bb");
  assert.equal(queue.shift(), 1);
  assert.equal(decoder.decode(queue.take(100, 0).bytes), "bb");
});

Deno.test("PendingBytes gives back every record, in order and encoded, across blocks and batch sizes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 })), {
        maxLength: 10_000,
      }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50 }),
      fc.nat({ max: 20 }),
      (items, targets, drops) => {
        const queue = new PendingBytes();
        for (const item of items) queue.push(item);
        const kept = items.slice(Math.min(drops, items.length));
        for (let i = 0; i < drops; i++) queue.shift();
        const expected = kept.map((item) =>
          typeof item === "string" ? encoder.encode(item) : item
        );
        const want = new Uint8Array(expected.reduce((n, b) => n + b.length, 0));
        let at = 0;
        for (const bytes of expected) {
          want.set(bytes, at);
          at += bytes.length;
        }
        const got = new Uint8Array(want.length);
        let offset = 0;
        let records = 0;
        for (let t = 0; queue.records > 0; t++) {
          const batch = queue.take(targets[t % targets.length]!, 3);
          assert.ok(batch.records > 0);
          records += batch.records;
          got.set(batch.bytes.subarray(3), offset);
          offset += batch.bytes.length - 3;
        }
        assert.equal(records, kept.length);
        assert.equal(queue.size, 0);
        assert.equal(offset, want.length);
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("PendingBytes counts records and size in UTF-8 bytes once strings are encoded", () => {
  const queue = new PendingBytes();
  assert.equal(queue.records, 0);
  assert.equal(queue.size, 0);
  queue.push("ab");
  queue.push("é€😀"); // 1 + 1 + 2 UTF-16 units; 2 + 3 + 4 UTF-8 bytes
  assert.equal(queue.size, 2 + 4, "strings not yet encoded count by their length");
  queue.push(new Uint8Array(5)); // encodes the strings before it
  queue.push("");
  assert.equal(queue.records, 4);
  assert.equal(queue.size, 2 + 9 + 5 + 0);
  const batch = queue.take(1000, 0);
  assert.equal(batch.records, 4);
  assert.equal(batch.bytes.length, 2 + 9 + 5);
  assert.equal(queue.size, 0);
  assert.deepEqual(queue.clear(), { records: 0, size: 0 });
  queue.push("x");
  queue.push(new Uint8Array(3));
  assert.deepEqual(queue.clear(), { records: 2, size: 4 });
  assert.equal(queue.take(10, 0).records, 0);
  assert.equal(queue.shift(), 0, "shift() of an empty queue");
});

Deno.test("PendingBytes.take() never splits a record: each batch is a run of whole records in order", () => {
  const item = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
  );
  fc.assert(
    fc.property(
      fc.array(item, { maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 20 }),
      fc.nat({ max: 16 }),
      (items, targets, header) => {
        const queue = new PendingBytes();
        for (const it of items) queue.push(it);
        let next = 0;
        for (let t = 0; queue.records > 0; t++) {
          const target = targets[t % targets.length]!;
          const { bytes, records } = queue.take(target, header);
          assert.ok(records >= 1, "at least one record per batch");
          const taken = items.slice(next, next + records);
          const expected = taken.flatMap((it) => [...encoded(it)]);
          assert.ok(
            records === 1 || expected.length <= target,
            "about target bytes, never more unless one record",
          );
          assert.equal(
            queue.size,
            items.slice(next + records).reduce((n, it) => n + encoded(it).length, 0),
            "the size left is the bytes of the records left",
          );
          assert.deepEqual(
            [...bytes.subarray(header)],
            expected,
            `records ${next}..${next + records}`,
          );
          next += records;
        }
        assert.equal(next, items.length);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("PendingBytes.take() takes a record larger than the target whole, alone", () => {
  const queue = new PendingBytes();
  queue.push("small\n");
  queue.push("B".repeat(100_000));
  queue.push("after\n");
  assert.equal(decoder.decode(queue.take(10, 0).bytes), "small\n");
  const big = queue.take(10, 4);
  assert.equal(big.records, 1);
  assert.equal(big.bytes.length, 4 + 100_000);
  assert.ok(big.bytes.subarray(4).every((b) => b === 0x42));
  assert.equal(decoder.decode(queue.take(10, 0).bytes), "after\n");
});

Deno.test("PendingBytes.take() encodes UTF-8 right, however strings and byte arrays are mixed", () => {
  const queue = new PendingBytes();
  const items = [
    "naïve ",
    "日本語 ",
    new Uint8Array([0xf0, 0x9f, 0x98, 0x80]),
    " 😀",
    "\n",
  ];
  for (const it of items) queue.push(it);
  const { bytes } = queue.take(1 << 20, 0);
  assert.equal(decoder.decode(bytes), "naïve 日本語 😀 😀\n");
  // A batch big enough to need the worst case: 3 bytes per UTF-16 unit.
  queue.push("€".repeat(50_000));
  const euros = queue.take(1 << 20, 0);
  assert.equal(euros.bytes.length, 150_000);
  assert.equal(decoder.decode(euros.bytes), "€".repeat(50_000));
});

Deno.test("PendingBytes.take() encodes each string record on its own: batching never changes the bytes", () => {
  // A write() that ends in half a surrogate pair and one that starts with the other
  // half are two records. Encoded alone each half is U+FFFD; joined they would make
  // one 4-byte character. The file must not depend on how the pump batched them.
  const records = ["a\uD83D", "\uDE00b"];
  const alone = records.flatMap((r) => [...encoder.encode(r)]);

  const oneBatch = new PendingBytes();
  for (const r of records) oneBatch.push(r);
  const joined = [...oneBatch.take(1 << 16, 0).bytes];

  const twoBatches = new PendingBytes();
  const parts: number[] = [];
  for (const r of records) {
    twoBatches.push(r);
    parts.push(...twoBatches.take(1, 0).bytes);
  }
  assert.deepEqual(parts, alone);
  assert.deepEqual(
    joined,
    parts,
    "the same records give the same bytes in one batch or two",
  );
});

Deno.test("PendingBytes keeps order across many blocks while records keep arriving between batches", () => {
  const queue = new PendingBytes();
  for (let i = 0; i < 20_000; i++) {
    queue.push(i % 3 === 0 ? encoder.encode(`${i}\n`) : `${i}\n`);
  }
  const seen: string[] = [];
  let late = 0;
  while (queue.records > 0) {
    // The batch is valid until the next take(): read it before taking again.
    seen.push(decoder.decode(queue.take(777 * (1 + (seen.length % 5)), 0).bytes));
    if (seen.length % 10 === 0) queue.push(`late ${late++}\n`);
  }
  const lines = seen.join("").trimEnd().split("\n");
  const numbers = lines.filter((line) => !line.startsWith("late"));
  assert.deepEqual(numbers, Array.from({ length: 20_000 }, (_, i) => String(i)));
  assert.deepEqual(
    lines.filter((line) => line.startsWith("late")),
    Array.from({ length: late }, (_, i) => `late ${i}`),
  );
  assert.equal(queue.size, 0);
});

Deno.test("PendingBytes: a sender that writes its header into a batch never damages records still queued, as pushes, drops and takes interleave", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            push: fc.oneof(
              fc.string({ maxLength: 200 }),
              fc.uint8Array({ maxLength: 30_000 }),
            ),
          }),
          fc.record({ take: fc.integer({ min: 1, max: 70_000 }) }),
          fc.constant({ shift: true }),
        ),
        { maxLength: 2000, size: "large" },
      ),
      (steps) => {
        const queue = new PendingBytes(64 * 1024);
        const kept: Uint8Array[] = [];
        let got: number[] = [];
        // A batch is read only at the next take(), as a pump's socket write may finish
        // only then, while the program goes on writing.
        let lent: Uint8Array | null = null;
        const take = (target: number) => {
          if (lent !== null) got = got.concat([...lent]);
          const batch = queue.take(target, 4);
          batch.bytes.fill(0xff, 0, 4); // the frame header, as the pump's sender writes it
          lent = batch.bytes.subarray(4);
          kept.splice(0, batch.records);
        };
        const want: number[] = [];
        for (const step of steps) {
          if ("push" in step) {
            queue.push(step.push);
            kept.push(encoded(step.push));
          } else if ("take" in step) {
            const before = kept.slice();
            const records = queue.records;
            take(step.take);
            const taken = before.length - kept.length;
            assert.ok(records === 0 || taken >= 1);
            for (const bytes of before.slice(0, taken)) want.push(...bytes);
          } else {
            assert.equal(queue.shift(), kept.shift()?.length ?? 0);
          }
        }
        while (queue.records > 0) {
          const before = kept.slice();
          take(1 << 20);
          for (const bytes of before.slice(0, before.length - kept.length)) {
            want.push(...bytes);
          }
        }
        take(1); // reads the last batch
        assert.deepEqual(got, want);
        assert.equal(queue.size, 0);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("PendingBytes copies a byte array pushed below ENCODE_LIMIT", () => {
  const queue = new PendingBytes();
  const buffer = encoder.encode("first\n");
  queue.push(buffer);
  buffer.set(encoder.encode("SECOND"));
  queue.push(buffer.subarray(0, 3));
  assert.equal(decoder.decode(queue.take(1 << 16, 0).bytes), "first\nSEC");
});

Deno.test("PendingBytes reuses its chunks: a long steady stream keeps a bounded set of buffers", () => {
  const queue = new PendingBytes(256 * 1024);
  const buffers = new Set<ArrayBufferLike>();
  for (let round = 0; round < 2000; round++) {
    for (let i = 0; i < 300; i++) {
      queue.push(`round ${round} line ${i} ${"x".repeat(60)}\n`);
    }
    const { bytes } = queue.take(1 << 20, 4);
    buffers.add(bytes.buffer);
  }
  assert.ok(buffers.size <= 4, `${buffers.size} buffers for 2,000 batches`);
});

Deno.test("PendingBytes never reuses the chunk of a batch before the next take(): writes that go on while it is sent do not overwrite it", () => {
  const queue = new PendingBytes(64 * 1024);
  queue.push(new Uint8Array(60_000).fill(1));
  const batch = queue.take(1 << 20, 4).bytes.subarray(4);
  queue.push(new Uint8Array(10_000).fill(2)); // does not fit behind the batch
  assert.ok(batch.every((byte) => byte === 1), "the batch is intact");
  const next = queue.take(1 << 20, 4).bytes.subarray(4);
  assert.equal(next.length, 10_000);
  assert.ok(next.every((byte) => byte === 2));
});

Deno.test("PendingBytes past COPY_LIMIT keeps records as written; every batch is still the next records, encoded the same, as the queue goes deep and back", () => {
  const queue = new PendingBytes(256 * 1024);
  let n = 0;
  const next = (): string | Uint8Array => {
    const k = n++;
    if (k % 7 === 0) return encoder.encode(`bytes ${k}\n`);
    if (k % 11 === 0) return `é€😀 ${k}\n`;
    if (k % 13 === 0) return `half a pair ${k} \uD83D`; // the next starts with the other
    if (k % 13 === 1) return `\uDE00 the other half ${k}\n`;
    return `line ${k} ${"x".repeat(80)}\n`;
  };
  const fifo: (string | Uint8Array)[] = [];
  const push = (count: number) => {
    for (let i = 0; i < count; i++) {
      const item = next();
      fifo.push(item);
      queue.push(item);
    }
  };
  push(90_000); // about 9 MB: past the limit
  assert.ok(queue.size > COPY_LIMIT, `${queue.size} bytes queued`);
  let deepAgain = false;
  for (let round = 0; queue.records > 0; round++) {
    const { bytes, records } = queue.take(100_000 + (round % 3) * 50_000, 4);
    assert.ok(records >= 1);
    const taken = fifo.splice(0, records);
    assert.deepEqual(
      bytes.subarray(4),
      new Uint8Array(taken.flatMap((item) => [...encoded(item)])),
      `round ${round}`,
    );
    if (round % 5 === 0 && round < 100) {
      // drop-oldest, from whichever part holds the head
      const head = fifo.shift();
      const dropped = queue.shift();
      // Its bytes once encoded; its UTF-16 length while kept as written.
      assert.ok(
        head === undefined
          ? dropped === 0
          : dropped === encoded(head).length || dropped === head.length,
      );
    }
    if (round === 30) {
      push(80_000);
      deepAgain = queue.size > COPY_LIMIT;
    }
    assert.equal(queue.records, fifo.length);
  }
  assert.ok(deepAgain, "deep again after a second burst");
  assert.equal(queue.size, 0);
});

Deno.test("PendingBytes encodes strings up to ENCODE_LIMIT queued and keeps them as written past it; the bytes are the same", () => {
  const queue = new PendingBytes();
  const lines: string[] = [];
  for (let i = 0; queue.size <= ENCODE_LIMIT + 1_000_000; i++) {
    const line = `line ${i} ${"y".repeat(90)}\n`;
    lines.push(line);
    queue.push(line);
  }
  let offset = 0;
  const all = encoder.encode(lines.join(""));
  while (queue.records > 0) {
    const { bytes } = queue.take(1 << 20, 4);
    assert.deepEqual(bytes.subarray(4), all.subarray(offset, offset + bytes.length - 4));
    offset += bytes.length - 4;
  }
  assert.equal(offset, all.length);
});
