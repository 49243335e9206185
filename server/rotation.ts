/**
 * Log rotation: reopening files that were moved or deleted, as logrotate and offlog 0.3
 * expect.
 *
 * @module
 */

import type { FileTable } from "./file_table.ts";
import type { SharedFile } from "./shared_file.ts";

/**
 * Milliseconds between two checks of whether open files were moved or deleted.
 *
 * @example
 * ```ts
 * import { DEFAULT_ROTATE_CHECK_MS } from "./rotation.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_ROTATE_CHECK_MS, 5000);
 * ```
 */
export const DEFAULT_ROTATE_CHECK_MS = 5000;

/**
 * Checks open files every `intervalMs` and on demand.
 *
 * @example
 * ```ts
 * import { Rotation } from "./rotation.ts";
 * import { FileTable } from "./file_table.ts";
 * const rotation = new Rotation(new FileTable(), 5000, (file, why) => console.log(file.path, why));
 * await rotation.reopenAll("SIGHUP");
 * rotation.stop();
 * ```
 */
export class Rotation {
  #files: FileTable;
  #onReopened: (file: SharedFile, why: string, error?: unknown) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking = false;

  /**
   * Starts checking.
   *
   * @param files The server's open files.
   * @param intervalMs Milliseconds between checks; 0 turns the timer off.
   * @param onReopened Told of each file reopened and why, with the error if reopening
   * failed (writing then goes on to the old handle).
   */
  constructor(
    files: FileTable,
    intervalMs: number,
    onReopened: (file: SharedFile, why: string, error?: unknown) => void,
  ) {
    this.#files = files;
    this.#onReopened = onReopened;
    if (intervalMs > 0) this.#timer = setInterval(() => void this.#check(), intervalMs);
  }

  /**
   * Reopens every open file, as on SIGHUP.
   *
   * @param why Said in the log.
   * @returns A promise that resolves once every file is reopened.
   */
  async reopenAll(why: string): Promise<void> {
    await Promise.all(this.#files.open.map((file) => this.#reopen(file, why)));
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const file of this.#files.open) {
        let moved = false;
        try {
          moved = file.accepting && await file.moved();
        } catch {
          // cannot tell now; the next check tries again
        }
        if (moved) await this.#reopen(file, "moved or deleted");
      }
    } finally {
      this.#checking = false;
    }
  }

  async #reopen(file: SharedFile, why: string): Promise<void> {
    try {
      // False: the file closed (its last client left) first, so nothing was opened.
      if (await file.reopen()) this.#onReopened(file, why);
    } catch (error) {
      this.#onReopened(file, why, error);
    }
  }
}
