// The pipe.ts row of bench/e2e.ts: N lines fed through a shell pipe into pipe.ts, which
// appends each as a record through the server, beside the same pipe into `cat >>`.
// A run's time is the shell's, from spawn to exit, so pipe.ts's start-up (Deno
// starting, connecting, opening the file) is in it, as it is for a user. "writers
// CPU" is the pipeline's CPU (both `cat`s, or `cat` and pipe.ts), from the shell's
// `times`.

import { buildLine } from "./_lines.ts";
import { readCpu, type Run, verify } from "./_runs.ts";

/** pipe.ts at the top of the repository, if it is there. */
export const PIPE: string = new URL("../pipe.ts", import.meta.url).pathname;

/** Why the pipe.ts row cannot run, or `null` when it can. */
export async function pipeSkipReason(): Promise<string | null> {
  try {
    await Deno.stat(PIPE);
    return null;
  } catch {
    return "there is no pipe.ts at the top of the repository";
  }
}

/** Writes `lines` lines of writer 0 (bench/_lines.ts buildLine) to `path`. */
export async function writeInput(path: string, lines: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  for (let from = 0; from < lines; from += 10_000) {
    const chunk: string[] = [];
    for (let i = from; i < Math.min(lines, from + 10_000); i++) {
      chunk.push(buildLine("000", i));
    }
    const bytes = encoder.encode(chunk.join(""));
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
  }
}

/** The CPU seconds of the shell's children, from the second line of `times`. */
function childrenCpu(output: string): number | undefined {
  const line = output.trim().split("\n").at(-1) ?? "";
  const seconds = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) =>
    Number(m[1]) * 60 + Number(m[2])
  );
  return seconds.length === 2 ? seconds[0]! + seconds[1]! : undefined;
}

async function shell(
  script: string,
  args: string[],
  serverPid?: number,
): Promise<{ seconds: number; cpu: number | undefined; serverCpu: number | undefined }> {
  const cpuAtGo = serverPid === undefined ? 0 : readCpu(serverPid);
  const start = performance.now();
  const done = await new Deno.Command("sh", {
    args: ["-c", `${script} || exit $?; times`, "pipe-row", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!done.success) {
    throw new Error(`"${script}" failed: ${new TextDecoder().decode(done.stderr)}`);
  }
  return {
    seconds,
    cpu: childrenCpu(new TextDecoder().decode(done.stdout)),
    serverCpu: serverPid === undefined ? undefined : readCpu(serverPid) - cpuAtGo,
  };
}

/** One run of `cat INPUT | cat >> FILE`: the reference. */
export async function runCat(dir: string, input: string, lines: number): Promise<Run> {
  const path = `${dir}/cat.log`;
  const { seconds, cpu } = await shell('cat "$1" | cat >> "$2"', [input, path]);
  const run: Run = {
    seconds,
    loop: seconds,
    problems: await verify(new Map([[path, new Map([[0, lines]])]])),
  };
  if (cpu !== undefined) run.writersCpu = cpu;
  return run;
}

/** One run of `cat INPUT | deno run pipe.ts -s SOCK FILE` through the server. */
export async function runPipe(
  dir: string,
  input: string,
  options: { lines: number; socketPath: string; serverPid: number },
): Promise<Run> {
  const path = `${dir}/pipe.log`;
  const sock = options.socketPath;
  const { seconds, cpu, serverCpu } = await shell(
    'cat "$1" | "$2" run -q --allow-read="$3" --allow-write="$3" --allow-net=unix:"$3" "$4" -s "$3" "$5"',
    [input, Deno.execPath(), sock, PIPE, path],
    options.serverPid,
  );
  const run: Run = {
    seconds,
    loop: seconds,
    problems: await verify(new Map([[path, new Map([[0, options.lines]])]])),
  };
  if (cpu !== undefined) run.writersCpu = cpu;
  if (serverCpu !== undefined) run.serverCpu = serverCpu;
  return run;
}
