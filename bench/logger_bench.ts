// What `logger.info("... %s %d", s, n)` costs the caller, with the file as the only
// output (stdoutLevel and stderrLevel null), through a real offlog server running as
// a child process; and what `Logger.format()` alone costs.
//
// Each iteration of the logger benches logs BATCH records inside b.start()/b.end(),
// then waits, untimed, until the server has written them, so that no queue grows
// across iterations: read µs/iter as ns per record.
//
//   deno task bench          or          deno bench -A bench/logger_bench.ts

import { Logger, type LogRecord } from "../mod.ts";
import { startServer } from "../tests/_server.ts";

const BATCH = 1000;

const server = await startServer();
addEventListener("unload", () => {
  // deno bench has no "after all" hook: stop the server and remove its directory.
  try {
    server.process.kill("SIGKILL");
  } catch {
    // exited already
  }
  try {
    Deno.removeSync(server.dir, { recursive: true });
  } catch {
    // removed already
  }
});

const options = {
  socketPath: server.socketPath,
  stdoutLevel: null,
  stderrLevel: null,
} as const;
const logger = await Logger.open("bench", `${server.dir}/logger.log`, options);
const userIds = Array.from({ length: BATCH }, (_, i) => `user-${i.toString(36)}`);

Deno.bench({
  name: `logger.info("... %s %d", s, n) x${BATCH}, file only, real server`,
  group: "logger",
  baseline: true,
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) {
      logger.info("request from %s took %d ms", userIds[i], i);
    }
    b.end();
    await logger.flush();
  },
});

Deno.bench({
  name: `logger.info("... constant") x${BATCH}, file only, real server`,
  group: "logger",
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) logger.info("request done");
    b.end();
    await logger.flush();
  },
});

Deno.bench({
  name: `logger.debug() x${BATCH} below every level (filtered out)`,
  group: "logger",
  async fn(b) {
    await using filtered = await Logger.open(null, null, options);
    b.start();
    for (let i = 0; i < BATCH; i++) {
      filtered.debug("request from %s took %d ms", userIds[i], i);
    }
    b.end();
  },
});

const record: LogRecord = {
  name: "bench",
  level: 20,
  levelName: "INFO",
  message: "request from user-1 took 7 ms",
  time: Date.now(),
  error: undefined,
};
const formatter = await Logger.open("bench", null, options);

Deno.bench({
  name: `Logger.format() x${BATCH} alone`,
  group: "format",
  fn() {
    for (let i = 0; i < BATCH; i++) {
      record.time++;
      formatter.format(record);
    }
  },
});
