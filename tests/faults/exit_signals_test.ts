// Exit safety under signals (client/exit_safety.ts): SIGINT and SIGTERM to a client
// process with records queued, with handling off, and with the server gone.

import assert from "node:assert/strict";

import { type RunningServer, startServer } from "../_server.ts";

import { type Child, type ChildResult, spawnChild } from "../_child.ts";

const CHILD = new URL("../fixtures/exit_child.ts", import.meta.url).pathname;

const RECORDS = 50_000;

type Writer = "proxy" | "logger" | "local";

/** Runs the child with the permissions a client needs and no more. */
function child(
  server: RunningServer,
  path: string,
  writer: Writer,
  mode: string,
  timeout = 5000,
): Child {
  return spawnChild(CHILD, [server.socketPath, path, writer, mode, String(timeout)], [
    `--allow-read=${server.dir}`,
    `--allow-write=${server.dir}`,
    `--allow-net=unix:${server.socketPath}`,
  ]);
}

/** Asserts that the file holds records 0 to RECORDS - 1, each once, in order. */
async function assertAllRecords(path: string, result: ChildResult): Promise<void> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "", "the file ends with a newline");
  const context = `exit ${result.code}, stderr:\n${result.stderr}`;
  assert.equal(lines.length, RECORDS, `records in the file; ${context}`);
  for (let i = 0; i < RECORDS; i++) {
    if (!lines[i]!.endsWith(`record ${i}`)) {
      assert.fail(`line ${i} is ${JSON.stringify(lines[i])}; ${context}`);
    }
  }
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  for (const writer of ["proxy", "local"] as const) {
    Deno.test(`exit safety: ${signal} to a ${writer} client writes every record, then exits with ${code}`, async () => {
      await using server = await startServer();
      const path = `${server.dir}/child.log`;
      const client = child(server, path, writer, "signal");
      await client.waitFor("ready");
      client.process.kill(signal);
      const result = await client.exited();
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.signal, null);
      assert.equal(result.stderr, "");
      await assertAllRecords(path, result);
    });
  }
}

Deno.test("exit safety: setExitHandling({ handleSignals: false }) leaves SIGINT to Deno", async () => {
  await using server = await startServer();
  const client = child(server, `${server.dir}/child.log`, "proxy", "nosignals");
  await client.waitFor("ready");
  client.process.kill("SIGINT");
  const result = await client.exited();
  assert.equal(result.signal, "SIGINT");
  assert.equal(result.code, 130);
});

Deno.test("exit safety: waiting on a stopped server at SIGTERM is bounded by the timeout", async () => {
  await using server = await startServer();
  const path = `${server.dir}/child.log`;
  const client = child(server, path, "proxy", "signal-go", 1000);
  try {
    await client.waitFor("opened");
    server.process.kill("SIGSTOP");
    await client.send("go");
    await client.waitFor("ready");
    const signalled = performance.now();
    client.process.kill("SIGTERM");
    const result = await client.exited();
    const waited = performance.now() - signalled;
    assert.equal(result.code, 143, result.stderr);
    assert.ok(waited >= 900 && waited < 4000, `waited ${waited} ms`);
    assert.match(
      result.stderr,
      /^offlog: cannot flush ".*child\.log": Timed out after 1000 ms/,
    );
    assert.match(
      result.stderr,
      /\nofflog: lost \d+ bytes in \d+ records for ".*child\.log"/,
    );
  } finally {
    server.process.kill("SIGCONT");
  }
});
