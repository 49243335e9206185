// Exit safety by construction (issue 18, requirement 2): 30 programs write 1 to
// 100,000 lines (strings, byte arrays, Logger) and end without close(), while both
// cores are busy and another client floods the same server. Every line of every
// program must be in its file, once, in order.

import assert from "node:assert/strict";
import { spawnChild } from "../_child.ts";
import { startServer } from "../_server.ts";

const PROGRAM = new URL("../fixtures/exit_lines.ts", import.meta.url).pathname;
const KINDS = ["string", "bytes", "logger"] as const;
/** 30 counts from 1 to 100,000, spread evenly on a log scale. */
const COUNTS = Array.from({ length: 30 }, (_, i) => Math.round(100_000 ** (i / 29)));
const AT_ONCE = 3;

Deno.test("exit safety: 30 programs of 1 to 100,000 lines that end without close() lose nothing, with both cores busy and a flooding client", async () => {
  await using server = await startServer();
  const flags = [
    `--allow-read=${server.dir}`,
    `--allow-write=${server.dir}`,
    `--allow-net=unix:${server.socketPath}`,
  ];
  const spin = new Deno.Command(Deno.execPath(), {
    args: ["eval", "for (;;) {}"],
    stdout: "null",
    stderr: "null",
  });
  const busy = [spin.spawn(), spin.spawn()];
  const flood = spawnChild(PROGRAM, [
    server.socketPath,
    `${server.dir}/flood.log`,
    "flood",
    "0",
  ], flags);
  try {
    await flood.waitFor("flooding");
    const runs = COUNTS.map((count, i) => ({ count, kind: KINDS[i % 3]!, i }));
    for (let start = 0; start < runs.length; start += AT_ONCE) {
      await Promise.all(
        runs.slice(start, start + AT_ONCE).map(async (run) => {
          const path = `${server.dir}/program-${run.i}.log`;
          const child = spawnChild(
            PROGRAM,
            [server.socketPath, path, run.kind, String(run.count)],
            flags,
          );
          const result = await child.exited(60_000);
          const context =
            `${run.kind} x ${run.count}: exit ${result.code}, ${result.stderr}`;
          assert.equal(result.code, 0, context);
          assert.equal(result.stderr, "", context);
          const lines = (await Deno.readTextFile(path)).split("\n");
          assert.equal(lines.pop(), "", `the file ends with a newline; ${context}`);
          assert.equal(lines.length, run.count, `lines in the file; ${context}`);
          lines.forEach((line, n) => {
            if (!line.endsWith(`line ${n}`)) {
              assert.fail(`line ${n} is ${JSON.stringify(line)}; ${context}`);
            }
          });
        }),
      );
    }
  } finally {
    flood.process.kill("SIGKILL");
    await flood.exited().catch(() => {});
    for (const child of busy) {
      child.kill("SIGKILL");
      await child.status;
    }
  }
});
