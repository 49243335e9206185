// One writer process of bench/writer_report.ts: writes LINES lines of 100 bytes to FILE
// through the real server at SOCK, waits until they are in the file, and prints the
// CPU it used meanwhile, in seconds, as JSON {"cpu", "ms"}. It warms up first with as
// many lines (at most 200,000) to another file.
//
//   deno run --allow-read --allow-write --allow-net=unix:SOCK bench/_writer_cpu.ts \
//     MODE MODULE SOCK FILE LINES
//
// MODE: "string" (ProxyFile.write of lines built one by one, as bench/_lines.ts
// writeBuilt builds them), "bytes" (ProxyFile.write from a pool of 1,000 encoded
// lines), "bare" (the same built lines, encoded into 1 MiB frames with encodeInto and
// written straight to the socket after the offlog/1 opening: offlog's client minus
// everything but the wire). MODULE is the client's mod.ts: this tree's or a baseline's.

import process from "node:process";
import { writeAll } from "../common/write_all.ts";
import { linePool, writeBuilt, YIELD_EVERY } from "./_lines.ts";

interface Sink {
  write(line: string | Uint8Array): void;
  close(): Promise<void>;
}

interface ProxyFileModule {
  ProxyFile: {
    open(path: string, options: { socketPath: string }): Promise<Sink>;
  };
}

const FRAME = 1024 * 1024;
const encoder = new TextEncoder();

/** A sender that frames lines itself: the wire, nothing else. */
async function bare(socketPath: string, path: string): Promise<Sink> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  await writeAll(conn, encoder.encode(`offlog/1\0${path}\0`));
  const answer = new Uint8Array(64);
  const n = await conn.read(answer);
  if (n === null || answer[0] !== 0x4f) throw new Error("The server refused the file");
  let frame = new Uint8Array(FRAME + 4);
  let fill = 4;
  let sending: Promise<void> = Promise.resolve();
  const send = () => {
    const full = frame.subarray(0, fill);
    new DataView(full.buffer).setUint32(0, fill - 4);
    const previous = sending;
    sending = previous.then(() => writeAll(conn, full));
    frame = new Uint8Array(FRAME + 4);
    fill = 4;
  };
  return {
    write(line) {
      if (typeof line !== "string") throw new TypeError("bare writes strings");
      if (FRAME + 4 - fill < line.length * 3) send();
      fill += encoder.encodeInto(line, frame.subarray(fill)).written;
    },
    async close() {
      if (fill > 4) send();
      await sending;
      await conn.closeWrite();
      const buffer = new Uint8Array(1024);
      while ((await conn.read(buffer)) !== null) {
        // ACKs, then BYE and the end
      }
      conn.close();
    },
  };
}

async function open(mode: string, module: string, socketPath: string, path: string) {
  if (mode === "bare") return bare(socketPath, path);
  const { ProxyFile } = await import(module) as ProxyFileModule;
  return ProxyFile.open(path, { socketPath });
}

async function run(mode: string, sink: Sink, lines: number): Promise<void> {
  if (mode !== "bytes") return writeBuilt((line) => sink.write(line), 0, lines);
  const pool = linePool(0).map((line) => encoder.encode(line));
  for (let i = 0; i < lines; i++) {
    sink.write(pool[i % pool.length]!);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await Deno.stat("/");
  }
}

const [mode, module, socketPath, path, count] = Deno.args;
if (mode === undefined || module === undefined || socketPath === undefined || !path) {
  throw new TypeError("usage: _writer_cpu.ts MODE MODULE SOCK FILE LINES");
}
const lines = Number(count);
const warm = await open(mode, module, socketPath, `${path}.warm`);
await run(mode, warm, Math.min(lines, 200_000));
await warm.close();
const sink = await open(mode, module, socketPath, path);
const usage = process.cpuUsage();
const started = performance.now();
await run(mode, sink, lines);
await sink.close();
const used = process.cpuUsage(usage);
console.log(JSON.stringify({
  cpu: (used.user + used.system) / 1e6,
  ms: performance.now() - started,
}));
