// Per-call cost of getting one 100-byte line off the hot path: ProxyFile.write()
// against the plain and the popular alternatives, in one `deno bench` run.
//
// Every bench writes BATCH lines per iteration inside `b.start()`/`b.end()`, then
// waits, untimed, until what it wrote is off its queue, so no queue grows across
// iterations. deno bench reports the time of one iteration: read µs/iter as
// ns per line (and ms/iter as µs per line).
//
//   deno task bench        (this file, then bench/e2e.ts)
//
// The server runs in this process (serve() from server.ts); only write() is timed,
// and the pump, the socket and the server work in the untimed part.

import pino from "pino";
import { configure, getLogger, getTextFormatter } from "@logtape/logtape";
import { getFileSink } from "@logtape/file";
import { ProxyFile } from "../mod.ts";
import { serve } from "../server.ts";
import { BATCH, LINE_BYTES, makeLine } from "./_lines.ts";

// deno bench has no "after all" hook: the server, the clients and the loggers live
// until the process ends, which closes their sockets and files; then "unload" removes
// the directory with the socket and the log files.
const dir = await Deno.makeTempDir({ prefix: "offlog_bench_" });
addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // removed already
  }
});

const socketPath = `${dir}/offlog.sock`;
await serve({ socketPath, quiet: true, allowDevices: true });
const encoder = new TextEncoder();

// 1000 distinct 100-byte lines, as strings and as bytes; each iteration writes them
// all once.
const strings = Array.from({ length: BATCH }, (_, i) => makeLine(0, i));
const bytes = strings.map((line) => encoder.encode(line));
// The same text without its newline, for loggers that add their own.
const messages = strings.map((line) => line.slice(0, -1));

const proxyString = await ProxyFile.open(`${dir}/proxy_string.log`, { socketPath });
const proxyBytes = await ProxyFile.open(`${dir}/proxy_bytes.log`, { socketPath });
// Growth rows: the server appends to /dev/null so that gigabytes pass without disk.
const proxyQueued1 = await ProxyFile.open("/dev/null", { socketPath });
const proxyQueued100 = await ProxyFile.open("/dev/null", { socketPath });
const plain = Deno.openSync(`${dir}/plain.log`, { append: true, create: true });

const pinoDest = pino.destination({ dest: `${dir}/pino.log`, sync: false });
await new Promise<void>((resolve) => pinoDest.once("ready", () => resolve()));
const pinoLogger = pino({ base: null }, pinoDest);

// LogTape: its sink gives no way to wait for its buffer, so count what its formatter
// produced (ASCII, so characters are bytes) and wait for the file to reach it.
const logtapePath = `${dir}/logtape.log`;
const textFormatter = getTextFormatter();
let logtapeProduced = 0;
const logtapeSink = getFileSink(logtapePath, {
  nonBlocking: true,
  formatter: (record) => {
    const text = textFormatter(record);
    logtapeProduced += text.length;
    return text;
  },
});
await configure({
  sinks: { file: logtapeSink },
  loggers: [
    { category: ["bench"], sinks: ["file"], lowestLevel: "info" },
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
  ],
});
const logtapeLogger = getLogger(["bench"]);

/** Sleeps one timer turn, so that async I/O makes progress. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function untilFileSize(path: string, size: number): Promise<void> {
  while (Deno.statSync(path).size < size) await tick();
}

/** Waits until pino's async destination has no write in flight and nothing queued. */
function pinoIdle(): Promise<void> {
  // SonicBoom emits "drain" once its queue is empty after an async write.
  const sonic = pinoDest as unknown as { _writing: boolean };
  if (!sonic._writing) return Promise.resolve();
  return new Promise((resolve) => pinoDest.once("drain", () => resolve()));
}

/** Keeps `file`'s queue at `units` before each timed batch: waits, then tops up. */
async function holdQueued(file: ProxyFile, units: number): Promise<void> {
  while (file.pendingSize > units) await tick();
  for (let i = 0; file.pendingSize < units; i = (i + 1) % BATCH) {
    file.write(strings[i]!);
  }
}

const group = `${BATCH} lines of ${LINE_BYTES} bytes per iteration (µs/iter = ns/line)`;

Deno.bench({
  name: "TextEncoder.encode + Deno.writeSync per line",
  group,
  baseline: true,
  fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) plain.writeSync(encoder.encode(strings[i]!));
    b.end();
  },
});

Deno.bench({
  name: "ProxyFile.write(string)",
  group,
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) proxyString.write(strings[i]!);
    b.end();
    await proxyString.flush();
  },
});

Deno.bench({
  name: "ProxyFile.write(Uint8Array)",
  group,
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) proxyBytes.write(bytes[i]!);
    b.end();
    await proxyBytes.flush();
  },
});

Deno.bench({
  name: "ProxyFile.write(string), 1 MB already queued",
  group,
  async fn(b) {
    await holdQueued(proxyQueued1, 1_000_000);
    b.start();
    for (let i = 0; i < BATCH; i++) proxyQueued1.write(strings[i]!);
    b.end();
  },
});

Deno.bench({
  name: "ProxyFile.write(string), 100 MB already queued",
  group,
  async fn(b) {
    await holdQueued(proxyQueued100, 100_000_000);
    b.start();
    for (let i = 0; i < BATCH; i++) proxyQueued100.write(strings[i]!);
    b.end();
  },
});

Deno.bench({
  name: "pino.info(s), async destination",
  group,
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) pinoLogger.info(messages[i]!);
    b.end();
    await pinoIdle();
  },
});

Deno.bench({
  name: "LogTape info(s), non-blocking file sink",
  group,
  async fn(b) {
    b.start();
    for (let i = 0; i < BATCH; i++) logtapeLogger.info(messages[i]!);
    b.end();
    await untilFileSize(logtapePath, logtapeProduced);
  },
});
