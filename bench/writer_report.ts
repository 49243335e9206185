// Issue 18's figures, side by side in one run, for this tree and a baseline tree:
// - write() per call, mean and p99.9, for 100-byte strings and byte arrays: 1,000
//   calls a turn, what was written flushed (untimed) between turns; the mean from the
//   loop's time, the p99.9 from each call timed alone (less the cost of the clock);
// - the writer process's CPU per line end to end (write, pump, socket, until close()
//   resolved) against the real server (server.ts in its own process), 1,000,000 built
//   lines, medians of RUNS runs; and the same for a bare sender that builds the same
//   lines and frames them itself (bench/_writer_cpu.ts "bare");
// - flush() under 20,000 lines per macrotask, called 200 ms in (bench/_flush_load.ts),
//   for every writer kind, FLUSH_RUNS runs each: median, slowest, runs over 500 ms.
//
//   deno run --allow-read --allow-write --allow-net --allow-run --allow-env \
//     bench/writer_report.ts [--baseline DIR | --rev REV] [--lines N] [--runs N] \
//     [--only call,cpu,flush]
//
// The baseline is a tree with the client to compare against: DIR, or the commit REV
// (default de3649a, the client before issue 18) unpacked with `git archive`.

import { parseArgs } from "node:util";
import { type ClientModule, kinds, run } from "./_flush_load.ts";
import { makeLine } from "./_lines.ts";

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    rev: { type: "string", default: "de3649a" },
    lines: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    only: { type: "string", default: "call,cpu,flush" },
  },
});
const LINES = Number(values.lines);
const RUNS = Number(values.runs);
const ROOT = new URL("..", import.meta.url).pathname;
const TURNS = 300;
const FLUSH_RUNS = 20;
const PER_TURN = 1000;

interface Sink {
  write(data: string | Uint8Array): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface ProxyFileModule {
  ProxyFile: { open(path: string, options: { socketPath: string }): Promise<Sink> };
}

const dir = await Deno.makeTempDir({ prefix: "offlog_writer_bench_" });
let baseline = values.baseline;
if (baseline === undefined) {
  baseline = `${dir}/baseline`;
  await Deno.mkdir(baseline);
  const archive = new Deno.Command("sh", {
    args: ["-c", `git -C "${ROOT}" archive "${values.rev}" | tar -x -C "${baseline}"`],
  });
  const { code, stderr } = await archive.output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
}
const trees = [
  { name: "this tree", module: `${ROOT}mod.ts`, root: ROOT },
  {
    name: `baseline (${values.baseline ?? values.rev})`,
    module: `${baseline}/mod.ts`,
    root: `${baseline}/`,
  },
];

const socketPath = `${dir}/offlog.sock`;
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-q",
    "--allow-read",
    "--allow-write",
    `--allow-net=unix:${socketPath}`,
    `${ROOT}server.ts`,
    "-s",
    socketPath,
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();
for (let i = 0; i < 100; i++) {
  try {
    await Deno.lstat(socketPath);
    break;
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const strings = Array.from({ length: PER_TURN }, (_, i) => makeLine(0, i));
const encoder = new TextEncoder();
const bytes = strings.map((line) => encoder.encode(line));

/** Mean and p99.9 of write() per call, in ns. */
async function perCall(
  file: Sink,
  lines: (string | Uint8Array)[],
): Promise<{ mean: number; p999: number }> {
  // Warm up, then the mean from whole turns.
  for (let t = 0; t < 50; t++) {
    for (const line of lines) file.write(line);
    await file.flush();
  }
  let total = 0;
  for (let t = 0; t < TURNS; t++) {
    const started = performance.now();
    for (const line of lines) file.write(line);
    total += performance.now() - started;
    await file.flush();
  }
  // Each call timed alone, less what a pair of clock reads costs.
  let clock = Infinity;
  for (let i = 0; i < 10_000; i++) {
    const a = performance.now();
    clock = Math.min(clock, performance.now() - a);
  }
  const times = new Float64Array(TURNS * lines.length);
  let n = 0;
  for (let t = 0; t < TURNS; t++) {
    for (const line of lines) {
      const a = performance.now();
      file.write(line);
      times[n++] = performance.now() - a - clock;
    }
    await file.flush();
  }
  times.sort();
  return {
    mean: total * 1e6 / (TURNS * lines.length),
    p999: Math.max(0, times[Math.floor(times.length * 0.999)]! * 1e6),
  };
}

/** CPU ns per line of one writer process, median of RUNS. */
async function cpuPerLine(mode: string, module: string): Promise<number[]> {
  const figures: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const path = `${dir}/${mode}-${run}.log`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-q",
        `--allow-read`,
        `--allow-write=${dir}`,
        `--allow-net=unix:${socketPath}`,
        `${ROOT}bench/_writer_cpu.ts`,
        mode,
        module,
        socketPath,
        path,
        String(LINES),
      ],
      stderr: "inherit",
    });
    const { code, stdout } = await child.output();
    if (code !== 0) throw new Error(`_writer_cpu.ts ${mode} exited with ${code}`);
    const { cpu } = JSON.parse(new TextDecoder().decode(stdout));
    const size = (await Deno.stat(path)).size;
    if (size !== LINES * 100) {
      throw new Error(`${path}: ${size} bytes, not ${LINES * 100}`);
    }
    figures.push(cpu * 1e9 / LINES);
    await Deno.remove(path);
    await Deno.remove(`${path}.warm`);
  }
  return figures.sort((a, b) => a - b);
}

