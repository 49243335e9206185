// BufferPool (server/buffer_pool.ts): the server's reused buffers, bounded, and emptied
// once idle.

import assert from "node:assert/strict";
import { BufferPool } from "../server/buffer_pool.ts";

Deno.test("BufferPool hands out powers of two, reuses what is given back, and keeps at most its bound", () => {
  const pool = new BufferPool(64 * 1024);
  const a = pool.get(1);
  assert.equal(a.length, 4096, "the smallest size");
  const b = pool.get(40_000);
  assert.equal(b.length, 65_536);
  pool.put(b);
  assert.equal(pool.freeBytes, 65_536);
  assert.equal(pool.get(33_000), b, "the same buffer again");
  assert.equal(pool.freeBytes, 0);
  pool.put(b);
  pool.put(a);
  assert.equal(pool.freeBytes, 65_536, "past the bound, a buffer is left to the GC");
  pool.put(new Uint8Array(5000));
  assert.equal(pool.freeBytes, 65_536, "not a size it hands out");
  pool.shrink();
  assert.equal(pool.freeBytes, 0);
  assert.notEqual(pool.get(65_536), b, "emptied");
});
