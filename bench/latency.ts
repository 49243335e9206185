// Latency and event-loop lag, as an application sees them (issue 7), beside a
// synchronous baseline in the same run:
// - from write() to the bytes being in the file, at a steady 10,000 and 100,000 lines
//   per second: each 1 ms tick writes its share of lines, then flush(); flush()
//   resolves when the server's ACK covers the tick's last line, and the server sends
//   that ACK only after the file write holding it returned. So the time from the
//   tick's first write() to flush() resolving bounds the latency of every line of the
//   tick from above;
// - event-loop lag while logging 200,000 lines per second: how late a 1 ms timer fires
//   (its drift), with offlog and with Deno.writeSync per line.
//
// deno run --allow-read --allow-write --allow-net --allow-run --allow-env bench/latency.ts [--smoke]

import { ProxyFile } from "../mod.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;
const smoke = Deno.args.includes("--smoke");
const SECONDS = smoke ? 0.3 : 3;
const LINE = "x".repeat(99) + "\n";
const encoder = new TextEncoder();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

function summary(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    n: sorted.length,
  };
}

/** Calls `tick` every millisecond for `seconds`; returns each tick's lateness in ms. */
async function paced(seconds: number, tick: () => void): Promise<number[]> {
  const lags: number[] = [];
  const end = performance.now() + seconds * 1000;
  let expected = performance.now() + 1;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(Math.max(0, now - expected));
      expected = now + 1;
      if (now >= end) {
        clearInterval(timer);
        resolve();
        return;
      }
      tick();
    }, 1);
  });
  return lags;
}

async function latency(socketPath: string, path: string, perSecond: number) {
  const file = await ProxyFile.open(path, { socketPath });
  const perTick = perSecond / 1000;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let written = 0;
  const started = performance.now();
  await paced(SECONDS, () => {
    // Keep the rate steady even when a tick fires late.
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    const count = Math.max(perTick, due - written);
    const first = performance.now();
    for (let i = 0; i < count; i++) file.write(LINE);
    written += count;
    pending.push(file.flush().then(() => void latencies.push(performance.now() - first)));
  });
  await Promise.all(pending);
  await file.close();
  return { ...summary(latencies), lines: written };
}

async function lag(write: (line: string) => void, done: () => Promise<void>) {
  const perTick = 200;
  const lags = await paced(SECONDS, () => {
    for (let i = 0; i < perTick; i++) write(LINE);
  });
  await done();
  return summary(lags);
}

const dir = await Deno.makeTempDir({ prefix: "offlog_latency_" });
const socketPath = `${dir}/offlog.sock`;
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-q",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-net=unix:${socketPath}`,
    SERVER,
    "-s",
    socketPath,
  ],
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  for (let i = 0; i < 500; i++) {
    try {
      if ((await Deno.lstat(socketPath)).isSocket) break;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const fmt = (ms: number) => ms.toFixed(2);
  console.log(
    `| write() to in the file, upper bound (ms) | lines | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |`,
  );
  for (const rate of [10_000, 100_000]) {
    const r = await latency(socketPath, `${dir}/latency_${rate}.log`, rate);
    const lines = (await Deno.readTextFile(`${dir}/latency_${rate}.log`)).length / 100;
    if (lines !== r.lines) {
      throw new Error(`${r.lines} lines written, ${lines} in the file`);
    }
    console.log(
      `| offlog, ${rate.toLocaleString("en")} lines/s | ${
        r.lines.toLocaleString("en")
      } | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} |`,
    );
  }

  console.log(
    `\n| event-loop lag at 200,000 lines/s (ms late, 1 ms timer) | ticks | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |`,
  );
  const idle = await lag(() => {}, () => Promise.resolve());
  console.log(
    `| no logging (the timer alone) | ${idle.n} | ${fmt(idle.p50)} | ${fmt(idle.p99)} | ${
      fmt(idle.max)
    } |`,
  );
  const file = await ProxyFile.open(`${dir}/lag.log`, { socketPath });
  const offlog = await lag((line) => file.write(line), () => file.close());
  console.log(
    `| offlog ProxyFile.write() | ${offlog.n} | ${fmt(offlog.p50)} | ${
      fmt(offlog.p99)
    } | ${fmt(offlog.max)} |`,
  );
  const sync = await Deno.open(`${dir}/sync.log`, { append: true, create: true });
  const direct = await lag(
    (line) => sync.writeSync(encoder.encode(line)),
    () => Promise.resolve(sync.close()),
  );
  console.log(
    `| TextEncoder.encode + Deno.writeSync per line | ${direct.n} | ${
      fmt(direct.p50)
    } | ${fmt(direct.p99)} | ${fmt(direct.max)} |`,
  );
} finally {
  try {
    server.kill("SIGTERM");
  } catch {
    // exited
  }
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
