// BatchWriter (server/_batch_writer.ts): the file's writer, which owns its handle,
// appends whole batches, and reopens the path between two of them.

import assert from "node:assert/strict";
import { BatchWriter } from "../server/_batch_writer.ts";
import { FileRefusal } from "../server/_describe_error.ts";
import { WriteQueue } from "../server/_write_queue.ts";
import { FileCounters } from "../server/file_counters.ts";

const encoder = new TextEncoder();
const RULES = { refuseHardlinks: false, timeoutMs: 5000 };

/** An owner that records what it was told. */
function owner() {
  return {
    failed: false,
    written: 0,
    errors: [] as unknown[],
    onWritten(bytes: number) {
      this.written += bytes;
    },
    onWriteError(error: unknown) {
      this.errors.push(error);
    },
  };
}

/** One batch of `lines`, from `who`. */
function batchOf(who: ReturnType<typeof owner>, ...lines: string[]) {
  const queue = new WriteQueue();
  for (const line of lines) {
    const bytes = encoder.encode(line);
    queue.enqueue(who, { parts: [bytes], bytes: bytes.length });
  }
  return queue.take()!;
}

Deno.test("BatchWriter.write() appends a batch, tells its owners once and counts the bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const counters = new FileCounters();
    const writer = await BatchWriter.open(`${dir}/a.log`, RULES, counters);
    const a = owner();
    const b = owner();
    const queue = new WriteQueue();
    for (const [who, text] of [[a, "a1\n"], [b, "b1\n"], [a, "a2\n"]] as const) {
      queue.enqueue(who, { parts: [encoder.encode(text)], bytes: 3 });
    }
    const written = await writer.write(queue.take()!);
    writer.close();
    assert.deepEqual(written, { kind: "written", bytes: 9, reopened: false });
    assert.equal(a.written, 6);
    assert.equal(b.written, 3);
    assert.equal(counters.bytesWritten, 9);
    assert.equal(await Deno.readTextFile(`${dir}/a.log`), "a1\nb1\na2\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BatchWriter.write() to a file deleted meanwhile writes the batch again at its path, reopened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const counters = new FileCounters();
    const writer = await BatchWriter.open(`${dir}/a.log`, RULES, counters);
    await Deno.remove(`${dir}/a.log`);
    const who = owner();
    const written = await writer.write(batchOf(who, "kept\n"));
    assert.deepEqual(written, { kind: "written", bytes: 5, reopened: true });
    assert.equal(counters.reopens, 1);
    assert.equal(await Deno.readTextFile(`${dir}/a.log`), "kept\n");
    // Its directory removed: the path cannot be opened again, and nobody is told yet.
    await Deno.remove(dir, { recursive: true });
    const lost = await writer.write(batchOf(who, "lost\n"));
    writer.close();
    assert.equal(lost.kind, "lost");
    assert.equal(who.written, 5, "only what is in a reachable file");
    assert.deepEqual(who.errors, []);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("BatchWriter.reopen() throws the access check's typed refusal as it is, and keeps the old handle", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const refusal = new FileRefusal("PermissionError", "Permission denied: 'x'");
    let allow = true;
    const writer = await BatchWriter.open(`${dir}/a.log`, {
      ...RULES,
      access: (path) => Promise.resolve(allow ? { path } : { refusal }),
    }, new FileCounters());
    assert.equal(await writer.moved(), false);
    await Deno.rename(`${dir}/a.log`, `${dir}/a.log.1`);
    assert.equal(await writer.moved(), true);
    allow = false;
    await assert.rejects(writer.reopen(), (error) => error === refusal);
    await writer.write(batchOf(owner(), "old\n"));
    allow = true;
    await writer.reopen();
    await writer.write(batchOf(owner(), "new\n"));
    writer.close();
    assert.equal(await Deno.readTextFile(`${dir}/a.log.1`), "old\n");
    assert.equal(await Deno.readTextFile(`${dir}/a.log`), "new\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BatchWriter.size counts the file's bytes from its size at open, and starts again at a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.log`;
    await Deno.writeTextFile(path, "before\n");
    const counters = new FileCounters();
    const retired: Deno.FsFile[] = [];
    const writer = await BatchWriter.open(
      path,
      { ...RULES, retire: (old) => retired.push(old) },
      counters,
    );
    assert.equal(writer.size, 7);
    await writer.write(batchOf(owner(), "one\n", "two\n"));
    assert.equal(writer.size, 15);
    const ino = writer.ino;
    // The server's own rotation: the file renamed, the path opened anew.
    await Deno.rename(path, `${path}.1`);
    await writer.reopen(true);
    assert.equal(writer.size, 0);
    assert.notEqual(writer.ino, ino);
    assert.equal(retired.length, 1, "the old handle goes to retire()");
    assert.equal(counters.reopens, 0, "the server's own rotation is no reopen");
    retired[0]!.close();
    await writer.write(batchOf(owner(), "three\n"));
    assert.equal(writer.size, 6);
    writer.close();
    assert.equal(await Deno.readTextFile(`${path}.1`), "before\none\ntwo\n");
    assert.equal(await Deno.readTextFile(path), "three\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
