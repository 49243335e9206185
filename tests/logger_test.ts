import assert from "node:assert/strict";
import {
  CRITICAL,
  DEBUG,
  ERROR,
  INFO,
  levelName,
  Logger,
  type LoggerFile,
  type LoggerOptions,
  type LogRecord,
  OfflogConnectionError,
  WARNING,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { spawnChild } from "./_child.ts";

const CHILD = new URL("./fixtures/logger_child.ts", import.meta.url).pathname;
/** 2023-07-03 10:12:54.796 in local time, as in the seed's example. */
const SEED_TIME = new Date(2023, 6, 3, 10, 12, 54, 796).getTime();
const clock = () => SEED_TIME;
const quiet = { stdoutLevel: null, stderrLevel: null, clock } as const;

/** Levels whose record "at <level>" appears in `text`. */
function levelsIn(text: string): number[] {
  return [...text.matchAll(/\] at (\d+)\n/g)].map((m) => Number(m[1]));
}

/** Runs the logger child with `options`; returns the levels on each output. */
async function route(options: LoggerOptions, file = true) {
  const dir = await Deno.makeTempDir();
  try {
    const path = file ? `${dir}/route.log` : "";
    const result = await spawnChild(CHILD, [path, JSON.stringify(options)], [
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
    ]).exited();
    assert.equal(result.code, 0, result.stderr);
    let fileText: string | null = null;
    try {
      fileText = await Deno.readTextFile(`${dir}/route.log`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return {
      stdout: levelsIn(result.stdout),
      stderr: levelsIn(result.stderr),
      file: fileText === null ? null : levelsIn(fileText),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("levels are numbered as Python's logging numbers them", () => {
  assert.deepEqual([DEBUG, INFO, WARNING, ERROR, CRITICAL], [10, 20, 30, 40, 50]);
  assert.deepEqual(
    [10, 20, 30, 40, 50, 25].map(levelName),
    ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "Level 25"],
  );
});

Deno.test("Logger routes by default DEBUG and up to the file, INFO up to WARNING to stdout, WARNING and up to stderr", async () => {
  assert.deepEqual(await route({}), {
    file: [10, 20, 25, 30, 40, 50],
    stdout: [20, 25],
    stderr: [30, 40, 50],
  });
});

Deno.test("Logger sends records at fileLevel and up to the file", async () => {
  const { file } = await route({ fileLevel: ERROR });
  assert.deepEqual(file, [40, 50]);
});

Deno.test("Logger sends stdoutLevel up to but not including stderrLevel to stdout", async () => {
  assert.deepEqual(await route({ stdoutLevel: DEBUG, stderrLevel: ERROR }), {
    file: [10, 20, 25, 30, 40, 50],
    stdout: [10, 20, 25, 30],
    stderr: [40, 50],
  });
});

Deno.test("Logger sends stdoutLevel and up to stdout with no upper bound when stderrLevel is null", async () => {
  const { stdout, stderr } = await route({ stderrLevel: null });
  assert.deepEqual(stdout, [20, 25, 30, 40, 50]);
  assert.deepEqual(stderr, []);
});

Deno.test("Logger writes nothing to stdout when stdoutLevel is null", async () => {
  const { stdout, stderr } = await route({ stdoutLevel: null });
  assert.deepEqual(stdout, []);
  assert.deepEqual(stderr, [30, 40, 50]);
});

Deno.test("Logger sends stderrLevel and up to stderr only, even when stdoutLevel is higher", async () => {
  const { stdout, stderr } = await route({ stdoutLevel: ERROR, stderrLevel: INFO });
  assert.deepEqual(stdout, []);
  assert.deepEqual(stderr, [20, 25, 30, 40, 50]);
});

Deno.test("Logger opens no file when fileLevel is null or filepath is null", async () => {
  assert.equal((await route({ fileLevel: null })).file, null);
  const { file, stdout } = await route({}, false);
  assert.equal(file, null);
  assert.deepEqual(stdout, [20, 25]);
});

Deno.test("Logger.format() writes [YYYY-MM-DD HH:MM:SS.mmm name LEVEL] message, in local time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using named = await Logger.open("my app", `${dir}/a.log`, {
      ...quiet,
      localFile: true,
    });
    named.info("Hello world, params are %s %d", "foo", 7);
    named.log(25, "custom");
    await using unnamed = await Logger.open(null, `${dir}/b.log`, {
      ...quiet,
      localFile: true,
    });
    unnamed.warning("no name");
    await named.close();
    await unnamed.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/a.log`),
      "[2023-07-03 10:12:54.796 my app INFO] Hello world, params are foo 7\n" +
        "[2023-07-03 10:12:54.796 my app Level 25] custom\n",
    );
    assert.equal(
      await Deno.readTextFile(`${dir}/b.log`),
      "[2023-07-03 10:12:54.796 WARNING] no name\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A logger whose "file" is an array of the records' text. */
class MemoryLogger extends Logger {
  lines: string[];
  private constructor(name: string | null, lines: string[]) {
    const file: LoggerFile = {
      write: (text) => void lines.push(text),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    super(name, file, quiet);
    this.lines = lines;
  }
  static create(name: string | null): MemoryLogger {
    return new MemoryLogger(name, []);
  }
}

Deno.test("Logger formats printf-style arguments with node:util format", () => {
  const logger = MemoryLogger.create("app");
  logger.info("%s %d %i %f %j %o %%", "s", 7, 3.9, 1.5, { a: 1 }, [1]);
  logger.info("no args keeps %s and %%");
  logger.info("extra", "args", 1);
  assert.deepEqual(logger.lines, [
    '[2023-07-03 10:12:54.796 app INFO] s 7 3 1.5 {"a":1} [ 1, [length]: 1 ] %\n',
    "[2023-07-03 10:12:54.796 app INFO] no args keeps %s and %%\n",
    "[2023-07-03 10:12:54.796 app INFO] extra args 1\n",
  ]);
});

Deno.test("Logger.exception() follows the message with the error's stack and its cause chain", () => {
  const logger = MemoryLogger.create("my app");
  const root = new RangeError("Division by zero");
  const error = new Error("Got an error", { cause: root });
  logger.exception("Failed %s", "here", error);
  const [text] = logger.lines;
  assert.equal(
    text,
    "[2023-07-03 10:12:54.796 my app ERROR] Failed here\n" +
      `${error.stack}\nCaused by: ${root.stack}\n`,
  );
  assert.match(text!, /\n {4}at .*logger_test\.ts:\d+:\d+/);
});

Deno.test("Logger takes a last Error argument not used by a placeholder as the record's error", () => {
  const logger = MemoryLogger.create(null);
  const error = new TypeError("bad");
  logger.error("failed", error);
  logger.warning("failed: %s", "x", error);
  logger.info("as text: %s", error.message);
  logger.exception("a thrown string", "oops");
  assert.equal(
    logger.lines[0],
    `[2023-07-03 10:12:54.796 ERROR] failed\n${error.stack}\n`,
  );
  assert.equal(
    logger.lines[1],
    `[2023-07-03 10:12:54.796 WARNING] failed: x\n${error.stack}\n`,
  );
  assert.equal(logger.lines[2], "[2023-07-03 10:12:54.796 INFO] as text: bad\n");
  assert.equal(
    logger.lines[3],
    `[2023-07-03 10:12:54.796 ERROR] a thrown string\n"oops"\n`,
  );
});

Deno.test("Logger.format() can be overridden to write JSON lines", async () => {
  class JsonLogger extends Logger {
    override format(record: LogRecord): string {
      return JSON.stringify({
        time: record.time,
        name: record.name,
        level: record.levelName,
        msg: record.message,
      }) + "\n";
    }
  }
  const dir = await Deno.makeTempDir();
  try {
    const logger = await JsonLogger.open("api", `${dir}/json.log`, {
      ...quiet,
      localFile: true,
    });
    assert.ok(logger instanceof JsonLogger);
    logger.info("user %s", "ada");
    await logger.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/json.log`),
      `{"time":${SEED_TIME},"name":"api","level":"INFO","msg":"user ada"}\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger with localFile: true appends without a server and without waiting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/local.log`;
    await using logger = await Logger.open("local", path, {
      ...quiet,
      localFile: true,
      socketPath: `${dir}/no-server.sock`,
    });
    for (let i = 0; i < 1000; i++) logger.info("record %d", i);
    // Read without awaiting: an await would let the pump write in the meantime.
    assert.equal(Deno.readTextFileSync(path), "", "nothing is written synchronously");
    await logger.flush();
    assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger.open() sends the file's records through a real server", async () => {
  await using server = await startServer();
  const path = `${server.dir}/served.log`;
  await using logger = await Logger.open("served", path, {
    ...quiet,
    socketPath: server.socketPath,
  });
  logger.debug("one");
  logger.critical("two");
  await logger.flush();
  assert.equal(
    await Deno.readTextFile(path),
    "[2023-07-03 10:12:54.796 served DEBUG] one\n" +
      "[2023-07-03 10:12:54.796 served CRITICAL] two\n",
  );
});

