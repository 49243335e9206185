// The "memory given back" row of bench/e2e.ts: a fresh server takes a burst (1 GB by
// default) from 16 "built lines" writer processes on one file; once the last writer's
// flush() resolved and the writers have exited, the server's VmRSS is read every
// second while it idles. Then the file is checked (after the samples, so that the
// check's own work does not delay them).

import { clientArgs, runWriters, startServer } from "./_children.ts";
import { LINE_BYTES } from "./_lines.ts";
import { readStatus, span, verify } from "./_runs.ts";

/**
 * How the server runs as deploy/offlog.service and `deno task serve` run it: glibc
 * maps buffers of 64 KiB and up (so freeing them gives the memory back).
 */
export const DEPLOYED = {
  flags: [] as string[],
  env: {
    GLIBC_TUNABLES:
      "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072",
  },
};

/** What {@linkcode memoryAfterBurst} found. */
export interface MemoryReport {
  /** How the server ran: "plain command", or "as deployed" ({@linkcode DEPLOYED}). */
  settings: string;
  bytes: number;
  writers: number;
  seconds: number;
  /** VmRSS of the fresh server before the burst (writers' warm-up excluded). */
  before: number;
  /** VmHWM at the end of the idle time: the peak. */
  peak: number;
  /** VmRSS at 0, 1, 2, ... seconds of idle. */
  samples: number[];
  problems: string[];
}

/** The burst, then `idleSeconds` of samples. */
export async function memoryAfterBurst(
  dir: string,
  options: { bytes: number; writers: number; idleSeconds: number; deployed: boolean },
): Promise<MemoryReport> {
  const socketPath = `${dir}/memory.sock`;
  const server = options.deployed
    ? await startServer(socketPath, DEPLOYED.flags, DEPLOYED.env)
    : await startServer(socketPath);
  try {
    const pid = server.process.pid;
    const per = Math.floor(options.bytes / LINE_BYTES / options.writers);
    const path = `${dir}/burst.log`;
    let before = 0;
    const times = await runWriters(
      Array.from({ length: options.writers }, (_, client) => ({
        name: `burst writer ${client}`,
        args: clientArgs("built", socketPath, path, client, per),
      })),
      { onGo: () => before = readStatus(pid).rss },
    );
    const samples = [readStatus(pid).rss];
    for (let s = 1; s <= options.idleSeconds; s++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      samples.push(readStatus(pid).rss);
    }
    const peak = readStatus(pid).hwm;
    const expected = new Map(Array.from({ length: options.writers }, (_, c) => [c, per]));
    const problems = await verify(new Map([[path, expected]]));
    return {
      settings: options.deployed ? "as deployed" : "plain command",
      bytes: per * options.writers * LINE_BYTES,
      writers: options.writers,
      seconds: span(times).seconds,
      before,
      peak,
      samples,
      problems,
    };
  } finally {
    await server.finish("SIGTERM");
  }
}

/** The reports as a Markdown table, one row each, with its header. */
export function memoryTable(reports: MemoryReport[]): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  const seconds = (reports[0]?.samples.length ?? 1) - 1;
  return [
    "| burst | server | MB/s | server RSS before (MB) | peak VmHWM (MB) | RSS at idle 0 s (MB) " +
    `| RSS after ${seconds} s (MB) | RSS each second (MB) | records |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...reports.map((report) =>
      `| ${
        mb(report.bytes)
      } MB from ${report.writers} writer processes, one file | ${report.settings} | ${
        (report.bytes / report.seconds / 1e6).toFixed(0)
      } | ${mb(report.before)} | ${mb(report.peak)} | ${
        mb(report.samples[0] ?? NaN)
      } | **${mb(report.samples.at(-1) ?? NaN)}** | ${
        report.samples.map(mb).join(", ")
      } | ${
        report.problems.length === 0 ? "whole" : `**${report.problems.join("; ")}**`
      } |`
    ),
  ].join("\n");
}
