// pino with a ProxyFile as its destination: pino calls write(string) once per log
// line, which is one offlog record. pino runs in child processes because it reads the
// host name and an environment variable when it loads.

import assert from "node:assert/strict";
import { type RunningServer, startServer } from "./_server.ts";
import { type ChildResult, spawnChild } from "./_child.ts";

const CHILD = new URL("./fixtures/pino_child.ts", import.meta.url).pathname;

/** What pino itself needs when it loads, and the client's socket permissions. */
function flags(server: RunningServer): string[] {
  return [
    "--no-prompt",
    "--allow-env=NODE_V8_COVERAGE",
    "--allow-sys=hostname",
    `--allow-read=${server.socketPath}`,
    `--allow-write=${server.socketPath}`,
    `--allow-net=unix:${server.socketPath}`,
  ];
}

interface PinoLine {
  level: number;
  pid: number;
  msg: string;
  i?: number;
  err?: { type: string; message: string; stack: string };
}

/** The file's lines, each parsed as JSON. */
async function readLines(path: string): Promise<PinoLine[]> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "", "the file ends with a newline");
  return lines.map((line) => JSON.parse(line) as PinoLine);
}

/** Asserts that `lines` hold each of `pid`'s records once, in order, then its error. */
function assertAllRecords(
  lines: PinoLine[],
  pid: number,
  records: number,
  result: ChildResult,
) {
  const own = lines.filter((line) => line.pid === pid);
  const context = `exit ${result.code}, stderr:\n${result.stderr}`;
  assert.equal(own.length, records + 1, `records of ${pid}; ${context}`);
  for (let i = 0; i < records; i++) {
    if (own[i]!.i !== i || own[i]!.msg !== `record ${i}`) {
      assert.fail(`record ${i} of ${pid} is ${JSON.stringify(own[i])}; ${context}`);
    }
  }
  const error = own[records]!;
  assert.equal(error.level, 50);
  assert.equal(error.msg, "failed");
  assert.equal(error.err?.message, "boom: the cause");
  assert.match(error.err?.stack ?? "", /^Error: boom\n {4}at .*pino_child\.ts/);
}

Deno.test("pino(ProxyFile): every record reaches the file when the program ends without close()", async () => {
  await using server = await startServer();
  const path = `${server.dir}/pino.log`;
  const RECORDS = 20_000;
  const child = spawnChild(
    CHILD,
    [server.socketPath, path, String(RECORDS)],
    flags(server),
  );
  const result = await child.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const lines = await readLines(path);
  assert.equal(lines.length, RECORDS + 1);
  assertAllRecords(lines, child.process.pid, RECORDS, result);
});

Deno.test("pino(ProxyFile): lines of several programs logging into one file stay whole", async () => {
  await using server = await startServer();
  const path = `${server.dir}/shared.log`;
  const RECORDS = 5_000;
  const children = Array.from(
    { length: 3 },
    () => spawnChild(CHILD, [server.socketPath, path, String(RECORDS)], flags(server)),
  );
  const results = await Promise.all(children.map((child) => child.exited()));
  // Each line parses as JSON: no line was cut or mixed with another.
  const lines = await readLines(path);
  assert.equal(lines.length, 3 * (RECORDS + 1));
  children.forEach((child, n) => {
    assert.equal(results[n]!.code, 0, results[n]!.stderr);
    assertAllRecords(lines, child.process.pid, RECORDS, results[n]!);
  });
});

Deno.test("pino's logger.flush(callback) through a ProxyFile calls back once the lines are in the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/flush.log`;
  const { ProxyFile } = await import("../mod.ts");
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  // What pino's flush(cb) does with its destination: destination.flush(cb).
  for (let i = 0; i < 1000; i++) file.write(`{"i":${i}}\n`);
  const error = await new Promise<Error | null>((resolve) => file.flush(resolve));
  assert.equal(error, null);
  assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, 1000);
});