const fmt = (ns: number) => ns.toFixed(1);
const sections = new Set(values.only.split(","));
const rows: string[] = [];
try {
  for (const tree of sections.has("call") ? trees : []) {
    const { ProxyFile } = await import(tree.module) as ProxyFileModule;
    for (const [kind, lines] of [["string", strings], ["Uint8Array", bytes]] as const) {
      const file = await ProxyFile.open(`${dir}/per-call-${kind}.log`, { socketPath });
      const { mean, p999 } = await perCall(file, lines as (string | Uint8Array)[]);
      await file.close();
      rows.push(
        `| ${tree.name} | write(${kind}) per call | ${fmt(mean)} | ${fmt(p999)} |`,
      );
    }
  }
  console.log("| client | what | mean ns | p99.9 ns |");
  console.log("| --- | --- | ---: | ---: |");
  for (const row of rows) console.log(row);
  console.log();
  console.log(`| writer | CPU ns/line, ${LINES} lines end to end (runs) | median |`);
  console.log("| --- | --- | ---: |");
  const cpuRows: [string, string, string][] = [];
  for (const tree of trees) {
    cpuRows.push([`${tree.name}, ProxyFile.write(string)`, "string", tree.module]);
    cpuRows.push([`${tree.name}, ProxyFile.write(Uint8Array)`, "bytes", tree.module]);
  }
  cpuRows.push(["bare sender, the same built lines, framed by hand", "bare", ""]);
  for (const [name, mode, module] of sections.has("cpu") ? cpuRows : []) {
    const figures = await cpuPerLine(mode, module);
    const median = figures[Math.floor(figures.length / 2)]!;
    console.log(`| ${name} | ${figures.map(fmt).join(", ")} | ${fmt(median)} |`);
  }
  console.log();
  console.log(
    `| client | flush() under load, ${FLUSH_RUNS} runs | median ms | slowest ms | over 500 ms |`,
  );
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const tree of sections.has("flush") ? trees : []) {
    const client = {
      ...await import(tree.module),
      ...await import(`${tree.root}logtape.ts`),
    } as ClientModule;
    for (const [kind, open] of Object.entries(kinds(client))) {
      const times: number[] = [];
      for (let i = 0; i < FLUSH_RUNS; i++) {
        const path = `${dir}/flush-${i}.log`;
        const subject = await open(socketPath, path);
        try {
          times.push(await run(subject, path));
        } finally {
          await subject.close();
          await Deno.remove(path);
        }
      }
      times.sort((a, b) => a - b);
      const over = times.filter((ms) => ms >= 500).length;
      console.log(
        `| ${tree.name} | ${kind} | ${times[FLUSH_RUNS / 2]!.toFixed(0)} | ` +
          `${times[FLUSH_RUNS - 1]!.toFixed(0)} | ${over} |`,
      );
    }
  }
} finally {
  server.kill("SIGTERM");
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
