// SharedFile (server/shared_file.ts) through the real server: one handle per path shared
// by its clients, records kept whole when many clients append at once.

import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { SharedFile } from "../server/shared_file.ts";
import { logMessages, startServer } from "./_server.ts";
import { checkRecords, record } from "./_records.ts";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("server appends two clients' records to one file through one shared handle", async () => {
  await using server = await startServer();
  const path = `${server.dir}/two.log`;
  const a = await ProxyFile.open(path, { socketPath: server.socketPath });
  const b = await ProxyFile.open(path, { socketPath: server.socketPath });
  for (let i = 0; i < 200; i++) {
    a.write(`a ${i}\n`);
    b.write(`b ${i}\n`);
    if (i % 50 === 0) await delay(1);
  }
  await Promise.all([a.flush(), b.flush()]);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines.length, 400);
  for (const who of ["a", "b"]) {
    assert.deepEqual(
      lines.filter((line) => line.startsWith(who)),
      Array.from({ length: 200 }, (_, i) => `${who} ${i}`),
      `${who}'s lines whole and in order`,
    );
  }
  await a.close();
  await server.waitFor(`Client 0 done (remaining: 1) with ${path}`);
  assert.ok(!server.stdout().includes(`Closed ${path}`), "open while b uses it");
  await b.close();
  await server.waitFor(`Closed ${path}`);
  const log = logMessages(server.stdout());
  assert.ok(log.includes(`New client 0 (total: 1) for ${path}`));
  assert.ok(log.includes(`New client 1 (total: 2) for ${path}`));
  assert.ok(log.includes(`Client 1 done (remaining: 0) with ${path}`));
  assert.equal(log.filter((line) => line === `Closed ${path}`).length, 1);
  // After the last client left, the next one opens the file anew.
  await using c = await ProxyFile.open(path, { socketPath: server.socketPath });
  c.write("c\n");
  await c.flush();
  await server.waitFor(`New client 2 (total: 1) for ${path}`);
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith(" 199\nc\n"), "the new client appends after both");
  assert.equal(text.split("\n").length, 402);
});

Deno.test("server keeps every multi-line record whole when 8 ProxyFiles write one file at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/eight.log`;
  const records = 120;
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    for (let i = 0; i < records; i++) {
      // Every 15th record is about 100 KiB; the others 3 to 9 short lines.
      const big = i % 15 === 7;
      file.write(record(c, i, big ? 10 : 3 + (i % 7), big ? 10 * 1024 : 40));
      if (i % 10 === 0) await delay(0);
    }
  }));
  const counts = checkRecords(await Deno.readTextFile(path), 8);
  assert.deepEqual(counts, new Array(8).fill(records));
});

Deno.test("SharedFile.enqueue() copies the unit: its bytes may be reused at once, as the server reuses its read buffer", async () => {
  const path = await Deno.makeTempFile();
  try {
    const file = await SharedFile.open(path);
    const owner = { failed: false, onWritten() {}, onWriteError() {} };
    const buffer = new TextEncoder().encode("first\n");
    for (let i = 0; i < 1000; i++) {
      buffer.set(new TextEncoder().encode(`${String(i).padStart(5, "0")}\n`));
      file.enqueue(owner, { parts: [buffer], bytes: buffer.length });
    }
    buffer.fill(0x58);
    await file.close();
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.deepEqual(
      lines,
      Array.from({ length: 1000 }, (_, i) => String(i).padStart(5, "0")),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("SharedFile writes nothing more of a client whose write failed, and everything of the others, from one buffer", async () => {
  const path = await Deno.makeTempFile();
  try {
    const file = await SharedFile.open(path);
    const owner = () => ({
      failed: false,
      written: 0,
      onWritten(n: number) {
        this.written += n;
      },
      onWriteError() {},
    });
    const good = owner();
    const bad = owner();
    const unit = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      return { parts: [bytes], bytes: bytes.length };
    };
    // The first unit starts a write; the rest queue in one buffer behind it.
    file.enqueue(good, unit("g0\n"));
    for (let i = 1; i <= 3; i++) {
      file.enqueue(bad, unit(`b${i}\n`));
      file.enqueue(good, unit(`g${i}\n`));
    }
    bad.failed = true; // as when an earlier write of this client failed
    await file.close();
    assert.equal(await Deno.readTextFile(path), "g0\ng1\ng2\ng3\n");
    assert.equal(good.written, 12);
    assert.equal(bad.written, 0);
  } finally {
    await Deno.remove(path);
  }
});
