/**
 * {@linkcode FileSync}: the syncs (`fdatasync`) of one file. Requests made while a
 * sync waits to start share it; once a sync was asked for, a reopen syncs the old
 * handle before letting it go, so a later sync covers what went to it.
 *
 * @module
 */

import { logText as logPath } from "./_log_text.ts";
import type { FileCounters } from "./file_counters.ts";

/** The server's rotated files of one path, as far as syncing them goes. */
export interface RotatedSync {
  /** Syncs the rotated files still holding these inodes' data uncompressed. */
  syncInodes(inodes: ReadonlySet<number>): Promise<void>;
}

/** Inodes of files rotated unsynced that are remembered, at most. */
const MAX_UNSYNCED = 1024;

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
  /** Inodes of files rotated with data never synced (no sync was asked for yet). */
  #unsynced = new Set<number>();
  #rotated: RotatedSync | undefined;

  /**
   * No sync yet.
   *
   * @param path The file's path, for the log.
   * @param counters Where syncs and their failures are counted.
   * @param log Logs a line (a warning when `warning` is set).
   * @param rotated Syncs the server's rotated files by inode (built-in rotation).
   */
  constructor(
    path: string,
    counters: FileCounters,
    log?: (message: string, warning?: boolean) => void,
    rotated?: RotatedSync,
  ) {
    this.#path = path;
    this.#counters = counters;
    this.#log = log;
    this.#rotated = rotated;
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
      // What went to handles let go since is covered by their own syncs, or by a
      // sync of the renamed files now.
      await this.#retiring;
      if (this.#unsynced.size > 0) await this.#syncRenamed();
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
   * The server's own rotation renamed the file and opened a new one. Once a sync was
   * asked for on this file, the old handle is synced in the background when it holds
   * data not yet synced (without holding up the next write), then closed; a sync
   * request made later waits for that sync. Before any was asked for, the old handle
   * is closed at once and its inode remembered: a later sync request syncs the
   * renamed file by name first. Either way a durable flush covers the renamed file,
   * and reports a failure to sync it.
   *
   * @param old The handle of the renamed file.
   * @param ino Its inode, to find it again by name (without it: synced at once).
   */
  retire(old: Deno.FsFile, ino: number | null = null): void {
    const dirty = this.#dirty;
    this.#dirty = false;
    const previous = this.#syncing.catch(() => {});
    if (!this.#wanted && ino !== null && this.#rotated !== undefined) {
      // No sync was ever asked for: none now. Should one come, it syncs the renamed
      // file by name first (wherever later rotations moved it).
      if (dirty) this.#remember(ino);
      this.#retiring = Promise.all([this.#retiring, previous]).then(() => old.close());
      return;
    }
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

  /** Syncs the renamed files rotated without a sync; a failure goes to the request. */
  async #syncRenamed(): Promise<void> {
    const inodes = new Set(this.#unsynced);
    this.#unsynced.clear();
    this.#counters.synced();
    try {
      await this.#rotated!.syncInodes(inodes);
    } catch (error) {
      this.#counters.failed();
      this.#retireError = error;
    }
  }

  #remember(ino: number): void {
    // Past the most rotated files kept (1,000), the oldest inodes are of files removed.
    if (this.#unsynced.size >= MAX_UNSYNCED) {
      this.#unsynced.delete(this.#unsynced.values().next().value!);
    }
    this.#unsynced.add(ino);
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
