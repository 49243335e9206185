// The server's lifecycle under signals: SIGTERM with data in flight, for offlog/1 and
// 0.x clients. (SIGINT: cli_test.ts; SIGTERM under load: reliability_load_test.ts.)

import assert from "node:assert/strict";
import { ProxyFile } from "../../mod.ts";
import {
  logMessages,
  readMessageTexts,
  readUntilClosed,
  startServer,
} from "../_server.ts";
import { writeAll } from "../_raw.ts";
import { checkRecords, record } from "../_records.ts";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const encoder = new TextEncoder();

Deno.test("server exits 0 on SIGTERM with data in flight: socket removed, client told, every acknowledged record kept whole", async () => {
  await using server = await startServer();
  const path = `${server.dir}/inflight.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  let i = 0;
  for (; i < 5000; i++) file.write(record(0, i, 1 + (i % 4), 60));
  await file.flush();
  const acknowledged = i;
  assert.equal(checkRecords(await Deno.readTextFile(path), 1)[0], acknowledged);
  let thrown: unknown;
  let status: Promise<Deno.CommandStatus> | null = null;
  try {
    // Keep streaming; the signal arrives while records are on their way.
    for (let burst = 0; burst < 2000; burst++) {
      for (let k = 0; k < 200; k++, i++) file.write(record(0, i, 1 + (i % 4), 60));
      if (burst === 5) status = server.stop("SIGTERM");
      await delay(1);
    }
    await file.close();
  } catch (error) {
    thrown = error;
  }
  assert.ok(status !== null);
  assert.equal((await status).code, 0);
  assert.ok(thrown instanceof Error, "a later write() or close() throws");
  assert.match(thrown.message, /offlog server exited/);
  await file.close(); // already thrown: resolves
  await assert.rejects(Deno.lstat(server.socketPath), Deno.errors.NotFound);
  const written = checkRecords(await Deno.readTextFile(path), 1)[0]!;
  assert.ok(written >= acknowledged, `${written} < ${acknowledged} acknowledged records`);
  const log = logMessages(server.stdout());
  assert.ok(log.includes("Shutting down") && log.includes("Exiting"), log.join("\n"));
  assert.ok(log.includes(`Closed ${path}`));
});

Deno.test("server tells a 0.x client 'OSError: offlog server exited' on SIGTERM, and writes what it sent", async () => {
  await using server = await startServer();
  const path = `${server.dir}/exited.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`${path}\0`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
    const sent = Array.from({ length: 2000 }, (_, i) => `0x line ${i}\n`).join("");
    await writeAll(conn, encoder.encode(sent));
    const status = server.stop("SIGTERM");
    assert.deepEqual(await readMessageTexts(conn, 1), ["OSError: offlog server exited"]);
    // As a Python client does on that error: stop sending.
    await conn.closeWrite();
    const rest = await readUntilClosed(conn);
    assert.equal(rest.text, "", "no BYE after the server said it exits");
    assert.ok(rest.closed);
    assert.equal((await status).code, 0);
    assert.equal(await Deno.readTextFile(path), sent);
  } finally {
    conn.close();
  }
});