Deno.test("Logger.open() throws OfflogConnectionError when no server listens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      Logger.open("x", `${dir}/x.log`, { socketPath: `${dir}/none.sock`, timeout: 500 }),
      OfflogConnectionError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger.close() is idempotent, and await using closes the logger", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let outer: Logger;
    {
      await using logger = await Logger.open("x", `${dir}/x.log`, {
        ...quiet,
        localFile: true,
      });
      outer = logger;
      logger.info("in the block");
    }
    assert.throws(() => outer.info("after"), Deno.errors.BadResource);
    await outer.close();
    await outer.close();
    assert.match(await Deno.readTextFile(`${dir}/x.log`), /in the block\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger.log() rejects a level that is not a number", () => {
  const logger = MemoryLogger.create(null);
  assert.throws(() => logger.log("INFO" as unknown as number, "x"), TypeError);
  // A numeric string compares as a number: checked before the threshold, it is refused
  // rather than logged as CRITICAL.
  assert.throws(() => logger.log("50" as unknown as number, "x"), TypeError);
  assert.deepEqual(logger.lines, []);
});

Deno.test("Logger.open() rejects a level option that is neither a number nor null", async () => {
  await assert.rejects(
    Logger.open(null, null, { stdoutLevel: "INFO" as unknown as number }),
    TypeError,
  );
});

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
