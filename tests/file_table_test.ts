// FileTable (server/file_table.ts): one handle per path, and per-path counters that a
// client naming ever new paths cannot grow without bound.

import assert from "node:assert/strict";
import { FileTable } from "../server/file_table.ts";

Deno.test("FileTable keeps the counters of at most 4,096 closed paths; their bytes stay in the total", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const table = new FileTable();
    const owner = { failed: false, onWritten() {}, onWriteError() {} };
    const PATHS = 4_200;
    for (let i = 0; i < PATHS; i++) {
      const file = await table.acquire(`${dir}/${i}.log`, owner);
      file.enqueue(owner, { parts: [new Uint8Array([10])], bytes: 1 });
      await table.release(file, owner);
    }
    assert.ok(table.countedPaths <= 4_097, `${table.countedPaths} paths counted`);
    assert.ok(table.countedPaths >= 4_096);
    assert.equal(table.bytesWritten, PATHS, "every byte counted in the total");
    assert.equal(table.open.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
