// Exit safety under signals (client/exit_safety.ts): SIGINT and SIGTERM to a client
// process with records queued, with handling off, and with the server gone.

import assert from "node:assert/strict";

import { startServer } from "../_server.ts";

import { assertAllRecords, child } from "../_exit_child.ts";

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
