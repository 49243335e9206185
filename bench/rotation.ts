// Built-in rotation's cost (issue 20): 16 writers through a server with
// `--rotate-size 1M --rotate-compress` against the same writers through a server
// without rotation, in turn within one run, and the acknowledgement latency a
// light client sees meanwhile (the rotating server compresses all through its run).
//
//   deno run --allow-read --allow-write --allow-net --allow-run --allow-env \
//     bench/rotation.ts [--smoke] [--lines N] [--repeat N]
//
//   --smoke     tiny sizes, one round: checks that every line arrives whole and in
//               order across the rotated files, exits non-zero otherwise (for CI)
//   --lines N   lines of 100 bytes per run, all writers together (default 1,000,000)
//   --repeat N  rounds; the table shows medians and the range of the ratios (3)
//
// The rotated files are checked after each run, once the compressor is done: every
// line whole, and each writer's lines, read from PATH.5.gz to PATH, one unbroken run
// that ends with its last line (the older files were removed by --rotate-keep 5, with
// all the lines of a writer that finished early).

import { parseArgs } from "node:util";
import { ProxyFile } from "../mod.ts";
import { children, clientArgs, runWriters, startServer } from "./_children.ts";
import { BATCH, checkWhole, LINE_BYTES } from "./_lines.ts";
import { median, pairTable, runPair } from "./_pairs.ts";
import { readCpu, type Run, span, verify } from "./_runs.ts";

const WRITERS = 16;
/** The rotating server's flags (`--rotate-args` replaces them, for a comparison). */
let ROTATE = ["--rotate-size", "1M", "--rotate-compress"];
const LINE = /^offlog bench c(\d{3}) l(\d{6}) /;

/** Acknowledgement latencies of one run, in ms. */
const probes = new Map<Run, number[]>();

/**
 * Writes a line and waits for its acknowledgement (flush), every 5 ms, to a file of
 * its own on the server, until stopped: what a light client sees while the writers
 * load the server.
 */
function probe(socketPath: string, path: string): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let stopped = false;
  const running = (async () => {
    await using file = await ProxyFile.open(path, { socketPath, timeout: 60_000 });
    while (!stopped) {
      const start = performance.now();
      file.write(`probe ${times.length}\n`);
      await file.flush();
      times.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return times;
    },
  };
}

