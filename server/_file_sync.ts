/**
 * {@linkcode FileSync}: the syncs (`fdatasync`) of one file. Requests made while a
 * sync waits to start share it; once a sync was asked for, a reopen syncs the old
 * handle before letting it go, so a later sync covers what went to it.
 *
 * @module
 */

import { logText as logPath } from "./_log_text.ts";
import type { FileCounters } from "./file_counters.ts";

/**
 * The sync state of one file: whether it changed since the last sync began, and the
 * chain of syncs, one at a time.
 *
 * @example
 * ```ts
 * import { FileSync } from "./_file_sync.ts";
 * import { FileCounters } from "./file_counters.ts";
 * import assert from "node:assert/strict";
 * const counters = new FileCounters();
 * const sync = new FileSync("/tmp/a.log", counters);
 * sync.wrote();
 * assert.equal(sync.dirty, true);
 * let synced = 0;
 * await Promise.all([sync.sync(async () => { synced++; }), sync.sync(async () => { synced++; })]);
 * assert.equal(synced, 1, "two requests, one fdatasync");
 * assert.equal(sync.dirty, false);
 * ```
 */
export class FileSync {
  #path: string;
  #counters: FileCounters;
  #log: ((message: string, warning?: boolean) => void) | undefined;
  /** Written since the last sync started. */
  #dirty = false;
  /** A sync asked for: from then on, a reopen syncs the old handle first. */
  #wanted = false;
  #syncing: Promise<void> = Promise.resolve();
  #next: Promise<void> | null = null;
  /** Syncs of handles let go after a rotation, in the background. */
  #retiring: Promise<void> = Promise.resolve();
  /** Why the last of those failed, for the next sync request to report. */
  #retireError: unknown = null;

  /**
   * No sync yet.
   *
   * @param path The file's path, for the log.
   * @param counters Where syncs and their failures are counted.
   * @param log Logs a line (a warning when `warning` is set).
   */
  constructor(
    path: string,
    counters: FileCounters,
    log?: (message: string, warning?: boolean) => void,
  ) {
    this.#path = path;
    this.#counters = counters;
    this.#log = log;
  }

  /** Whether anything was written since the last sync began. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Bytes went into the file. */
  wrote(): void {
    this.#dirty = true;
  }

  /**
   * Syncs past everything written so far; requests made while a sync waits to start
   * share it.
   *
   * @param syncData Syncs the file's current handle.
   * @returns A promise that resolves once synced.
   * @throws What `syncData` throws (EIO).
   */
  sync(syncData: () => Promise<void>): Promise<void> {
    this.#wanted = true;
    if (this.#next !== null) return this.#next;
    const next: Promise<void> = this.#syncing.catch(() => {}).then(async () => {
      if (this.#next === next) this.#next = null;
      this.#dirty = false;
      // What went to handles let go since is covered by their own syncs.
      await this.#retiring;
      const retireError = this.#retireError;
      this.#retireError = null;
      this.#counters.synced();
      try {
        await syncData();
      } catch (error) {
        this.#counters.failed();
        throw error;
      }
      if (retireError !== null) throw retireError;
    });
    this.#next = next;
    this.#syncing = next;
    return next;
  }

  /**
   * A new handle is about to replace `old`: what a later sync request covers went to
   * the old one too, so it is synced first (once any sync was asked for).
   *
   * @param old The handle being replaced.
   */
  async beforeSwap(old: Deno.FsFile): Promise<void> {
    await this.#retiring;
    if (!this.#wanted || !this.#dirty) return;
    await this.#syncing.catch(() => {});
    await old.syncData().catch((error) => {
      this.#counters.failed();
      this.#log?.(`Could not sync ${logPath(this.#path)}: ${error}`, true);
    });
  }

  /**
   * The server's own rotation renamed the file and opened a new one: the old handle
   * is synced in the background when it holds data not yet synced (without holding
   * up the next write), then closed. A sync request made later waits for that sync,
   * so a durable flush covers the renamed file too, and reports its failure.
   *
   * @param old The handle of the renamed file.
   */
  retire(old: Deno.FsFile): void {
    const dirty = this.#dirty;
    this.#dirty = false;
    const previous = this.#syncing.catch(() => {});
    this.#retiring = Promise.all([this.#retiring, previous]).then(async () => {
      if (!dirty) return;
      this.#counters.synced();
      try {
        await old.syncData();
      } catch (error) {
        this.#counters.failed();
        this.#retireError = error;
        this.#log?.(`Could not sync the rotated ${logPath(this.#path)}: ${error}`, true);
      }
    }).finally(() => old.close());
  }

  /**
   * Resolves once the background syncs of rotated handles are done.
   *
   * @returns A promise that never rejects.
   */
  settled(): Promise<void> {
    return this.#retiring;
  }
}
