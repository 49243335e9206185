import assert from "node:assert/strict";
import { Logger } from "../mod.ts";
import { startServer } from "./_server.ts";

Deno.test("Logger writes a WARNING record counting what a full queue dropped, once it drains", async () => {
  await using server = await startServer();
  const path = `${server.dir}/drops.log`;
  const logger = await Logger.open("app", path, {
    socketPath: server.socketPath,
    maxPendingBytes: 1000,
    stdoutLevel: null,
    stderrLevel: null,
    clock: () => 0,
  });
  // One synchronous burst: the pump cannot send before it ends, so the bound holds.
  for (let i = 0; i < 100; i++) logger.info("record %d %s", i, "x".repeat(50));
  await logger.flush();
  logger.info("after");
  await logger.close();
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  const kept = lines.filter((line) => line.includes(" record "));
  assert.ok(kept.length > 0 && kept.length < 100, `${kept.length} records kept`);
  assert.equal(lines.length, kept.length + 2);
  const dropped = 100 - kept.length;
  assert.match(
    lines.at(-2)!,
    new RegExp(
      `^\\[.* app WARNING\\] ${dropped} records \\(\\d+ bytes\\) were dropped: the queue was full$`,
    ),
  );
  assert.match(lines.at(-1)!, / app INFO\] after$/);
});
