// Paired rows of bench/e2e.ts: a reference (a ceiling, or the Python server) and
// offlog, run in turn within one run (the one that goes first alternates), so that
// each round gives a ratio measured under the same load. The table shows medians of
// the runs and the median of the rounds' ratios with their range.

import { LINE_BYTES } from "./_lines.ts";
import type { Run } from "./_runs.ts";

/** A paired row: rounds of one reference run and one offlog run. */
export interface PairRow {
  name: string;
  lines: number;
  /** A short name of the reference, e.g. "ceiling" or "Python server". */
  reference: string;
  rounds: { reference: Run; offlog: Run }[];
}

/** Median of `values` (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `repeat` rounds of `reference` and `offlog`, alternating which goes first. */
export async function runPair(
  row: Omit<PairRow, "rounds">,
  repeat: number,
  runs: { reference: () => Promise<Run>; offlog: () => Promise<Run> },
  log: (text: string) => void,
): Promise<PairRow> {
  const result: PairRow = { ...row, rounds: [] };
  for (let i = 0; i < repeat; i++) {
    log(`${row.name} (round ${i + 1} of ${repeat})`);
    if (i % 2 === 0) {
      const reference = await runs.reference();
      result.rounds.push({ reference, offlog: await runs.offlog() });
    } else {
      const offlog = await runs.offlog();
      result.rounds.push({ reference: await runs.reference(), offlog });
    }
  }
  return result;
}

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function perLine(seconds: (number | undefined)[], lines: number): string {
  const known = seconds.filter((s): s is number => s !== undefined);
  return known.length === 0 ? "" : (median(known) * 1e9 / lines).toFixed(0);
}

/** The Markdown table of paired rows. */
export function pairTable(rows: PairRow[]): string {
  const out = [
    "| row | lines | reference | ref lines/s | ref MB/s | offlog lines/s | offlog MB/s | offlog / ref (range) | writers CPU ns/line ref → offlog | server CPU ns/line ref → offlog | MB/s of runs ref; offlog | records |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |",
  ];
  for (const row of rows) {
    const rate = (run: Run) => row.lines / run.seconds;
    const refRates = row.rounds.map((r) => rate(r.reference));
    const ourRates = row.rounds.map((r) => rate(r.offlog));
    const ratios = row.rounds.map((r) => rate(r.offlog) / rate(r.reference));
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    const mbs = (rates: number[]) =>
      rates.map((r) => (r * LINE_BYTES / 1e6).toFixed(0)).join(", ");
    const failed = (pick: (round: PairRow["rounds"][number]) => Run) => {
      const runs = row.rounds.filter((r) => pick(r).problems.length > 0);
      return runs.length === 0
        ? []
        : [`${runs.length} of ${row.rounds.length} runs not whole: ${
          runs.map((r) => pick(r).problems.join(", ")).join("; ")
        }`];
    };
    const problems = [
      ...failed((r) => r.reference).map((p) => `${row.reference}: ${p}`),
      ...failed((r) => r.offlog).map((p) => `offlog: ${p}`),
    ];
    const cpu = (pick: (run: Run) => number | undefined) =>
      `${perLine(row.rounds.map((r) => pick(r.reference)), row.lines)} → ${
        perLine(row.rounds.map((r) => pick(r.offlog)), row.lines)
      }`;
    out.push(
      `| ${row.name} | ${number.format(row.lines)} | ${row.reference} | ${
        number.format(median(refRates))
      } | ${(median(refRates) * LINE_BYTES / 1e6).toFixed(0)} | ${
        number.format(median(ourRates))
      } | ${(median(ourRates) * LINE_BYTES / 1e6).toFixed(0)} | **${
        pct(median(ratios))
      }** (${pct(Math.min(...ratios))}-${pct(Math.max(...ratios))}) | ${
        cpu((run) => run.writersCpu)
      } | ${cpu((run) => run.serverCpu)} | ${mbs(refRates)}; ${mbs(ourRates)} | ${
        problems.length === 0 ? "whole" : `**${problems.join("; ")}**`
      } |`,
    );
  }
  return out.join("\n");
}
