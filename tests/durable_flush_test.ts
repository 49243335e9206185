// flush({ durable: true }) end to end: ProxyFile, Logger, LocalFile, the server's sync
// request (SYNC_FRAME, SYNCED) and --sync-interval.
import assert from "node:assert/strict";
import { LocalFile, Logger, ProxyFile } from "../mod.ts";
import { startServer, waitUntil } from "./_server.ts";
import { zeroXServer } from "./_fake_server.ts";
import { ignoreWithout } from "./_tools.ts";
import { startTracedServer, STRACE } from "./_traced_server.ts";
import { readMessages, writeAll } from "./_raw.ts";
import type { StatsSnapshot } from "../server/stats.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

async function serverStats(socketPath: string): Promise<StatsSnapshot> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-all", SERVER, "--stats", "-s", socketPath],
  }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)) as StatsSnapshot;
}

Deno.test({
  name:
    "ProxyFile.flush({ durable: true }) resolves after the server ran fdatasync on the file past the records",
  ignore: ignoreWithout(STRACE, "strace", "durable flush under strace"),
}, async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/offlog.sock`;
  const trace = `${dir}/trace.txt`;
  // The server under strace: its fdatasync calls are in the trace, with their result.
  const { process: server, output } = startTracedServer(socketPath, trace);
  try {
    await waitUntil(() => output.stdout().includes("Listening"), "listening", 20_000);
    const path = `${dir}/durable.log`;
    const file = await ProxyFile.open(path, { socketPath });
    for (let i = 0; i < 1000; i++) file.write(`record ${i}\n`);
    const before = await Deno.readTextFile(trace);
    assert.doesNotMatch(before, /fdatasync/, "no sync before one is asked for");
    await file.flush({ durable: true });
    // The sync is done when the answer arrives: it is in the trace, with its result.
    const after = await Deno.readTextFile(trace);
    assert.match(after, /fdatasync\(\d+\)\s+= 0/);
    assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, 1000);
    // A plain flush() asks for no sync.
    file.write("plain\n");
    await file.flush();
    const syncs = (await Deno.readTextFile(trace)).match(/fdatasync\(/g)!.length;
    await file.close();
    assert.equal((await Deno.readTextFile(trace)).match(/fdatasync\(/g)!.length, syncs);
  } finally {
    // SIGTERM to strace would only detach it: stop the server it runs.
    const children = await new Deno.Command("pgrep", { args: ["-P", String(server.pid)] })
      .output();
    for (const pid of new TextDecoder().decode(children.stdout).trim().split("\n")) {
      if (pid !== "") Deno.kill(Number(pid), "SIGTERM");
    }
    await server.status;
    await output.done;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flush({ durable: true }) counts syncs, works through Logger and LocalFile", async () => {
  await using server = await startServer();
  const path = `${server.dir}/logger.log`;
  const logger = await Logger.open("app", path, {
    socketPath: server.socketPath,
    stdoutLevel: null,
    stderrLevel: null,
  });
  logger.info("kept");
  await logger.flush({ durable: true });
  const snapshot = await serverStats(server.socketPath);
  assert.equal(snapshot.files.find((f) => f.path === path)?.syncs, 1);
  await logger.close();
  const local = await LocalFile.open(`${server.dir}/local.log`);
  local.write("local\n");
  await local.flush({ durable: true });
  await local.close();
  assert.equal(await Deno.readTextFile(`${server.dir}/local.log`), "local\n");
});

Deno.test("flush({ durable: true }) against a 0.x server rejects rather than pretend", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using _server = zeroXServer(`${dir}/old.sock`);
    const file = await ProxyFile.open(`${dir}/old.log`, {
      socketPath: `${dir}/old.sock`,
    });
    assert.equal(file.protocol, "0.x");
    file.write("x\n");
    await assert.rejects(
      file.flush({ durable: true }),
      /speaks the 0\.x protocol, which has no sync request/,
    );
    await file.flush(); // a plain flush still works
    await file.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--sync-interval syncs files that changed, without being asked", async () => {
  await using server = await startServer({ args: ["--sync-interval", "100"] });
  const path = `${server.dir}/periodic.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("one\n");
  await file.flush();
  await waitUntil(
    async () => {
      const snapshot = await serverStats(server.socketPath);
      return (snapshot.files[0]?.syncs ?? 0) >= 1;
    },
    "a periodic sync",
    5000,
  );
  // Nothing changed since: no more syncs.
  const syncs = (await serverStats(server.socketPath)).files[0]!.syncs;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await serverStats(server.socketPath)).files[0]!.syncs, syncs);
});

Deno.test("sync requests sent in a loop by a client that does not read are merged: one answer per sync, not per request", async () => {
  await using server = await startServer();
  const path = `${server.dir}/spam.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    const requests = 100_000;
    const bytes = new Uint8Array(4 * requests).fill(0xff);
    await writeAll(conn, new TextEncoder().encode(`offlog/1\0${path}\0`));
    await writeAll(conn, new Uint8Array([0, 0, 0, 3, 0x68, 0x69, 0x0a])); // "hi\n"
    await writeAll(conn, bytes);
    await conn.closeWrite();
    const messages = await readMessages(conn);
    const synced = messages.filter((m) => m.startsWith("SYNCED "));
    assert.ok(synced.length >= 1 && synced.length < 1000, `${synced.length} answers`);
    assert.equal(synced.at(-1), "SYNCED 3");
    assert.equal(messages.at(-1), "BYE");
    assert.equal(await Deno.readTextFile(path), "hi\n");
  } finally {
    conn.close();
  }
});
