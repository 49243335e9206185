/**
 * {@linkcode FileTable}: which files are open, one handle per path.
 *
 * @module
 */

import { type FileOptions, type Owner, SharedFile } from "./shared_file.ts";
import { FileCounters } from "./file_counters.ts";

/**
 * One counted path: its counters since the server started, and its file if open now.
 *
 * @example
 * ```ts
 * import type { PathFigures } from "./file_table.ts";
 * import { FileCounters } from "./file_counters.ts";
 * const figures: PathFigures = { path: "/a.log", counters: new FileCounters(), file: null };
 * ```
 */
export interface PathFigures {
  /** The path as opened. */
  readonly path: string;
  /** What happened to it since the server started. */
  readonly counters: FileCounters;
  /** Its open file, or `null` once its last client left. */
  readonly file: SharedFile | null;
}

/** Paths whose counters are kept after their file closed, at most. */
const MAX_KEPT_COUNTERS = 4096;

/**
 * The server's open files. Clients of one path share one handle, opened by the first
 * and closed when the last leaves.
 *
 * @example
 * ```ts
 * import { FileTable } from "./file_table.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const table = new FileTable();
 * const one = { failed: false, onWritten() {}, onWriteError() {} };
 * const two = { failed: false, onWritten() {}, onWriteError() {} };
 * const a = await table.acquire(path, one);
 * const b = await table.acquire(path, two);
 * assert.equal(a, b); // one SharedFile for both
 * assert.equal(a.clients, 2);
 * await table.release(a, one);
 * await table.release(b, two);
 * await Deno.remove(path);
 * ```
 */
export class FileTable {
  #files = new Map<string, Promise<SharedFile>>();
  /** Per path, since the server started: kept when the file closes. */
  #counters = new Map<string, FileCounters>();
  /** Bytes of the paths whose counters were let go (see `MAX_KEPT_COUNTERS`). */
  #retiredBytes = 0;
  #open = new Set<SharedFile>();
  #openings = new WeakMap<SharedFile, Promise<SharedFile>>();
  #options: FileOptions;

  /**
   * Makes an empty table.
   *
   * @param options How files are opened, checked again before a reopen, and logged.
   */
  constructor(options: FileOptions = { refuseHardlinks: false, timeoutMs: 10_000 }) {
    this.#options = options;
  }

  /** Bytes appended to every path since the server started. */
  get bytesWritten(): number {
    let total = this.#retiredBytes;
    for (const counters of this.#counters.values()) total += counters.bytesWritten;
    return total;
  }

  /** Paths whose counters are kept: open ones, and closed ones up to a bound of 4,096. */
  get countedPaths(): number {
    return this.#counters.size;
  }

  /** The files open now. */
  get open(): SharedFile[] {
    return [...this.#open];
  }

  /**
   * Every counted path: the open ones, and closed ones within the bound of 4,096
   * counted paths, with their counters and whether a file is open for them now.
   *
   * @returns One entry per path, in the order they were first opened.
   */
  paths(): PathFigures[] {
    const open = new Map<string, SharedFile>();
    for (const file of this.#open) {
      if (file.accepting || !open.has(file.path)) open.set(file.path, file);
    }
    return [...this.#counters].map(([path, counters]) => ({
      path,
      counters,
      file: open.get(path) ?? null,
    }));
  }

  /**
   * Opens `path`, or joins the handle already open for it.
   *
   * @param path An absolute path.
   * @param owner The client that will write to it.
   * @returns The shared file, with `owner` among its clients.
   * @throws What opening the file throws.
   */
  async acquire(path: string, owner: Owner): Promise<SharedFile> {
    for (;;) {
      let opening = this.#files.get(path);
      if (opening === undefined) {
        const known = this.#counters.get(path);
        const counters = known ?? new FileCounters();
        this.#counters.set(path, counters);
        opening = SharedFile.open(path, this.#options, counters);
        this.#files.set(path, opening);
        opening.catch(() => {
          if (this.#files.get(path) === opening) this.#files.delete(path);
          // A path never opened is not counted: refused paths cannot fill the table.
          if (known === undefined && !this.#files.has(path)) this.#counters.delete(path);
        });
      }
      const file = await opening;
      if (!file.join(owner)) {
        // Closing, or its path is gone: a later client opens the path anew.
        if (this.#files.get(path) === opening) this.#files.delete(path);
        continue;
      }
      this.#open.add(file);
      this.#openings.set(file, opening);
      return file;
    }
  }

  /**
   * Leaves a file; the last client's leaving closes it.
   *
   * @param file The file from {@linkcode FileTable.acquire}.
   * @param owner The client leaving.
   * @returns How many clients remain.
   */
  async release(file: SharedFile, owner: Owner): Promise<number> {
    const remaining = file.leave(owner);
    if (remaining === 0 && !file.closed) {
      // The path may lead to a newer file already (this one's path was gone).
      if (this.#files.get(file.path) === this.#openings.get(file)) {
        this.#files.delete(file.path);
      }
      this.#open.delete(file);
      await file.close();
      // Clients may name any number of paths: past a bound, the counters of a closed
      // path go (its figures start again if it is opened again).
      if (this.#counters.size > MAX_KEPT_COUNTERS && !this.#files.has(file.path)) {
        this.#retiredBytes += file.counters.bytesWritten;
        this.#counters.delete(file.path);
      }
    }
    return remaining;
  }
}
