import assert from "node:assert/strict";
import { Rotation } from "../server/rotation.ts";
import { FileTable } from "../server/file_table.ts";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";
import { readMessages, writeAll } from "./_raw.ts";

const encoder = new TextEncoder();

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("server reopens a renamed or deleted file within --rotate-check and tells offlog/1 clients", async () => {
  await using server = await startServer({ args: ["--rotate-check", "100"] });
  const path = `${server.dir}/app.log`;
  let rotations = 0;
  await using file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    onRotated: () => rotations++,
  });
  file.write("one\n");
  await file.flush();
  await Deno.rename(path, `${path}.1`);
  await until(() => rotations === 1, "ROTATED after a rename");
  file.write("two\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${path}.1`), "one\n");
  assert.equal(await Deno.readTextFile(path), "two\n");
  await Deno.remove(path);
  await until(() => rotations === 2, "ROTATED after a delete");
  file.write("three\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(path), "three\n");
  assert.match(server.stdout(), /Reopened .*app\.log \(moved or deleted\)/);
});

Deno.test("SIGHUP reopens every open file at once", async () => {
  await using server = await startServer({ args: ["--rotate-check", "0"] });
  const path = `${server.dir}/hup.log`;
  let rotations = 0;
  await using file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    onRotated: () => rotations++,
  });
  file.write("before\n");
  await file.flush();
  await Deno.rename(path, `${path}.1`);
  server.process.kill("SIGHUP");
  await until(() => rotations === 1, "ROTATED after SIGHUP");
  file.write("after\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${path}.1`), "before\n");
  assert.equal(await Deno.readTextFile(path), "after\n");
});

for (const tell of [false, true]) {
  Deno.test(`a 0.x client gets ROTATED ${tell ? "with" : "only with"} --tell-rotated`, async () => {
    await using server = await startServer({
      args: ["--rotate-check", "0", ...(tell ? ["--tell-rotated"] : [])],
    });
    const path = `${server.dir}/raw.log`;
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, encoder.encode(`${path}\0line\n`));
      await server.waitFor(`New client 0`);
      await Deno.rename(path, `${path}.1`);
      server.process.kill("SIGHUP");
      await server.waitFor("Reopened");
      await writeAll(conn, encoder.encode("next\n"));
      await conn.closeWrite();
      const messages = await readMessages(conn);
      assert.deepEqual(messages, tell ? ["OK", "ROTATED", "BYE"] : ["OK", "BYE"]);
      assert.equal(await Deno.readTextFile(path), "next\n");
    } finally {
      conn.close();
    }
  });
}

Deno.test("Rotation.reopenAll() reopens every open file at its path and says so; a closed file is left alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const table = new FileTable();
    const owner = { failed: false, onWritten() {}, onWriteError() {} };
    const file = await table.acquire(`${dir}/a.log`, owner);
    const told: string[] = [];
    const rotation = new Rotation(table, 0, (f, why) => told.push(`${f.path} ${why}`));
    await Deno.rename(`${dir}/a.log`, `${dir}/a.log.1`);
    assert.equal(await file.moved(), true);
    await rotation.reopenAll("SIGHUP");
    assert.deepEqual(told, [`${dir}/a.log SIGHUP`]);
    assert.equal(await file.moved(), false, "the path leads to the open file again");
    await table.release(file, owner);
    await rotation.reopenAll("SIGHUP");
    assert.equal(told.length, 1, "nothing open, nothing reopened");
    rotation.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
