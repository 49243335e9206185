// Test helper: the real server under strace, for tests that check what it synced. Its
// fdatasync calls go to a trace file, each with its result.

import { collectOutput, type Output } from "./_output.ts";
import { findTool, requireTool } from "./_tools.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

/** strace's path, or `null` where it is missing (see `ignoreWithout`). */
export const STRACE: string | null = findTool("strace");

/** A server started under strace. */
export interface TracedServer {
  process: Deno.ChildProcess;
  output: Output;
}

/** Starts the server on `socketPath` with `args`, its fdatasync calls traced to `trace`. */
export function startTracedServer(
  socketPath: string,
  trace: string,
  args: string[] = [],
): TracedServer {
  const process = new Deno.Command(requireTool(STRACE, "strace"), {
    args: [
      "-f",
      "-qq",
      "-e",
      "trace=fdatasync",
      "-o",
      trace,
      Deno.execPath(),
      "run",
      "-q",
      "--allow-read",
      "--allow-write",
      `--allow-net=unix:${socketPath}`,
      SERVER,
      "-s",
      socketPath,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { process, output: collectOutput(process) };
}
