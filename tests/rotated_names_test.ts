// The file operations of rotated files (server/_rotated_names.ts).

import assert from "node:assert/strict";
import { exists, inode, removeIfThere, renameFresh } from "../server/_rotated_names.ts";
import { tempDir } from "./_server.ts";

Deno.test("renameFresh() never replaces a file; removeIfThere(), exists() and inode() take a missing name", async () => {
  await using dir = await tempDir();
  const [a, b] = [`${dir.path}/a`, `${dir.path}/b`];
  await Deno.writeTextFile(a, "a");
  await Deno.writeTextFile(b, "b");
  await assert.rejects(renameFresh(a, b), Deno.errors.AlreadyExists);
  assert.equal(await Deno.readTextFile(b), "b");
  assert.equal(await removeIfThere(b), true);
  assert.equal(await removeIfThere(b), false);
  assert.equal(await exists(b), false);
  assert.equal(await inode(b), null);
  const ino = await inode(a);
  await renameFresh(a, b);
  assert.equal(await inode(b), ino);
});
