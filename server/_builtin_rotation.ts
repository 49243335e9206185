// The server-wide side of built-in rotation (--rotate-size, --rotate-interval,
// --rotate-keep, --rotate-compress): the one compressor, the timer that has files due
// by age rotated when no write comes, and the start-up line that says the policy.

import { Compressor } from "./compressor.ts";
import { sizeText } from "./_byte_size.ts";
import { ageCheckPeriod, type RotatePolicy } from "./rotate_policy.ts";

/** What every file opened with built-in rotation shares. */
export interface BuiltinRotation {
  /** For the files' options: the policy and the compressor. */
  readonly files: { policy: RotatePolicy; compressor: Compressor | null };
  /** Stops the timer and the compressor (the file under way is left for next time). */
  stop(): Promise<void>;
}

/**
 * Starts built-in rotation for a server.
 *
 * @param policy The flags, parsed.
 * @param open The files open now, asked every so often whether they are due by age.
 * @param log Logs a line (a warning when `warning` is set).
 * @returns What the files share, and how to stop.
 */
export function startBuiltinRotation(
  policy: RotatePolicy,
  open: () => Iterable<{ checkAge(): void }>,
  log: (message: string, warning?: boolean) => void,
): BuiltinRotation {
  const compressor = policy.compress ? new Compressor({ log }) : null;
  const period = ageCheckPeriod(policy);
  const timer = period === null ? undefined : setInterval(() => {
    for (const file of open()) file.checkAge();
  }, period);
  log(`Rotation: ${describePolicy(policy)}`);
  return {
    files: { policy, compressor },
    async stop() {
      clearInterval(timer);
      await compressor?.close();
    },
  };
}

/** The policy in the flags' words, for the start-up line. */
export function describePolicy(policy: RotatePolicy): string {
  const when = [
    ...(policy.size === null ? [] : [`at ${sizeText(policy.size)} (--rotate-size)`]),
    ...(policy.intervalMs === null
      ? []
      : [`after ${durationText(policy.intervalMs)} (--rotate-interval)`]),
  ].join(" or ");
  return `each file ${when}, keeping ${policy.keep} (--rotate-keep)${
    policy.compress ? ", compressed to .gz (--rotate-compress)" : ""
  }`;
}

function durationText(ms: number): string {
  for (
    const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const
  ) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}
