import assert from "node:assert/strict";
import {
  configure,
  drain,
  getJsonLinesFormatter,
  getLogger,
  type LoggerConfig,
  type LogRecord,
  reset,
} from "@logtape/logtape";
import { getOfflogSink, openOfflogSink } from "../logtape.ts";
import { LocalFile, ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";

/** LogTape's own warnings, e.g. about a meta logger, go nowhere. */
const META: LoggerConfig<string, string> = {
  category: ["logtape", "meta"],
  sinks: [],
  lowestLevel: "warning",
};

Deno.test("openOfflogSink() sends LogTape records through a real server, and reset() closes the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/logtape.log`;
  try {
    await configure({
      sinks: { offlog: await openOfflogSink(path, { socketPath: server.socketPath }) },
      loggers: [{ category: "app", lowestLevel: "info", sinks: ["offlog"] }, META],
    });
    const logger = getLogger(["app", "db"]);
    logger.debug("filtered out");
    logger.info("Hello {name}", { name: "world" });
    logger.error("failed after {ms} ms", { ms: 12 });
  } finally {
    await reset();
  }
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} .*\[INF\] app·db: Hello "world"$/,
  );
  assert.match(lines[1]!, /\[ERR\] app·db: failed after 12 ms$/);
});

Deno.test("getOfflogSink() uses the given formatter, drains with LogTape's drain(), and leaves a file it does not own open", async () => {
  await using server = await startServer();
  const path = `${server.dir}/json.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  try {
    await configure({
      sinks: {
        offlog: getOfflogSink(file, {
          formatter: getJsonLinesFormatter(),
          closeFile: false,
        }),
      },
      loggers: [{ category: "json", lowestLevel: "debug", sinks: ["offlog"] }, META],
    });
    for (let i = 0; i < 1000; i++) getLogger("json").debug("n={n}", { n: i });
    await drain();
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(lines.length, 1000);
    const last = JSON.parse(lines[999]!);
    assert.equal(last.message, "n=999");
    assert.equal(last.level, "DEBUG");
    assert.deepEqual(last.properties, { n: 999 });
  } finally {
    await reset();
  }
  file.write("still open\n");
  await file.flush();
  assert.match(await Deno.readTextFile(path), /still open\n$/);
});

Deno.test("getOfflogSink() appends one write per record to a LocalFile, and disposing closes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await LocalFile.open(`${dir}/local.log`);
    const sink = getOfflogSink(file, { formatter: (r: LogRecord) => `${r.level}\n` });
    const record: LogRecord = {
      category: ["x"],
      level: "warning",
      message: ["m"],
      rawMessage: "m",
      timestamp: 0,
      properties: {},
    };
    sink(record);
    sink(record);
    await sink.drain();
    assert.equal(await Deno.readTextFile(`${dir}/local.log`), "warning\nwarning\n");
    await sink[Symbol.asyncDispose]();
    assert.throws(() => sink(record), Deno.errors.BadResource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getOfflogSink() rejects something that is not an offlog file", () => {
  assert.throws(
    () => getOfflogSink({ write() {} } as unknown as ProxyFile),
    TypeError,
  );
});

Deno.test("openOfflogSink({ localFile: true }) passes the queue options on, onDrop included", async () => {
  const path = await Deno.makeTempFile();
  try {
    const drops: number[] = [];
    const sink = await openOfflogSink(path, {
      localFile: true,
      maxPendingBytes: 4,
      onDrop: (records) => drops.push(records),
      formatter: () => "too long for the bound\n",
    });
    sink({} as Parameters<typeof sink>[0]);
    await sink[Symbol.asyncDispose]();
    assert.deepEqual(drops, [1]);
    assert.equal(await Deno.readTextFile(path), "");
  } finally {
    await Deno.remove(path);
  }
});
