import assert from "node:assert/strict";
import { LocalFile, Logger } from "../mod.ts";

/** Writes `perTurn` lines every macrotask until stopped; returns how many so far. */
function writeBusily(write: (line: string) => void, perTurn: number) {
  let n = 0;
  let running = true;
  const turn = () => {
    if (!running) return;
    for (let k = 0; k < perTurn; k++) write(`line ${n++} ${"x".repeat(40)}\n`);
    setTimeout(turn, 0);
  };
  turn();
  return {
    count: () => n,
    stop: () => void (running = false),
  };
}

/** Resolves with the promise's time in ms, or rejects once `ms` passed without it. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<number> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

Deno.test("LocalFile.flush() resolves for what was written before it while the program keeps writing faster than the disk", async () => {
  const path = await Deno.makeTempFile();
  try {
    const file = await LocalFile.open(path);
    const writer = writeBusily((line) => file.write(line), 20_000);
    await new Promise((r) => setTimeout(r, 50));
    const before = writer.count();
    await within(file.flush(), 3000, "flush()");
    // Everything written before the call is in the file (the writer went on).
    const text = await Deno.readTextFile(path);
    assert.ok(text.includes(`line ${before - 1} `), "the last line before flush()");
    writer.stop();
    await file.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("Logger({ localFile: true }).flush() resolves while the program keeps logging", async () => {
  const path = await Deno.makeTempFile();
  try {
    const logger = await Logger.open("busy", path, {
      localFile: true,
      stdoutLevel: null,
      stderrLevel: null,
    });
    const writer = writeBusily((line) => logger.info(line.slice(0, -1)), 20_000);
    await new Promise((r) => setTimeout(r, 50));
    const before = writer.count();
    await within(logger.flush(), 3000, "flush()");
    // Everything logged before the call is in the file (the program went on).
    const text = await Deno.readTextFile(path);
    assert.ok(
      text.includes(`INFO] line ${before - 1} `),
      "the last record before flush()",
    );
    writer.stop();
    await logger.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("LocalFile.write() checks its argument and bounds its queue like ProxyFile", async () => {
  const path = await Deno.makeTempFile();
  try {
    const drops: number[] = [];
    const file = await LocalFile.open(path, {
      maxPendingBytes: 10,
      overflow: "drop-newest",
      onDrop: (records, size) => drops.push(records, size),
    });
    assert.throws(() => file.write(42 as unknown as string), TypeError);
    file.write("12345678\n"); // 9 units: fits
    file.write("too much\n"); // would pass 10: dropped
    assert.deepEqual(drops, [1, 9]);
    assert.equal(file.droppedRecords, 1);
    await file.close();
    assert.equal(await Deno.readTextFile(path), "12345678\n");
    assert.throws(() => file.write("late\n"), Deno.errors.BadResource);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("LocalFile.open() checks its arguments as ProxyFile.open() does", async () => {
  await assert.rejects(LocalFile.open(""), TypeError);
  await assert.rejects(LocalFile.open("/tmp/a\0b"), TypeError);
  await assert.rejects(LocalFile.open("/tmp/x.log", { timeout: 0 }), RangeError);
  await assert.rejects(LocalFile.open("/tmp/x.log", { maxPendingBytes: -1 }), RangeError);
  await assert.rejects(
    LocalFile.open("/tmp/x.log", { overflow: "later" as "error" }),
    RangeError,
  );
});
