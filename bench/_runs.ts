// The measured runs of bench/e2e.ts: one row's run, the check that every record is
// whole, and the server's memory.

import { ProxyFile } from "../mod.ts";
import { BARE, type Child, clientArgs, RAW, runWriters, spawn } from "./_children.ts";
import type { WriterTimes } from "./_client.ts";
import { checkWhole } from "./_lines.ts";

/** One measured run of a row. */
export interface Run {
  seconds: number;
  /** Seconds the writers spent in their write() loops (the slowest writer). */
  loop: number;
  problems: string[];
  /** CPU seconds the server used during the run, when it was measured. */
  serverCpu?: number;
  /** CPU seconds the writers used from their start to their end, all together. */
  writersCpu?: number;
}

/** A row of the table: its runs. */
export interface Row {
  name: string;
  lines: number;
  runs: Run[];
  /** ns per line in the write loop, for the rows where the loop is not the work. */
  showLoop: boolean;
}

/** A run's time from the first writer's start to the last one's end, and its loop time. */
export function span(times: WriterTimes[]): { seconds: number; loop: number } {
  const start = Math.min(...times.map((t) => t.start));
  const end = Math.max(...times.map((t) => t.end));
  const loop = Math.max(...times.map((t) => t.wrote - t.start));
  return { seconds: (end - start) / 1000, loop: loop / 1000 };
}

/** Checks that each file holds exactly its writers' lines, every one whole. */
export async function verify(
  files: Map<string, Map<number, number>>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [path, expected] of files) {
    const report = await checkWhole(path);
    const name = path.slice(path.lastIndexOf("/") + 1);
    if (report.broken > 0) problems.push(`${name}: ${report.broken} broken lines`);
    for (const [client, lines] of expected) {
      const found = report.perClient.get(client) ?? 0;
      if (found !== lines) {
        problems.push(`${name}: client ${client} has ${found} of ${lines} lines`);
      }
    }
    for (const client of report.perClient.keys()) {
      if (!expected.has(client)) {
        problems.push(`${name}: lines of unknown client ${client}`);
      }
    }
    await Deno.remove(path);
  }
  return problems;
}

/** One run of writers through the offlog server at `socketPath`, then the check. */
export async function runProxy(
  dir: string,
  socketPath: string,
  options: {
    mode: string;
    clients: number;
    lines: number;
    separate: boolean;
    /** The server's process id, to measure the CPU time it used. */
    serverPid?: number;
  },
): Promise<Run> {
  const files = new Map<string, Map<number, number>>();
  const specs = [];
  const per = Math.floor(options.lines / options.clients);
  for (let client = 0; client < options.clients; client++) {
    const path = `${dir}/${options.separate ? `out_${client}` : "out"}.log`;
    if (!files.has(path)) files.set(path, new Map());
    files.get(path)!.set(client, per);
    specs.push({
      name: `writer ${client}`,
      args: clientArgs(options.mode, socketPath, path, client, per),
    });
  }
  const pid = options.serverPid;
  // The server's CPU time from the writers' start to their end, warm-up excluded.
  let cpuAtGo = 0;
  let serverCpu: number | undefined;
  const times = await runWriters(
    specs,
    pid === undefined ? {} : {
      onGo: () => cpuAtGo = readCpu(pid),
      onDone: () => serverCpu = readCpu(pid) - cpuAtGo,
    },
  );
  const run: Run = { ...span(times), problems: await verify(files) };
  if (serverCpu !== undefined) run.serverCpu = serverCpu;
  run.writersCpu = times.reduce((sum, t) => sum + (t.cpu ?? 0), 0);
  return run;
}

