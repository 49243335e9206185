// One writer process of bench/e2e.ts. It warms up (writes as many lines, at most
// 100,000, the same way to /dev/null), opens its file, prints "ready", waits for a
// line on stdin, writes its lines, waits until they are written
// and prints its times as JSON: {"start", "wrote", "end"} in epoch milliseconds, and
// "cpu", the CPU seconds it used meanwhile.
//
//   deno run --allow-read --allow-write --allow-net=unix:SOCK bench/_client.ts \
//     MODE SOCK FILE CLIENT LINES
//
// MODE is "string" or "bytes" (ProxyFile.write through the server at SOCK, from a
// pool of 1,000 ready lines), "built" (lines built one by one with a counter, a yield
// to the event loop every few thousand: bench/_lines.ts writeBuilt, the same loop as
// the bare ceiling's in bench/_bare.ts) or "writesync" (TextEncoder.encode +
// Deno.writeSync per line, no server).

import process from "node:process";
import { ProxyFile } from "../mod.ts";
import { linePool, writeBuilt } from "./_lines.ts";
import { now } from "./_io.ts";

/** What a writer reports. */
export interface WriterTimes {
  /** When the first line was written. */
  start: number;
  /** When the last write() returned. */
  wrote: number;
  /** When every line was in the file (flush() resolved, or writeSync returned). */
  end: number;
  /** CPU seconds (user + system) the process used from the start to the end. */
  cpu?: number;
}

/** Most lines a writer writes to /dev/null before it says "ready". */
const WARM_UP = 100_000;

/** CPU seconds used since `since` (from `process.cpuUsage()`). */
function cpuSince(since: { user: number; system: number }): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

async function waitForGo(): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  try {
    await reader.read();
  } finally {
    reader.releaseLock();
  }
}

async function main(args: string[]): Promise<void> {
  const [mode, socketPath, path, client, count] = args;
  const lines = Number(count);
  if (path === undefined || socketPath === undefined || !(lines >= 0)) {
    throw new TypeError("usage: _client.ts MODE SOCK FILE CLIENT LINES");
  }
  const pool = linePool(Number(client));
  const encoder = new TextEncoder();
  const say = (text: string) => Deno.stdout.writeSync(encoder.encode(text + "\n"));

  // Warm up first, as a long-running program would be: the same calls, as many lines
  // (at most WARM_UP), to /dev/null, so that the measured lines run compiled code.
  const warmUp = Math.min(lines, WARM_UP);
  if (mode === "writesync") {
    using sink = Deno.openSync("/dev/null", { write: true });
    for (let i = 0; i < warmUp; i++) {
      sink.writeSync(encoder.encode(pool[i % pool.length]!));
    }
    using file = Deno.openSync(path, { append: true, create: true });
    say("ready");
    await waitForGo();
    const usage = process.cpuUsage();
    const start = now();
    for (let i = 0; i < lines; i++) {
      file.writeSync(encoder.encode(pool[i % pool.length]!));
    }
    const end = now();
    const cpu = cpuSince(usage);
    say(JSON.stringify({ start, wrote: end, end, cpu } satisfies WriterTimes));
    return;
  }
  if (mode === "built") {
    const id = Number(client);
    {
      await using sink = await ProxyFile.open("/dev/null", {
        socketPath,
        timeout: 60_000,
      });
      await writeBuilt((line) => sink.write(line), id, warmUp);
      await sink.flush();
    }
    await using file = await ProxyFile.open(path, { socketPath, timeout: 60_000 });
    say("ready");
    await waitForGo();
    const usage = process.cpuUsage();
    const start = now();
    await writeBuilt((line) => file.write(line), id, lines);
    const wrote = now();
    await file.flush();
    const end = now();
    const cpu = cpuSince(usage);
    say(JSON.stringify({ start, wrote, end, cpu } satisfies WriterTimes));
    return;
  }
  if (mode !== "string" && mode !== "bytes") {
    throw new TypeError(`Unknown mode "${mode}"`);
  }
  const data: (string | Uint8Array)[] = mode === "string"
    ? pool
    : pool.map((line) => encoder.encode(line));
  {
    await using sink = await ProxyFile.open("/dev/null", { socketPath, timeout: 60_000 });
    for (let i = 0; i < warmUp; i++) sink.write(data[i % data.length]!);
    await sink.flush();
  }
  await using file = await ProxyFile.open(path, { socketPath, timeout: 60_000 });
  say("ready");
  await waitForGo();
  const usage = process.cpuUsage();
  const start = now();
  for (let i = 0; i < lines; i++) file.write(data[i % data.length]!);
  const wrote = now();
  await file.flush();
  const end = now();
  const cpu = cpuSince(usage);
  say(JSON.stringify({ start, wrote, end, cpu } satisfies WriterTimes));
}

if (import.meta.main) await main(Deno.args);
