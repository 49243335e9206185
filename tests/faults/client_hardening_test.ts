// The client against the real server when the file's path disappears: with reconnect it
// keeps its records until the directory is back; without, flush() throws NotFound.
// (The client against servers that break the protocol: handshake_test.ts, link_test.ts.)

import assert from "node:assert/strict";
import { OfflogServerError, ProxyFile } from "../../mod.ts";
import { startServer } from "../_server.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------
// A path that is gone (real server)

/** Writes numbered lines every millisecond until stopped. */
function stream(file: ProxyFile): { count(): number; stop(): number } {
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 50; k++) file.write(`line ${i++}\n`);
  }, 1);
  return {
    count: () => i,
    stop() {
      clearInterval(timer);
      return i;
    },
  };
}

Deno.test("ProxyFile with reconnect outlives its directory being removed and created again", async () => {
  await using server = await startServer();
  const sub = `${server.dir}/sub`;
  const path = `${sub}/app.log`;
  await Deno.mkdir(sub);
  const file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    reconnect: true,
  });
  try {
    const writer = stream(file);
    await sleep(50);
    await file.flush();
    const flushed = writer.count(); // every line before this is in the old file
    await sleep(20);
    await Deno.remove(sub, { recursive: true });
    const atRemoval = writer.count(); // every line from here on is in the new one
    await until(() => !file.connected, "the client to learn that the path is gone");
    await sleep(300); // reconnects are refused with FileNotFoundError meanwhile
    assert.equal(file.connected, false);
    await Deno.mkdir(sub);
    await until(() => file.connected, "the client to reconnect");
    await sleep(50);
    const written = writer.stop();
    await file.flush();
    await file.close();
    await server.waitFor(`Closed ${path}`);
    // The new file holds a run of lines up to the last, each once and in order,
    // starting no later than the removal (what came before went to the old file).
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    const first = Number(lines[0]?.slice("line ".length));
    assert.ok(
      first >= flushed && first <= atRemoval,
      `first line ${first}, flushed ${flushed}, at removal ${atRemoval}`,
    );
    assert.equal(lines.length, written - first);
    lines.forEach((text, k) => assert.equal(text, `line ${first + k}`));
  } finally {
    await file.close().catch(() => {});
  }
});

Deno.test("ProxyFile without reconnect: flush() rejects with NotFound once its directory is removed", async () => {
  await using server = await startServer();
  const sub = `${server.dir}/sub`;
  const path = `${sub}/app.log`;
  await Deno.mkdir(sub);
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  try {
    file.write("before\n");
    await file.flush();
    await Deno.remove(sub, { recursive: true });
    file.write("after\n");
    const error = await file.flush().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof Deno.errors.NotFound, String(error));
    assert.ok(error.cause instanceof OfflogServerError);
    assert.equal(error.cause.serverName, "FileNotFoundError");
    assert.match(
      error.message,
      /^\[Errno 2\] No such file or directory: '.*\/sub\/app\.log' \(the file was deleted/,
    );
    assert.throws(() => file.write("more\n"), Deno.errors.NotFound);
  } finally {
    await file.close().catch(() => {});
  }
});

Deno.test("ProxyFile.open() with reconnect still throws NotFound at once for a missing directory", async () => {
  await using server = await startServer();
  await assert.rejects(
    ProxyFile.open(`${server.dir}/missing/app.log`, {
      socketPath: server.socketPath,
      reconnect: true,
    }),
    Deno.errors.NotFound,
  );
});
