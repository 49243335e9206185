// The 0.x rows of bench/e2e.ts: Python offlog clients (releases v0.1.0 and v0.3.1)
// writing through our server beside the same clients through the Python server of
// the same release, in the same run. Each release is checked out of a bare git
// repository (its path in OFFLOG_PY_GIT) into the run's temporary directory, never
// into this repository, and removed with it.

import { runWriters, spawn, waitForSocket } from "./_children.ts";
import { type PairRow, runPair } from "./_pairs.ts";
import { readCpu, type Run, span, verify } from "./_runs.ts";

/** The environment variable that holds the Python offlog's bare git directory. */
export const PY_GIT_ENV = "OFFLOG_PY_GIT";
const TAGS = ["v0.1.0", "v0.3.1"];
const WRITER = new URL("./_py_writer.py", import.meta.url).pathname;

/** Why the 0.x rows cannot run here, or `null` when they can. */
export async function pythonSkipReason(): Promise<string | null> {
  const git = Deno.env.get(PY_GIT_ENV);
  if (git === undefined || git === "") return `${PY_GIT_ENV} is not set`;
  try {
    await Deno.stat(`${git}/HEAD`);
  } catch {
    return `${PY_GIT_ENV}="${git}" is not a git directory`;
  }
  try {
    const ok = await new Deno.Command("python3", { args: ["--version"], stdout: "null" })
      .output();
    if (!ok.success) return "python3 does not run";
  } catch {
    return "python3 is not on PATH";
  }
  return null;
}

async function checkout(git: string, tag: string, into: string): Promise<void> {
  await Deno.mkdir(into, { recursive: true });
  const done = await new Deno.Command("bash", {
    args: [
      "-c",
      'set -o pipefail; git --git-dir="$1" archive "$2" | tar -x -C "$3"',
      "checkout",
      git,
      tag,
      into,
    ],
    stdout: "null",
  }).output();
  if (!done.success) {
    throw new Error(`Cannot check out ${tag}: ${new TextDecoder().decode(done.stderr)}`);
  }
}

/** One Python client writing `lines` lines through the server at `socketPath`. */
async function runPython(
  dir: string,
  socketPath: string,
  options: { lines: number; serverPid: number; pythonPath: string },
): Promise<Run> {
  const path = `${dir}/py.log`;
  let cpuAtGo = 0;
  let serverCpu = 0;
  const times = await runWriters([{
    name: "python writer",
    args: [WRITER, socketPath, path, "0", `${options.lines}`],
    options: { command: "python3", env: { PYTHONPATH: options.pythonPath } },
  }], {
    onGo: () => cpuAtGo = readCpu(options.serverPid),
    onDone: () => serverCpu = readCpu(options.serverPid) - cpuAtGo,
  });
  return {
    ...span(times),
    problems: await verify(new Map([[path, new Map([[0, options.lines]])]])),
    serverCpu,
    writersCpu: times[0]?.cpu ?? 0,
  };
}

/**
 * For each release: its client through the Python server of the same release (the
 * reference) and through our server at `socketPath` (process `serverPid`), in turn.
 */
export async function pythonPairs(
  dir: string,
  options: {
    lines: number;
    repeat: number;
    socketPath: string;
    serverPid: number;
    log: (text: string) => void;
  },
): Promise<PairRow[]> {
  const git = Deno.env.get(PY_GIT_ENV)!;
  const rows: PairRow[] = [];
  for (const tag of TAGS) {
    const pythonPath = `${dir}/python-offlog-${tag}`;
    await checkout(git, tag, pythonPath);
    const pySocket = `${dir}/py-${tag}.sock`;
    const pyServer = spawn(`python server ${tag}`, ["-m", "offlog", "-s", pySocket], {
      command: "python3",
      env: { PYTHONPATH: pythonPath },
      quiet: true,
    });
    try {
      await waitForSocket(pySocket, pyServer);
      rows.push(
        await runPair(
          {
            name: `0.x client ${tag}, 1 process, f-string lines`,
            lines: options.lines,
            reference: `Python server ${tag}`,
          },
          options.repeat,
          {
            reference: () =>
              runPython(dir, pySocket, {
                lines: options.lines,
                serverPid: pyServer.process.pid,
                pythonPath,
              }),
            offlog: () =>
              runPython(dir, options.socketPath, {
                lines: options.lines,
                serverPid: options.serverPid,
                pythonPath,
              }),
          },
          options.log,
        ),
      );
    } finally {
      await pyServer.finish("SIGTERM").catch(() => pyServer.kill());
    }
  }
  return rows;
}
