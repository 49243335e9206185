// End-to-end throughput and server memory, every row in one run, printed as a
// Markdown table (BENCHMARKS.md keeps the latest one).
//
//   deno run --allow-read --allow-write --allow-net --allow-run --allow-env \
//     bench/e2e.ts [--smoke] [--lines N] [--repeat N] [--only TEXT] [--profile DIR]
//
//   --smoke        tiny sizes, one run each: checks that every record arrives whole
//                  and exits non-zero otherwise (for CI; the timings mean nothing)
//   --lines N      lines per throughput row (default 1,000,000 of 100 bytes)
//   --repeat N     runs per row; the table shows the median (default 5)
//   --only TEXT    only the rows whose name contains TEXT (e.g. "16 client")
//   --burst-mb N   MB through a fresh server for the memory-given-back row (1000)
//   --idle-seconds N  seconds of idle after the burst, RSS read every second (10)
//   --profile DIR  instead of the table: one client (or --clients N) sending N lines
//                  to one file (with --idle N idle clients connected), the server and
//                  the first client under `deno run --cpu-prof --cpu-prof-md`,
//                  profiles written to DIR; --mode built profiles writers that
//                  build their lines (bench/_lines.ts writeBuilt) instead
//
// Every writer and server is a child process: the real server (server.ts) on a
// socket in a temporary directory, writers from bench/_client.ts, the raw limit from
// bench/_raw.ts (helpers in bench/_children.ts and bench/_runs.ts). All of them, the
// sockets and the files are removed at the end.
//
// Paired rows (bench/_pairs.ts) run a reference and offlog in turn and report the
// ratio of each round: the "built lines" ceiling (bench/_bare.ts) against offlog
// writers that build the same lines the same way, the Python offlog 0.x clients
// through the Python server against ours (bench/_py.ts, when OFFLOG_PY_GIT names the
// Python offlog's git directory) and pipe.ts against `cat` (bench/_pipe_row.ts). The
// memory row (bench/_memory.ts) has a fresh server of its own.

import { parseArgs } from "node:util";
import type { ProxyFile } from "../mod.ts";
import { children, clientArgs, runWriters, startServer } from "./_children.ts";
import { LINE_BYTES } from "./_lines.ts";
import { memoryAfterBurst, memoryTable } from "./_memory.ts";
import { memoryWhileTrickling, trickleTable } from "./_trickle.ts";
import { median, pairTable } from "./_pairs.ts";
import { pairedRows } from "./_paired_rows.ts";
import {
  openIdle,
  readStatus,
  type Row,
  type Run,
  runProxy,
  runRaw,
  span,
  verify,
  warmUp,
} from "./_runs.ts";

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function table(rows: Row[], raw: number | null): string {
  const out = [
    "| scenario | lines | s (median) | lines/s | MB/s | MB/s of runs | of raw | write() loop ns/line | writers CPU ns/line | server CPU ns/line | records |",
    "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const row of rows) {
    const seconds = median(row.runs.map((run) => run.seconds));
    const rate = (run: Run) => row.lines * LINE_BYTES / run.seconds / 1e6;
    const mbps = row.lines * LINE_BYTES / seconds / 1e6;
    const problems = row.runs.flatMap((run) => run.problems);
    const cpu = row.runs.flatMap((run) => run.serverCpu ?? []);
    const writersCpu = row.runs.flatMap((run) => run.writersCpu ?? []);
    out.push(
      `| ${row.name} | ${number.format(row.lines)} | ${seconds.toFixed(3)} | ${
        number.format(row.lines / seconds)
      } | ${mbps.toFixed(0)} | ${
        row.runs.map((run) => rate(run).toFixed(0)).join(", ")
      } | ${raw === null ? "" : `${(mbps / raw * 100).toFixed(0)}%`} | ${
        row.showLoop
          ? (median(row.runs.map((run) => run.loop)) * 1e9 / row.lines).toFixed(0)
          : ""
      } | ${
        writersCpu.length === 0 ? "" : (median(writersCpu) * 1e9 / row.lines).toFixed(0)
      } | ${cpu.length === 0 ? "" : (median(cpu) * 1e9 / row.lines).toFixed(0)} | ${
        problems.length === 0 ? "whole" : `**${problems.join("; ")}**`
      } |`,
    );
  }
  return out.join("\n");
}

