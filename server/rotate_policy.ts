/**
 * {@linkcode RotatePolicy}: when the server rotates the files it writes by itself
 * (`--rotate-size`, `--rotate-interval`), how many rotated files it keeps
 * (`--rotate-keep`) and whether it compresses them (`--rotate-compress`); the flags'
 * parsing, and the decisions the file's writer asks for between two writes.
 *
 * @module
 */

import { parseByteSize } from "./_byte_size.ts";

/**
 * Built-in rotation, server-wide: every file the server opens is rotated alike.
 *
 * @example
 * ```ts
 * import type { RotatePolicy } from "./rotate_policy.ts";
 * const policy: RotatePolicy = { size: 1024 * 1024, intervalMs: null, keep: 5, compress: true };
 * ```
 */
export interface RotatePolicy {
  /** Rotate a file once it holds this many bytes; `null`: not by size. */
  readonly size: number | null;
  /** Rotate a file that has data this long after it was opened or last rotated. */
  readonly intervalMs: number | null;
  /** Rotated files kept: `PATH.1` (newest) to `PATH.<keep>`. */
  readonly keep: number;
  /** Rotated files become `PATH.N.gz`. */
  readonly compress: boolean;
}

/**
 * The rotation flags as given on the command line (strings, unparsed).
 *
 * @example
 * ```ts
 * import type { RotateFlags } from "./rotate_policy.ts";
 * const flags: RotateFlags = { size: "1M", keep: "10", compress: true };
 * ```
 */
export interface RotateFlags {
  /** `--rotate-size`. */
  size?: string | undefined;
  /** `--rotate-interval`. */
  interval?: string | undefined;
  /** `--rotate-keep`. */
  keep?: string | undefined;
  /** `--rotate-compress`. */
  compress?: boolean | undefined;
}

/**
 * `--rotate-keep` when a trigger is set and the flag is not.
 *
 * @example
 * ```ts
 * import { DEFAULT_ROTATE_KEEP } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_ROTATE_KEEP, 5);
 * ```
 */
export const DEFAULT_ROTATE_KEEP = 5;

/**
 * The smallest `--rotate-size`, in bytes: a smaller one would rotate at nearly
 * every write.
 *
 * @example
 * ```ts
 * import { MIN_ROTATE_SIZE } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MIN_ROTATE_SIZE, 4096);
 * ```
 */
export const MIN_ROTATE_SIZE = 4096;

/** The most rotated files kept: each rotation renames every one of them. */
const MAX_ROTATE_KEEP = 1000;

const DURATION_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses the rotation flags.
 *
 * @param flags The flags as given.
 * @returns The policy, or `null` when built-in rotation is off (no trigger).
 * @throws {RangeError} A value is malformed or out of range, or `--rotate-keep` or
 * `--rotate-compress` came without `--rotate-size` or `--rotate-interval`.
 *
 * @example
 * ```ts
 * import { parseRotateFlags } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRotateFlags({ size: "1M", compress: true }), {
 *   size: 1024 * 1024, intervalMs: null, keep: 5, compress: true,
 * });
 * assert.equal(parseRotateFlags({}), null);
 * ```
 */
export function parseRotateFlags(flags: RotateFlags): RotatePolicy | null {
  const size = flags.size === undefined
    ? null
    : parseByteSize("--rotate-size", flags.size, MIN_ROTATE_SIZE);
  const intervalMs = flags.interval === undefined
    ? null
    : parseDuration("--rotate-interval", flags.interval);
  const keep = flags.keep === undefined ? DEFAULT_ROTATE_KEEP : parseKeep(flags.keep);
  if (size === null && intervalMs === null) {
    for (
      const [flag, given] of [["--rotate-keep", flags.keep], [
        "--rotate-compress",
        flags.compress,
      ]] as const
    ) {
      if (given !== undefined && given !== false) {
        throw new RangeError(
          `${flag} needs --rotate-size or --rotate-interval: without them the server ` +
            `does not rotate files itself`,
        );
      }
    }
    return null;
  }
  return { size, intervalMs, keep, compress: flags.compress ?? false };
}

