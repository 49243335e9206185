// Summarises V8 .cpuprofile files (from `deno run --cpu-prof`): where the main thread
// spent its time, by function (self time), with idle time shown apart so that the
// percentages of busy time add up.
//
//   deno run --allow-read bench/profile_summary.ts [--top N] FILE.cpuprofile...

import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function, in microseconds. */
export interface FunctionTime {
  name: string;
  where: string;
  micros: number;
}

/** A profile's time: in all, idle, and per function while busy. */
export interface Summary {
  totalMicros: number;
  idleMicros: number;
  functions: FunctionTime[];
}

/** Project paths from the project's top folder, npm packages as `npm:<name>`. */
function where(frame: CallFrame): string {
  if (frame.url === "") return "";
  const short = frame.url
    .replace(/^file:\/\/.*\/registry\.npmjs\.org\//, "npm:")
    .replace(/^file:\/\/.*?\/((client|server|protocol|bench|tests)\/)/, "$1");
  return `${short}:${frame.lineNumber + 1}`;
}

/**
 * Adds up a profile's samples per function (self time).
 *
 * @param profile The parsed .cpuprofile.
 * @returns The summary, functions by decreasing time.
 */
export function summarise(profile: CpuProfile): Summary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, FunctionTime>();
  let total = 0;
  let idle = 0;
  // timeDeltas[i] is the time before sample i; it is charged to sample i - 1's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const frame = nodes.get(profile.samples[i]!)!.callFrame;
    total += delta;
    if (frame.functionName === "(idle)") {
      idle += delta;
      continue;
    }
    const name = frame.functionName || "(anonymous)";
    const key = `${name} ${where(frame)}`;
    let entry = byFunction.get(key);
    if (entry === undefined) {
      entry = { name, where: where(frame), micros: 0 };
      byFunction.set(key, entry);
    }
    entry.micros += delta;
  }
  const functions = [...byFunction.values()].sort((a, b) => b.micros - a.micros);
  return { totalMicros: total, idleMicros: idle, functions };
}

/**
 * Formats a summary as a Markdown table.
 *
 * @param title The heading.
 * @param summary What {@linkcode summarise} returned.
 * @param top How many functions to list.
 * @returns The text.
 */
export function format(title: string, summary: Summary, top: number): string {
  const busy = summary.totalMicros - summary.idleMicros;
  const ms = (micros: number) => (micros / 1000).toFixed(1);
  const lines = [
    `### ${title}`,
    "",
    `${ms(summary.totalMicros)} ms sampled: ${ms(busy)} ms busy, ${
      ms(summary.idleMicros)
    } ms idle.`,
    "",
    "| self ms | % of busy | function | where |",
    "| ---: | ---: | --- | --- |",
  ];
  for (const fn of summary.functions.slice(0, top)) {
    lines.push(
      `| ${ms(fn.micros)} | ${(fn.micros / busy * 100).toFixed(1)}% | \`${fn.name}\` | ${
        fn.where ? `\`${fn.where}\`` : ""
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "15" } },
  });
  for (const path of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
    console.log(format(path, summarise(profile), Number(values.top)));
    console.log();
  }
}