/** One run of the raw limit: `senders` processes send `bytes` in all to a plain listener. */
export async function runRaw(dir: string, bytes: number, senders: number): Promise<Run> {
  const socketPath = `${dir}/raw.sock`;
  const path = `${dir}/raw.log`;
  const net = `--allow-net=unix:${socketPath}`;
  const listener = spawn("raw listener", [
    "run",
    "-q",
    "--allow-read",
    "--allow-write",
    net,
    RAW,
    "listen",
    socketPath,
    path,
  ]);
  try {
    if (await listener.line() !== "listening") throw new Error("raw listener failed");
    const per = Math.floor(bytes / senders);
    const times = await runWriters(
      Array.from({ length: senders }, (_, i) => ({
        name: `raw sender ${i}`,
        args: [
          "run",
          "-q",
          "--allow-read",
          "--allow-write",
          net,
          RAW,
          "send",
          socketPath,
          `${per}`,
        ],
      })),
    );
    const size = (await Deno.stat(path)).size;
    await Deno.remove(path);
    return {
      ...span(times),
      problems: size === per * senders
        ? []
        : [`raw.log has ${size} of ${per * senders} bytes`],
    };
  } finally {
    await listener.finish("SIGTERM");
    await Deno.remove(socketPath).catch(() => {});
  }
}

/** Starts the bare relay of bench/_bare.ts on `socketPath`. */
export async function startRelay(socketPath: string): Promise<Child> {
  const relay = spawn("bare relay", [
    "run",
    "-q",
    "--allow-read",
    "--allow-write",
    `--allow-net=unix:${socketPath}`,
    BARE,
    "relay",
    socketPath,
  ]);
  if (await relay.line() !== "listening") throw new Error("bare relay failed");
  return relay;
}

/**
 * One run of the "built lines" ceiling: `clients` bench/_bare.ts senders, `lines` in
 * all, through the relay at `socketPath` (process `relayPid`) to one file, then the
 * check that every record is whole.
 */
export async function runBare(
  dir: string,
  socketPath: string,
  options: { clients: number; lines: number; relayPid: number; join?: boolean },
): Promise<Run> {
  const path = `${dir}/bare.log`;
  const per = Math.floor(options.lines / options.clients);
  const net = `--allow-net=unix:${socketPath}`;
  let cpuAtGo = 0;
  let serverCpu = 0;
  const times = await runWriters(
    Array.from({ length: options.clients }, (_, client) => ({
      name: `bare sender ${client}`,
      args: [
        "run",
        "-q",
        "--allow-read",
        "--allow-write",
        net,
        BARE,
        options.join ? "send-join" : "send",
        socketPath,
        path,
        `${client}`,
        `${per}`,
      ],
    })),
    {
      onGo: () => cpuAtGo = readCpu(options.relayPid),
      onDone: () => serverCpu = readCpu(options.relayPid) - cpuAtGo,
    },
  );
  const expected = new Map(Array.from({ length: options.clients }, (_, c) => [c, per]));
  return {
    ...span(times),
    problems: await verify(new Map([[path, expected]])),
    serverCpu,
    writersCpu: times.reduce((sum, t) => sum + (t.cpu ?? 0), 0),
  };
}

/** One untimed pass, so that every row meets a server whose code is compiled. */
export async function warmUp(
  dir: string,
  socketPath: string,
  lines: number,
): Promise<void> {
  const options = {
    mode: "string",
    clients: 1,
    lines: Math.ceil(lines / 4),
    separate: false,
  };
  const { problems } = await runProxy(dir, socketPath, options);
  if (problems.length > 0) throw new Error(`Warm-up run failed: ${problems.join("; ")}`);
}

/** A file under /proc: Deno reads /proc only with --allow-all, `cat` needs --allow-run. */
function readProc(path: string): string {
  const output = new Deno.Command("cat", { args: [path] }).outputSync();
  if (!output.success) throw new Error(`Cannot read ${path}`);
  return new TextDecoder().decode(output.stdout);
}

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`: 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function readCpu(pid: number): number {
  const stat = readProc(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The server's VmRSS and VmHWM in bytes, from /proc/<pid>/status. */
export function readStatus(pid: number): { rss: number; hwm: number } {
  const status = readProc(`/proc/${pid}/status`);
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
}

/** Opens `ProxyFile`s to `socketPath` until `idle` holds `count`, 100 at a time. */
export async function openIdle(
  count: number,
  dir: string,
  socketPath: string,
  idle: ProxyFile[],
): Promise<void> {
  while (idle.length < count) {
    const batch = Math.min(100, count - idle.length);
    idle.push(
      ...await Promise.all(
        Array.from(
          { length: batch },
          () => ProxyFile.open(`${dir}/idle.log`, { socketPath }),
        ),
      ),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the server settle
}
