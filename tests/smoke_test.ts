import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";

Deno.test("ProxyFile.write() appends through a real server", async () => {
  await using server = await startServer();
  const path = `${server.dir}/a.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("hello\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(path), "hello\n");
});