/** The rotated files of `path`, oldest first, and the live one, once compressed. */
async function settled(path: string, compressed: boolean): Promise<string[]> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const base = path.slice(path.lastIndexOf("/") + 1);
  const pattern = new RegExp(`^${base.replaceAll(".", "\\.")}\\.(\\d+)(\\.gz)?$`);
  const deadline = Date.now() + 120_000;
  // The server may still rename after the last acknowledgement (a rotation after the
  // last write): the set is read once two listings, 50 ms apart, agree.
  let previous = "";
  for (;;) {
    const found: { name: string; index: number; size: number }[] = [];
    let busy = false;
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name === `.${base}.gz.tmp`) busy = true;
      const match = pattern.exec(entry.name);
      if (match === null) continue;
      if (compressed && !match[2]) busy = true;
      const size = await Deno.stat(`${dir}/${entry.name}`).then((i) => i.size, () => -1);
      found.push({ name: entry.name, index: Number(match[1]), size });
    }
    found.sort((a, b) => b.index - a.index);
    const listing = found.map((f) => `${f.name} ${f.size}`).join(",");
    if (!busy && listing === previous) {
      return [...found.map((f) => `${dir}/${f.name}`), path];
    }
    previous = busy ? "" : listing;
    if (Date.now() > deadline) throw new Error(`${path}: compression not done`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Checks the rotated set: whole lines, each writer's an unbroken run to its last. */
async function verifyRotated(path: string, per: number): Promise<string[]> {
  const problems: string[] = [];
  const last = new Map<number, number>();
  const counts = new Map<number, number>();
  for (const file of await settled(path, ROTATE.includes("--rotate-compress"))) {
    const text = file.endsWith(".gz")
      ? await new Response(
        (await Deno.open(file)).readable.pipeThrough(new DecompressionStream("gzip")),
      ).text()
      : await Deno.readTextFile(file);
    await Deno.remove(file);
    // checkWhole reads a file: the decompressed text goes through one.
    const plain = `${path}.check`;
    await Deno.writeTextFile(plain, text);
    const report = await checkWhole(plain);
    await Deno.remove(plain);
    const name = file.slice(file.lastIndexOf("/") + 1);
    if (report.broken > 0) problems.push(`${name}: ${report.broken} broken lines`);
    for (const line of text.split("\n")) {
      const match = LINE.exec(line);
      if (match === null) continue;
      const [client, index] = [Number(match[1]), Number(match[2])];
      const before = last.get(client);
      if (before !== undefined && index !== (before + 1) % BATCH) {
        problems.push(`${name}: client ${client} goes from ${before} to ${index}`);
      }
      last.set(client, index);
      counts.set(client, (counts.get(client) ?? 0) + 1);
    }
  }
  // A writer that finished early may have all its lines in files --rotate-keep
  // removed; one that is there must end with its last line.
  for (const [client, index] of last) {
    if (index !== (per - 1) % BATCH || counts.get(client)! > per) {
      problems.push(`client ${client} does not end with its last line`);
    }
  }
  return problems.slice(0, 5);
}

/** One run of the 16 writers to one file, with the probe beside them. */
async function run(
  dir: string,
  server: { socketPath: string; pid: number; rotating: boolean },
  lines: number,
): Promise<Run> {
  const path = `${dir}/out.log`;
  const per = Math.floor(lines / WRITERS);
  let cpuAtGo = 0;
  let serverCpu = 0;
  let watch: { stop(): Promise<number[]> } | null = null;
  const times = await runWriters(
    Array.from({ length: WRITERS }, (_, client) => ({
      name: `writer ${client}`,
      args: clientArgs("string", server.socketPath, path, client, per),
    })),
    {
      onGo: () => {
        cpuAtGo = readCpu(server.pid);
        watch = probe(server.socketPath, `${dir}/probe.log`);
      },
      onDone: () => serverCpu = readCpu(server.pid) - cpuAtGo,
    },
  );
  const latencies = await watch!.stop();
  await Deno.remove(`${dir}/probe.log`).catch(() => {});
  const problems = server.rotating
    ? await verifyRotated(path, per)
    : await verify(new Map([[path, new Map(times.map((_, c) => [c, per]))]]));
  const result: Run = {
    ...span(times),
    problems,
    serverCpu,
    writersCpu: times.reduce((sum, t) => sum + (t.cpu ?? 0), 0),
  };
  probes.set(result, latencies);
  return result;
}

/**
 * The acknowledgement latency of a light client while the server compresses one big
 * rotated file and nothing else loads it, against the same server state without
 * compression: `MiB` MiB go to big.log (rotated at that size with `compress`), then the
 * probe runs for `seconds`. Returns its latencies, and whether the compression was
 * still under way at the probe's start and end.
 */
async function quietLatency(
  dir: string,
  compress: boolean,
  mib: number,
  seconds: number,
): Promise<{ latencies: number[]; during: [boolean, boolean] }> {
  const socketPath = `${dir}/quiet.sock`;
  const server = await startServer(
    socketPath,
    [],
    {},
    compress ? ["--rotate-size", `${mib}M`, "--rotate-compress"] : [],
  );
  try {
    const chunk = "q".repeat(1024 * 1024 - 1) + "\n";
    {
      await using big = await ProxyFile.open(`${dir}/big.log`, { socketPath });
      for (let k = 0; k <= mib; k++) big.write(chunk);
      await big.flush();
    }
    const temporary = `${dir}/.big.log.gz.tmp`;
    const compressing = () => Deno.stat(temporary).then(() => true, () => false);
    // The compressor starts on its own turn: the probe starts once it has.
    for (let k = 0; compress && k < 200 && !(await compressing()); k++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const atStart = await compressing();
    const watch = probe(socketPath, `${dir}/probe.log`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const atEnd = await compressing();
    return { latencies: await watch.stop(), during: [atStart, atEnd] };
  } finally {
    await server.finish("SIGTERM");
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("big.log") || entry.name.startsWith("probe.log")) {
        await Deno.remove(`${dir}/${entry.name}`);
      }
    }
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ??
    NaN;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      smoke: { type: "boolean", default: false },
      lines: { type: "string" },
      repeat: { type: "string" },
      "rotate-args": { type: "string" },
    },
  });
  if (values["rotate-args"] !== undefined) ROTATE = values["rotate-args"].split(" ");
  const smoke = values.smoke;
  const lines = Number(values.lines ?? (smoke ? 48_000 : 1_000_000));
  const repeat = Number(values.repeat ?? (smoke ? 1 : 3));
  const log = (text: string) => console.error(`[bench] ${text}`);
  const dirs = [await Deno.makeTempDir({ prefix: "offlog_bench_rot_" })];
  dirs.push(`${dirs[0]}/rotating`);
  await Deno.mkdir(dirs[1]!);
  try {
    const plain = await startServer(`${dirs[0]}/plain.sock`);
    const rotating = await startServer(`${dirs[1]}/rot.sock`, [], {}, ROTATE);
    const servers = {
      reference: {
        socketPath: `${dirs[0]}/plain.sock`,
        pid: plain.process.pid,
        rotating: false,
      },
      offlog: {
        socketPath: `${dirs[1]}/rot.sock`,
        pid: rotating.process.pid,
        rotating: true,
      },
    };
    log("warm-up");
    await run(dirs[0]!, servers.reference, Math.ceil(lines / 4));
    await run(dirs[1]!, servers.offlog, Math.ceil(lines / 4));
    const row = await runPair(
      {
        name: `${WRITERS} writers, one file: ${ROTATE.join(" ")}`,
        lines,
        reference: "no rotation",
      },
      repeat,
      {
        reference: () => run(dirs[0]!, servers.reference, lines),
        offlog: () => run(dirs[1]!, servers.offlog, lines),
      },
      log,
    );
    await plain.finish("SIGTERM");
    await rotating.finish("SIGTERM");
    console.log(pairTable([row]) + "\n");
    const latency = (pick: "reference" | "offlog") => {
      const all = row.rounds.flatMap((round) => probes.get(round[pick]) ?? []);
      return `${percentile(all, 0.5).toFixed(1)} | ${
        percentile(all, 0.99).toFixed(1)
      } | ${Math.max(...all).toFixed(1)} | ${all.length}`;
    };
    console.log(
      [
        "| probe: a line + flush() every 5 ms, during the 16 writers' runs | p50 ms | p99 ms | max ms | acks |",
        "| --- | ---: | ---: | ---: | ---: |",
        `| no rotation | ${latency("reference")} |`,
        `| ${ROTATE.join(" ")} | ${latency("offlog")} |`,
      ].join("\n") + "\n",
    );
    log("latency while one big rotated file is compressed, nothing else running");
    const mib = smoke ? 4 : 64;
    const quietSeconds = smoke ? 0.3 : 2;
    const quiet = [];
    for (const compress of [false, true]) {
      quiet.push(await quietLatency(dirs[1]!, compress, mib, quietSeconds));
    }
    const describe = (values: number[]) =>
      `${percentile(values, 0.5).toFixed(2)} | ${percentile(values, 0.99).toFixed(2)} | ${
        Math.max(...values).toFixed(2)
      } | ${values.length}`;
    console.log(
      [
        `| probe: a line + flush() every 5 ms for ${quietSeconds} s, after ${mib} MiB to another file | p50 ms | p99 ms | max ms | acks |`,
        "| --- | ---: | ---: | ---: | ---: |",
        `| no rotation | ${describe(quiet[0]!.latencies)} |`,
        `| --rotate-size ${mib}M --rotate-compress, compressing it (${
          quiet[1]!.during.map((d) => d ? "yes" : "no").join(" at the start, ")
        } at the end) | ${describe(quiet[1]!.latencies)} |`,
      ].join("\n") + "\n",
    );
    const ratios = row.rounds.map((r) => r.reference.seconds / r.offlog.seconds);
    console.log(
      `${lines} lines of ${LINE_BYTES} bytes per run, ${repeat} rounds; throughput ` +
        `with rotation: ${(median(ratios) * 100).toFixed(0)}% of without (median).`,
    );
    const broken = row.rounds.some((r) =>
      r.reference.problems.length + r.offlog.problems.length > 0
    );
    if (broken) console.error("Some lines were not whole or in order: see the table");
    return broken ? 1 : 0;
  } finally {
    await Promise.all([...children].map((child) => child.kill()));
    await Deno.remove(dirs[0]!, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
