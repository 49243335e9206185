// The flush-under-load scenario of issue 18 (requirement 1), shared by its test
// (tests/faults/flush_load_test.ts: the contract) and bench/writer_report.ts (the
// times): a program writes 20,000 lines per macrotask and, 200 ms in, calls flush().
// `kinds` opens each writer kind against a server's socket, from a client module (this
// tree's or a baseline's).

import assert from "node:assert/strict";

import type { getOfflogSink } from "../logtape.ts";
import type { LocalFile, Logger, LogRecord, ProxyFile } from "../mod.ts";

const LINES_PER_TURN = 20_000;
const FLUSH_AFTER_MS = 200;

/** A writer under test: writes line `i`, each line `lineBytes` long. */
export interface Subject {
  lineBytes: number;
  write(i: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const line = (i: number) => `line ${String(i).padStart(8, "0")} ${"x".repeat(40)}\n`;
const LINE_BYTES = line(0).length;

/** Opens one writer kind on `socketPath`, writing to `path`. */
export type Kind = (socketPath: string, path: string) => Promise<Subject>;

/** The client's names this scenario uses, from this tree's mod.ts or a baseline's. */
export interface ClientModule {
  ProxyFile: typeof ProxyFile;
  LocalFile: typeof LocalFile;
  Logger: typeof Logger;
  getOfflogSink: typeof getOfflogSink;
}

/** Every writer kind of requirement 1, by name. */
export function kinds(client: ClientModule): Record<string, Kind> {
  const { ProxyFile, LocalFile, Logger, getOfflogSink } = client;
  const proxy = (reconnect: boolean): Kind => async (socketPath, path) => {
    const file = await ProxyFile.open(path, { socketPath, reconnect });
    return {
      lineBytes: LINE_BYTES,
      write: (i) => file.write(line(i)),
      flush: () => file.flush(),
      close: () => file.close(),
    };
  };
  const logger = (localFile: boolean): Kind => async (socketPath, path) => {
    const log = await Logger.open("load", path, {
      socketPath,
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
  return {
    "ProxyFile": proxy(false),
    "ProxyFile with reconnect": proxy(true),
    "LocalFile": async (_socketPath, path) => {
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
    "the LogTape sink (drain)": async (socketPath, path) => {
      const file = await ProxyFile.open(path, { socketPath });
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
}

/**
 * One run: writes until 200 ms in, flushes, checks that everything written before
 * the call is in the file, and returns how long the flush took, in ms.
 */
export async function run(subject: Subject, path: string): Promise<number> {
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