/**
 * Parses a duration: a whole number and a unit, `s`, `m`, `h` or `d` (`90s`, `15m`,
 * `1h`, `1d`).
 *
 * @param flag The flag, for the message.
 * @param text The value.
 * @returns Milliseconds, at least 1000.
 * @throws {RangeError} It is malformed or zero.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("--rotate-interval", "15m"), 15 * 60 * 1000);
 * ```
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^([0-9]+)([smhd])$/.exec(text);
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new RangeError(
      `${flag} takes a duration above zero, a whole number with s, m, h or d ` +
        `(90s, 15m, 1h, 1d), not "${text}"`,
    );
  }
  return ms;
}

function parseKeep(text: string): number {
  const keep = Number(text);
  if (!/^[0-9]+$/.test(text) || keep < 1 || keep > MAX_ROTATE_KEEP) {
    throw new RangeError(
      `--rotate-keep takes a whole number of rotated files to keep, 1 to ` +
        `${MAX_ROTATE_KEEP}, not "${text}"`,
    );
  }
  return keep;
}

/**
 * Why a file is due for rotation now, if it is.
 *
 * @param policy The policy.
 * @param bytes Bytes in the file now.
 * @param openedAt When the server opened or last rotated it (ms, as `now`).
 * @param now The time now.
 * @returns `"size"`, `"age"`, or `null` when not due (an empty file never is).
 *
 * @example
 * ```ts
 * import { rotationDue } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * const policy = { size: 4096, intervalMs: 60_000, keep: 5, compress: false };
 * assert.equal(rotationDue(policy, 5000, 0, 1), "size");
 * assert.equal(rotationDue(policy, 10, 0, 60_000), "age");
 * assert.equal(rotationDue(policy, 0, 0, 60_000), null);
 * ```
 */
export function rotationDue(
  policy: RotatePolicy,
  bytes: number,
  openedAt: number,
  now: number,
): "size" | "age" | null {
  if (bytes <= 0) return null;
  if (policy.size !== null && bytes >= policy.size) return "size";
  if (policy.intervalMs !== null && now - openedAt >= policy.intervalMs) return "age";
  return null;
}

/**
 * How many units of a batch go to the file before it rotates: up to and including the
 * one that makes the file reach `--rotate-size`, so that the unit that crosses the
 * size is written whole, and no file passes the size by more than one unit.
 *
 * @param policy The policy.
 * @param bytes Bytes in the file now.
 * @param sizes The sizes of the batch's units, in order.
 * @returns The number of units to write before rotating; `sizes.length` when the file
 * does not reach the size within the batch (or rotates by age only).
 *
 * @example
 * ```ts
 * import { unitsBeforeRotation } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * const policy = { size: 4096, intervalMs: null, keep: 5, compress: false };
 * assert.equal(unitsBeforeRotation(policy, 4000, [50, 50, 50]), 2);
 * assert.equal(unitsBeforeRotation(policy, 0, [50, 50]), 2);
 * ```
 */
export function unitsBeforeRotation(
  policy: RotatePolicy,
  bytes: number,
  sizes: readonly number[],
): number {
  if (policy.size === null) return sizes.length;
  let total = bytes;
  for (let k = 0; k < sizes.length; k++) {
    total += sizes[k]!;
    if (total >= policy.size) return k + 1;
  }
  return sizes.length;
}

/**
 * Milliseconds between checks for files due by age: a tenth of the interval, between
 * 100 ms and 1 s, so that a file rotates at most that late.
 *
 * @param policy The policy.
 * @returns The period, or `null` when nothing rotates by age.
 *
 * @example
 * ```ts
 * import { ageCheckPeriod } from "./rotate_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ageCheckPeriod({ size: null, intervalMs: 3_600_000, keep: 5, compress: false }), 1000);
 * ```
 */
export function ageCheckPeriod(policy: RotatePolicy): number | null {
  if (policy.intervalMs === null) return null;
  return Math.min(1000, Math.max(100, Math.floor(policy.intervalMs / 10)));
}