async function profile(
  dir: string,
  options: { lines: number; clients: number; idle: number; out: string; mode: string },
  idleFiles: ProxyFile[],
): Promise<void> {
  const { lines, clients, out } = options;
  await Deno.mkdir(out, { recursive: true });
  const flags = (name: string) => [
    "--cpu-prof",
    `--cpu-prof-dir=${out}`,
    `--cpu-prof-name=${name}.cpuprofile`,
    "--cpu-prof-interval=100",
    "--cpu-prof-md",
  ];
  const socketPath = `${dir}/offlog.sock`;
  const server = await startServer(socketPath, flags("server"));
  await openIdle(options.idle, dir, socketPath, idleFiles);
  const path = `${dir}/out.log`;
  const per = Math.floor(lines / clients);
  const times = await runWriters(
    Array.from({ length: clients }, (_, client) => ({
      name: `writer ${client}`,
      args: clientArgs(
        options.mode,
        socketPath,
        path,
        client,
        per,
        client === 0 ? flags("client") : [],
      ),
    })),
  );
  for (const file of idleFiles.splice(0)) await file.close();
  await server.finish("SIGTERM");
  const { seconds } = span(times);
  const expected = new Map(Array.from({ length: clients }, (_, c) => [c, per]));
  const problems = await verify(new Map([[path, expected]]));
  console.log(
    `${clients} client(s), ${number.format(per * clients)} lines to one file: ${
      seconds.toFixed(3)
    } s, ${number.format(per * clients / seconds)} lines/s; records ${
      problems.length === 0 ? "whole" : problems.join("; ")
    }`,
  );
  console.log(
    `Profiles in ${out}: server.cpuprofile and client.cpuprofile (writer 0), ` +
      "each with a .md summary",
  );
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      smoke: { type: "boolean", default: false },
      lines: { type: "string" },
      repeat: { type: "string" },
      profile: { type: "string" },
      clients: { type: "string", default: "1" },
      only: { type: "string" },
      idle: { type: "string", default: "0" },
      mode: { type: "string", default: "string" },
      "burst-mb": { type: "string" },
      "idle-seconds": { type: "string" },
    },
  });
  const smoke = values.smoke;
  const lines = Number(values.lines ?? (smoke ? 3_200 : 1_000_000));
  const repeat = Number(values.repeat ?? (smoke ? 1 : 5));
  if (!(lines > 0) || !(repeat > 0)) {
    throw new RangeError("--lines and --repeat must be > 0");
  }
  const idleCounts = smoke ? [1, 10, 50] : [1, 100, 1000];
  const burstBytes = Number(values["burst-mb"] ?? (smoke ? 2 : 1000)) * 1e6;
  const idleSeconds = Number(values["idle-seconds"] ?? (smoke ? 2 : 10));
  if (!(burstBytes > 0) || !(idleSeconds >= 0)) {
    throw new RangeError("--burst-mb must be > 0 and --idle-seconds >= 0");
  }
  const only = values.only;

  const dir = await Deno.makeTempDir({ prefix: "offlog_e2e_" });
  const idle: ProxyFile[] = [];
  try {
    if (values.profile !== undefined) {
      const clients = Number(values.clients);
      if (!(clients >= 1)) throw new RangeError("--clients must be at least 1");
      const idleCount = Number(values.idle);
      await profile(dir, {
        lines,
        clients,
        idle: idleCount,
        out: values.profile,
        mode: values.mode,
      }, idle);
      return 0;
    }
    const started = performance.now();
    const log = (text: string) =>
      console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${text}`);
    const rows: Row[] = [];
    const row = async (
      name: string,
      showLoop: boolean,
      run: () => Promise<Run>,
    ): Promise<Row> => {
      const result: Row = { name, lines, runs: [], showLoop };
      if (only !== undefined && !name.includes(only)) return result;
      for (let i = 0; i < repeat; i++) {
        log(`${name} (run ${i + 1} of ${repeat})`);
        result.runs.push(await run());
      }
      rows.push(result);
      return result;
    };

    // Throughput, against the raw limit and a plain writeSync loop.
    const socketPath = `${dir}/offlog.sock`;
    const server = await startServer(socketPath);
    await warmUp(dir, socketPath, lines);
    const raw = await row(
      "raw limit: Unix socket → appended file, 256 KiB writes, no offlog",
      false,
      () => runRaw(dir, lines * LINE_BYTES, 1),
    );
    await row(
      "raw limit, 16 sender processes → one file",
      false,
      () => runRaw(dir, lines * LINE_BYTES, 16),
    );
    await row(
      "Deno.writeSync per line (TextEncoder.encode each), no server",
      false,
      async () => {
        const path = `${dir}/plain.log`;
        const times = await runWriters([{
          name: "writesync",
          args: clientArgs("writesync", socketPath, path, 0, lines),
        }]);
        return {
          ...span(times),
          problems: await verify(new Map([[path, new Map([[0, lines]])]])),
          writersCpu: times[0]?.cpu ?? 0,
        };
      },
    );
    for (const mode of ["string", "bytes"]) {
      const type = mode === "string" ? "string" : "Uint8Array";
      await row(
        `offlog, 1 client, write(${type}) then flush()`,
        true,
        () =>
          runProxy(dir, socketPath, {
            mode,
            clients: 1,
            lines,
            separate: false,
            serverPid: server.process.pid,
          }),
      );
    }
    for (const clients of [4, 16]) {
      for (const separate of [false, true]) {
        await row(
          `offlog, ${clients} client processes, ${separate ? "a file each" : "one file"}`,
          true,
          () =>
            runProxy(dir, socketPath, {
              mode: "string",
              clients,
              lines,
              separate,
              serverPid: server.process.pid,
            }),
        );
      }
    }
    const loaded = readStatus(server.process.pid);

    // Paired rows: a reference and offlog in turn, a ratio per round.
    const wanted = (name: string) => only === undefined || name.includes(only);
    const { pairs, notes } = await pairedRows(dir, {
      lines,
      repeat,
      socketPath,
      serverPid: server.process.pid,
      wanted,
      log,
    });
    await server.finish("SIGTERM");

    // Memory given back after a burst, on a fresh server.
    let burst: string | null = null;
    const memoryName = "memory given back";
    if (wanted(memoryName)) {
      log(`${memoryName}: ${burstBytes / 1e6} MB from 16 writers, ${idleSeconds} s idle`);
      const reports = [];
      for (const deployed of [false, true]) {
        reports.push(
          await memoryAfterBurst(dir, {
            bytes: burstBytes,
            writers: 16,
            idleSeconds,
            deployed,
          }),
        );
      }
      const problems = reports.flatMap((report) => report.problems);
      if (problems.length > 0) {
        rows.push({
          name: memoryName,
          lines: 0,
          showLoop: false,
          runs: [{ seconds: 1, loop: 0, problems }],
        });
      }
      burst = memoryTable(reports);
    }

    // Memory while unfinished records trickle in, on a fresh server each.
    let trickled: string | null = null;
    const trickleName = "memory while records trickle in";
    if (wanted(trickleName)) {
      const recordBytes = smoke ? 20_000 : 200_000;
      log(`${trickleName}: 8 clients, ${recordBytes} bytes each, a byte per write`);
      const reports = [];
      for (const deployed of [false, true]) {
        reports.push(
          await memoryWhileTrickling(dir, { clients: 8, recordBytes, deployed }),
        );
      }
      trickled = trickleTable(reports);
    }

    // Server memory with idle clients, on a fresh server.
    const memory = [`| idle clients | server VmRSS (MB) |`, `| ---: | ---: |`];
    const idleName = `offlog, 1 client, write(string), ${
      number.format(idleCounts.at(-1)!)
    } idle clients connected`;
    if (only === undefined || idleName.includes(only)) {
      const idleSocket = `${dir}/idle.sock`;
      const idleServer = await startServer(idleSocket);
      await new Promise((resolve) => setTimeout(resolve, 300));
      memory.push(`| 0 | ${mb(readStatus(idleServer.process.pid).rss)} |`);
      for (const count of idleCounts) {
        log(`server RSS with ${count} idle clients`);
        await openIdle(count, dir, idleSocket, idle);
        memory.push(
          `| ${number.format(count)} | ${mb(readStatus(idleServer.process.pid).rss)} |`,
        );
      }
      await warmUp(dir, idleSocket, lines); // after the RSS readings, before the row
      await row(
        idleName,
        true,
        () =>
          runProxy(dir, idleSocket, {
            mode: "string",
            clients: 1,
            lines,
            separate: false,
            serverPid: idleServer.process.pid,
          }),
      );
      for (const file of idle.splice(0)) await file.close();
      await idleServer.finish("SIGTERM");
    }

    const rawMbps = raw.runs.length === 0
      ? null
      : lines * LINE_BYTES / median(raw.runs.map((r) => r.seconds)) / 1e6;
    console.log(table(rows, rawMbps));
    console.log();
    if (pairs.length > 0) console.log(pairTable(pairs) + "\n");
    for (const note of notes) console.log(note + "\n");
    if (burst !== null) console.log(burst + "\n");
    if (trickled !== null) console.log(trickled + "\n");
    if (memory.length > 2) console.log(memory.join("\n") + "\n");
    console.log(
      `Server peak RSS (VmHWM) over the throughput rows: ${mb(loaded.hwm)} MB; ` +
        `${lines} lines of ${LINE_BYTES} bytes per row, median of ${repeat} runs; ` +
        `${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
    );
    // The 0.x clients tear records themselves, whatever the server (BENCHMARKS.md): a
    // write() that finds its queue blocked sends its new bytes ahead of the queued ones.
    const broken = rows.some((r) => r.runs.some((run) => run.problems.length > 0)) ||
      pairs.some((p) =>
        !p.name.startsWith("0.x client") &&
        p.rounds.some((r) => r.reference.problems.length + r.offlog.problems.length > 0)
      );
    if (broken) console.error("Some records were not whole: see the table");
    return broken ? 1 : 0;
  } finally {
    for (const file of idle) await file.close().catch(() => {});
    await Promise.all([...children].map((child) => child.kill()));
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
