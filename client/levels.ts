/**
 * Log levels, numbered as Python's `logging` numbers them.
 *
 * @module
 */

/**
 * Detailed information for diagnosing problems.
 *
 * @example
 * ```ts
 * import { DEBUG } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(DEBUG, 10);
 * ```
 */
export const DEBUG: number = 10;
/**
 * Confirmation that things work as expected.
 *
 * @example
 * ```ts
 * import { INFO } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(INFO, 20);
 * ```
 */
export const INFO: number = 20;
/**
 * Something unexpected that the program survives.
 *
 * @example
 * ```ts
 * import { WARNING } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(WARNING, 30);
 * ```
 */
export const WARNING: number = 30;
/**
 * A failure of some operation.
 *
 * @example
 * ```ts
 * import { ERROR } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(ERROR, 40);
 * ```
 */
export const ERROR: number = 40;
/**
 * A failure the program may not survive.
 *
 * @example
 * ```ts
 * import { CRITICAL } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(CRITICAL, 50);
 * ```
 */
export const CRITICAL: number = 50;

const NAMES: Record<number, string> = {
  [DEBUG]: "DEBUG",
  [INFO]: "INFO",
  [WARNING]: "WARNING",
  [ERROR]: "ERROR",
  [CRITICAL]: "CRITICAL",
};

/**
 * The name of a level: `"INFO"` for 20, `"Level 15"` for a number without a name.
 *
 * @param level The level.
 * @returns Its name.
 *
 * @example
 * ```ts
 * import { levelName } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * assert.equal(levelName(30), "WARNING");
 * assert.equal(levelName(15), "Level 15");
 * ```
 */
export function levelName(level: number): string {
  return NAMES[level] ?? `Level ${level}`;
}
