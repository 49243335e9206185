import assert from "node:assert/strict";

import { flushAll, LocalFile, Logger, ProxyFile, setExitHandling } from "../mod.ts";

import { listening } from "../client/writer/registry.ts";

import { startServer } from "./_server.ts";

import { assertAllRecords, child, RECORDS, type Writer } from "./_exit_child.ts";

/** Runs a child that ends by itself, and returns how. */
async function run(writer: Writer, mode: string) {
  await using server = await startServer();
  const path = `${server.dir}/child.log`;
  const result = await child(server, path, writer, mode).exited();
  await assertAllRecords(path, result);
  return result;
}

for (const writer of ["proxy", "logger", "local"] as const) {
  Deno.test(`exit safety: every record of a ${writer} reaches the file when the main module ends without close()`, async () => {
    const result = await run(writer, "end");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /ready/);
    assert.ok(result.ms < 5000, `exited after ${result.ms} ms`);
  });
}

Deno.test("exit safety: an uncaught top-level exception is printed, every record is written, exit code 1", async () => {
  const result = await run("proxy", "throw");
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: Uncaught \(in promise\) Error: boom from the child\n/,
  );
  assert.match(result.stderr, /\n {4}at boom \(file:\/\/.*exit_child\.ts:\d+:\d+\)\n/);
  assert.match(result.stderr, /\nCaused by: TypeError: the cause\n/);
  assert.doesNotMatch(result.stdout, /ready/);
});

Deno.test("exit safety: an unhandled rejection is printed, every record is written, exit code 1", async () => {
  const result = await run("logger", "reject");
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: Uncaught \(in promise\) Error: rejected in the child\n/,
  );
  assert.match(result.stderr, /exit_child\.ts:\d+:\d+/);
});

Deno.test("exit safety: an exception thrown in a setTimeout callback is printed, every record is written, exit code 1", async () => {
  const result = await run("proxy", "callback");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: Uncaught Error: boom from the child\n/);
  assert.match(result.stderr, /\nCaused by: TypeError: the cause\n/);
});

Deno.test("exit safety: a rejection that the program's own listener handles does not end it", async () => {
  const result = await run("proxy", "handled");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /handled handled in the child/);
  assert.equal(result.stderr, "");
});

Deno.test("exit safety: Deno.exit() with records queued reports on stderr what is lost", async () => {
  await using server = await startServer();
  const path = `${server.dir}/child.log`;
  const result = await child(server, path, "proxy", "exit").exited();
  assert.equal(result.code, 0);
  const lost = result.stderr.match(
    /^offlog: lost (\d+) bytes in (\d+) records for "(.*)": the process exited before they were written \(await flushAll\(\) before Deno\.exit\(\)\)\n$/,
  );
  assert.ok(lost, result.stderr);
  assert.equal(lost[3], path);
  const written = (await Deno.readTextFile(path)).split("\n").length - 1;
  assert.equal(Number(lost[2]) + written, RECORDS);
  assert.ok(Number(lost[1]) >= Number(lost[2]) * "record 0\n".length);
});

Deno.test("exit safety: await flushAll() before Deno.exit() loses nothing", async () => {
  for (const writer of ["proxy", "logger", "local"] as const) {
    await using server = await startServer();
    const path = `${server.dir}/child.log`;
    const result = await child(server, path, writer, "flush-exit").exited();
    assert.equal(result.code, 0);
    assert.equal(result.stderr, "");
    await assertAllRecords(path, result);
  }
});

Deno.test("exit safety: once everything is closed, no listener is left and SIGINT kills as without offlog", async () => {
  await using server = await startServer();
  const client = child(server, `${server.dir}/child.log`, "logger", "closed");
  await client.waitFor("ready");
  assert.match(client.stdout(), /\{"process":false,"signals":false\}/);
  client.process.kill("SIGINT");
  const result = await client.exited();
  assert.equal(result.signal, "SIGINT");
  await assertAllRecords(`${server.dir}/child.log`, result);
});

Deno.test("flushAll() flushes every open ProxyFile, Logger and LocalFile", async () => {
  await using server = await startServer();
  const socketPath = server.socketPath;
  await using proxy = await ProxyFile.open(`${server.dir}/proxy.log`, { socketPath });
  await using logger = await Logger.open(null, `${server.dir}/logger.log`, {
    socketPath,
    stdoutLevel: null,
    stderrLevel: null,
    clock: () => 0,
  });
  await using local = await LocalFile.open(`${server.dir}/local.log`);
  for (let i = 0; i < 1000; i++) {
    proxy.write(`p${i}\n`);
    logger.info("l%d", i);
    local.write(`f${i}\n`);
  }
  await flushAll();
  const lines = async (name: string) =>
    (await Deno.readTextFile(`${server.dir}/${name}.log`)).split("\n").length - 1;
  assert.equal(await lines("proxy"), 1000);
  assert.equal(await lines("logger"), 1000);
  assert.equal(await lines("local"), 1000);
});

Deno.test("flushAll() rejects with an AggregateError naming the files that failed", async () => {
  await using server = await startServer();
  const path = `${server.dir}/stopped.log`;
  const file = await ProxyFile.open(path, {
    socketPath: server.socketPath,
    timeout: 300,
  });
  server.process.kill("SIGSTOP");
  try {
    for (let i = 0; i < 64; i++) file.write("x".repeat(64 * 1024) + "\n");
    await assert.rejects(flushAll(), (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.equal(error.errors.length, 1);
      assert.ok(error.errors[0] instanceof Deno.errors.TimedOut);
      assert.match(error.message, /^Cannot flush 1 of 1 offlog files: ".*stopped\.log"$/);
      return true;
    });
  } finally {
    server.process.kill("SIGCONT");
    await file.close();
  }
  assert.equal((await Deno.readTextFile(path)).length, 64 * (64 * 1024 + 1));
});

Deno.test("exit safety: listeners are installed with the first open file and removed with the last", async () => {
  assert.deepEqual(listening(), { process: false, signals: false });
  const dir = await Deno.makeTempDir();
  try {
    const a = await LocalFile.open(`${dir}/a.log`);
    assert.deepEqual(listening(), { process: true, signals: true });
    const b = await LocalFile.open(`${dir}/b.log`);
    assert.deepEqual(setExitHandling({ handleSignals: false }), { handleSignals: false });
    assert.deepEqual(listening(), { process: true, signals: false });
    assert.deepEqual(setExitHandling({ handleSignals: true }), { handleSignals: true });
    assert.deepEqual(listening(), { process: true, signals: true });
    await a.close();
    assert.deepEqual(listening(), { process: true, signals: true });
    await b.close();
    assert.deepEqual(listening(), { process: false, signals: false });
    assert.deepEqual(setExitHandling({}), { handleSignals: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setExitHandling() rejects a handleSignals that is not a boolean", () => {
  assert.throws(
    () => setExitHandling({ handleSignals: "no" as unknown as boolean }),
    TypeError,
  );
});
