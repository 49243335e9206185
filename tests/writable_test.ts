import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";

Deno.test("ProxyFile.writable: readable.pipeTo(file.writable) appends every chunk through a real server, then closes the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/piped.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const encoder = new TextEncoder();
  const chunks = function* () {
    for (let i = 0; i < 10_000; i++) {
      yield i % 2 === 0 ? `line ${i}\n` : encoder.encode(`line ${i}\n`);
    }
  };
  await ReadableStream.from(chunks()).pipeTo(file.writable);
  assert.throws(() => file.write("after\n"), Deno.errors.BadResource);
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  assert.deepEqual(lines, Array.from({ length: 10_000 }, (_, i) => `line ${i}`));
});

Deno.test("ProxyFile.writable takes the bytes of a TextEncoderStream", async () => {
  await using server = await startServer();
  const path = `${server.dir}/encoded.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await ReadableStream.from(["héllo ", "wörld\n"])
    .pipeThrough(new TextEncoderStream())
    .pipeTo(file.writable);
  assert.equal(await Deno.readTextFile(path), "héllo wörld\n");
});

Deno.test("ProxyFile.writable keeps the file open with pipeTo(..., { preventClose: true })", async () => {
  await using server = await startServer();
  const path = `${server.dir}/open.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  await ReadableStream.from(["a\n", "b\n"]).pipeTo(file.writable, { preventClose: true });
  file.write("c\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(path), "a\nb\nc\n");
});

Deno.test("ProxyFile.writable closes the file, after writing what came first, when the source fails", async () => {
  await using server = await startServer();
  const path = `${server.dir}/aborted.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const failure = new Error("source failed");
  const source = ReadableStream.from(async function* () {
    yield "before\n";
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw failure;
  }());
  await assert.rejects(source.pipeTo(file.writable), (error) => error === failure);
  await file.close();
  assert.throws(() => file.write("after\n"), Deno.errors.BadResource);
  assert.equal(await Deno.readTextFile(path), "before\n");
});

Deno.test("ProxyFile.writable accepts writes without waiting: every write() resolves at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/direct.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const writer = file.writable.getWriter();
  const writes = [];
  for (let i = 0; i < 1000; i++) writes.push(writer.write(`w${i}\n`));
  await Promise.all(writes);
  assert.equal(writer.desiredSize, 1);
  await writer.close();
  assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, 1000);
});
