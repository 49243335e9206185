// flush() under continuous writes (issue 18, requirement 1): a program writes 20,000
// lines per macrotask and, 200 ms in, calls flush(). Every writer kind must resolve
// with everything written before the call in the file, whatever is written after it,
// and never wait for the queue to run dry. How long it takes is a benchmark's figure
// (bench/writer_report.ts, BENCHMARKS.md), not a timed test's on a shared machine; a
// run here may take at most 10 s.

import assert from "node:assert/strict";
import { getOfflogSink } from "../../logtape.ts";
import { LocalFile, Logger, ProxyFile } from "../../mod.ts";
import { kinds, run } from "../../bench/_flush_load.ts";
import { startServer } from "../_server.ts";

const RUNS = 5;
const HANG_MS = 10_000;

for (
  const [name, open] of Object.entries(
    kinds({ ProxyFile, LocalFile, Logger, getOfflogSink }),
  )
) {
  Deno.test(`flush() of a ${name} under 20,000 lines per macrotask resolves for what was written before it`, async () => {
    await using server = await startServer();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const path = `${server.dir}/load-${i}.log`;
      const subject = await open(server.socketPath, path);
      try {
        times.push(await run(subject, path));
      } finally {
        await subject.close();
        await Deno.remove(path);
      }
    }
    const text = `flush() times, ms: ${times.map((ms) => ms.toFixed(0)).join(", ")}`;
    assert.ok(Math.max(...times) < HANG_MS, text);
  });
}
