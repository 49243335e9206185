// flush() under continuous writes (issue 18, requirement 1): a program writes 20,000
// lines per macrotask and, 200 ms in, calls flush(). Each writer kind must resolve
// within 500 ms, in each of 20 runs, with everything written before the call in the
// file by then; what is written after the call must not hold it back.

import assert from "node:assert/strict";
import { getOfflogSink } from "../../logtape.ts";
import { LocalFile, Logger, type LogRecord, ProxyFile } from "../../mod.ts";
import { type RunningServer, startServer } from "../_server.ts";

const LINES_PER_TURN = 20_000;
const FLUSH_AFTER_MS = 200;
const LIMIT_MS = 500;
const RUNS = 20;

/** A writer under test: writes line `i`, each line `lineBytes` long. */
interface Subject {
  lineBytes: number;
  write(i: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const line = (i: number) => `line ${String(i).padStart(8, "0")} ${"x".repeat(40)}\n`;
const LINE_BYTES = line(0).length;

type Kind = (server: RunningServer, path: string) => Promise<Subject>;

function proxy(reconnect: boolean): Kind {
  return async (server, path) => {
    const file = await ProxyFile.open(path, { socketPath: server.socketPath, reconnect });
    return {
      lineBytes: LINE_BYTES,
      write: (i) => file.write(line(i)),
      flush: () => file.flush(),
      close: () => file.close(),
    };
  };
}

function logger(localFile: boolean): Kind {
  return async (server, path) => {
    const log = await Logger.open("load", path, {
      socketPath: server.socketPath,
      localFile,
      stdoutLevel: null,
      stderrLevel: null,
      clock: () => 0,
    });
    const record: LogRecord = {
      name: "load",
      level: 20,
      levelName: "INFO",
      message: `record ${"0".repeat(8)}`,
      time: 0,
      error: undefined,
    };
    return {
      lineBytes: log.format(record).length,
      write: (i) => log.info("record %s", String(i).padStart(8, "0")),
      flush: () => log.flush(),
      close: () => log.close(),
    };
  };
}

const kinds: Record<string, Kind> = {
  "ProxyFile": proxy(false),
  "ProxyFile with reconnect": proxy(true),
  "LocalFile": async (_server, path) => {
    const file = await LocalFile.open(path);
    return {
      lineBytes: LINE_BYTES,
      write: (i) => file.write(line(i)),
      flush: () => file.flush(),
      close: () => file.close(),
    };
  },
  "Logger": logger(false),
  "Logger with localFile": logger(true),
  "the LogTape sink (drain)": async (server, path) => {
    const file = await ProxyFile.open(path, { socketPath: server.socketPath });
    let next = "";
    const sink = getOfflogSink(file, { formatter: () => next });
    const record = {} as Parameters<typeof sink>[0];
    return {
      lineBytes: LINE_BYTES,
      write: (i) => {
        next = line(i);
        sink(record);
      },
      flush: () => sink.drain(),
      close: async () => await sink[Symbol.asyncDispose](),
    };
  },
};

/** One run: writes until 200 ms in, flushes, and returns how long the flush took. */
async function run(subject: Subject, path: string): Promise<number> {
  let written = 0;
  const turn = () => {
    const end = written + LINES_PER_TURN;
    while (written < end) subject.write(written++);
    timer = setTimeout(turn, 0);
  };
  let timer = setTimeout(turn, 0);
  let took: number;
  let before: number;
  try {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
    before = written;
    const started = performance.now();
    await subject.flush();
    took = performance.now() - started;
  } finally {
    clearTimeout(timer);
  }
  const size = (await Deno.stat(path)).size;
  assert.ok(
    size >= before * subject.lineBytes,
    `flush() resolved with ${size} bytes in the file, before ${
      before * subject.lineBytes
    }`,
  );
  return took;
}

for (const [name, open] of Object.entries(kinds)) {
  Deno.test(`flush() of a ${name} under 20,000 lines per macrotask resolves within 500 ms, ${RUNS} runs`, async () => {
    await using server = await startServer();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const path = `${server.dir}/load-${i}.log`;
      const subject = await open(server, path);
      try {
        times.push(await run(subject, path));
      } finally {
        await subject.close();
        await Deno.remove(path);
      }
    }
    const slow = times.filter((ms) => ms >= LIMIT_MS);
    assert.deepEqual(
      slow,
      [],
      `flush() times, ms: ${times.map((ms) => ms.toFixed(0)).join(", ")}`,
    );
  });
}
