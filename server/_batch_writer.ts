/**
 * {@linkcode BatchWriter}: the file's writer. It owns the open handle of one path and
 * appends batches of whole units to it, one write in flight. When a write fails
 * part-way (ENOSPC, EFBIG, EIO), it cuts the file back to the end of the last whole
 * unit, so that a unit is in the file whole or not at all; when the file lost its
 * path while written, it reopens the path and writes the batch there. Anything that
 * replaces the handle (a reopen after rotation) happens here between two batches,
 * so always between two whole records.
 *
 * @module
 */

import type { AccessResult } from "./access.ts";
import { logText as logPath } from "./_log_text.ts";
import { openAppend, type OpenRules } from "./_open_file.ts";
import { type Entry, type Owner, tellWritten } from "./_owner.ts";
import type { Batch } from "./_write_queue.ts";
import type { FileCounters } from "./file_counters.ts";

/** Decides whether a path may be (re)opened: `Access.check()`. */
export type AccessCheck = (path: string) => Promise<AccessResult>;

/**
 * How the writer opens and reopens its file, and where it reports.
 *
 * @example
 * ```ts
 * import type { WriterOptions } from "./_batch_writer.ts";
 * const options: WriterOptions = { refuseHardlinks: false, timeoutMs: 10_000 };
 * ```
 */
export interface WriterOptions extends OpenRules {
  /** Checks a path again before the file is reopened. */
  access?: AccessCheck | null;
  /** Logs a line about the file (a warning when `warning` is set). */
  log?: (message: string, warning?: boolean) => void;
  /** Told of the old handle before a new one replaces it (to sync it first). */
  beforeSwap?: (old: Deno.FsFile) => Promise<void>;
  /**
   * Takes the old handle, and its inode, after the writer's own rotation renamed it:
   * syncs it if needed, and closes it.
   */
  retire?: (old: Deno.FsFile, ino: number | null) => void;
}

/**
 * What writing one batch came to: all of it (`reopened` when the path had to be
 * opened again for it), the whole units before a failure (their owners are told, and
 * the others of the error), or nothing because the path is gone for good (nobody is
 * told yet).
 */
export type Written =
  | { kind: "written"; bytes: number; reopened: boolean }
  | { kind: "failed"; bytes: number }
  | { kind: "lost"; error: unknown };

/**
 * The writer of one path: its handle, and every write, cut-back and reopen of it.
 *
 * @example
 * ```ts
 * import { BatchWriter } from "./_batch_writer.ts";
 * import { FileCounters } from "./file_counters.ts";
 * import { WriteQueue } from "./_write_queue.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const counters = new FileCounters();
 * const writer = await BatchWriter.open(path, { refuseHardlinks: false, timeoutMs: 1000 }, counters);
 * const queue = new WriteQueue();
 * let told = 0;
 * const owner = { failed: false, onWritten(n: number) { told += n; }, onWriteError() {} };
 * queue.enqueue(owner, { parts: [new TextEncoder().encode("hi\n")], bytes: 3 });
 * const batch = queue.take()!;
 * assert.deepEqual(await writer.write(batch), { kind: "written", bytes: 3, reopened: false });
 * queue.done(batch);
 * writer.close();
 * assert.equal(told, 3);
 * assert.equal(counters.bytesWritten, 3);
 * assert.equal(await Deno.readTextFile(path), "hi\n");
 * await Deno.remove(path);
 * ```
 */
export class BatchWriter {
  /** The path as opened. */
  readonly path: string;
  #file: Deno.FsFile;
  #ino: number | null;
  /** Bytes in the open file: its size at open, and what went in since. */
  #size: number;
  #options: WriterOptions;
  #counters: FileCounters;

  private constructor(
    path: string,
    file: Deno.FsFile,
    info: Deno.FileInfo,
    options: WriterOptions,
    counters: FileCounters,
  ) {
    this.path = path;
    this.#file = file;
    this.#ino = info.ino;
    this.#size = info.size;
    this.#options = options;
    this.#counters = counters;
  }

  /**
   * Opens `path` for appending, creating it if needed; only a regular file.
   *
   * @param path An absolute path.
   * @param options How to open and reopen it.
   * @param counters Where what happens to the path is counted.
   * @returns The writer.
   * @throws {FileRefusal} Not a regular file, a refused hard link, or too slow.
   * @throws What `Deno.open` throws.
   */
  static async open(
    path: string,
    options: WriterOptions,
    counters: FileCounters,
  ): Promise<BatchWriter> {
    const file = await openAppend(path, options);
    return new BatchWriter(path, file, await file.stat(), options, counters);
  }

  /** Bytes in the open file. */
  get size(): number {
    return this.#size;
  }

  /** The open file's inode, or `null` where the platform has none. */
  get ino(): number | null {
    return this.#ino;
  }

  /**
   * Appends a batch and tells its owners. A batch that went to a file with no path
   * left is written again at the path, reopened; only what is in a reachable file is
   * reported written.
   *
   * @param batch Whole units.
   * @returns What came of it; never rejects.
   */
  async write(batch: Pick<Batch, "data" | "entries">): Promise<Written> {
    if (batch.entries.length === 0) return { kind: "written", bytes: 0, reopened: false };
    const data = batch.data;
    let reopened = false;
    for (let attempt = 0;; attempt++) {
      const written = await writeAll(this.#file, data);
      if (written.error !== null) {
        this.#counters.failed();
        const whole = await this.#failPart(batch.entries, written.bytes, written.error);
        this.#counters.wrote(whole);
        this.#size += whole;
        return { kind: "failed", bytes: whole };
      }
      if (!(await this.unlinked())) break;
      // The file lost its last link (deleted, or its directory removed) before or
      // during this write: nothing in it can be read by path any more.
      try {
        if (attempt > 0) throw new Deno.errors.NotFound("deleted again at once");
        // Best effort: nothing can read the unlinked file by path any more.
        await cutBack(this.#file, data.length);
        await this.reopen();
        reopened = true;
      } catch (error) {
        return { kind: "lost", error };
      }
    }
    this.#counters.wrote(data.length);
    this.#size += data.length;
    tellWritten(batch.entries);
    return { kind: "written", bytes: data.length, reopened };
  }

  /**
   * Whether the path no longer leads to the open file: it was moved or deleted, as
   * log rotation does.
   *
   * @returns `true` when the file should be reopened.
   */
  async moved(): Promise<boolean> {
    try {
      const ino = (await Deno.stat(this.path)).ino;
      return ino !== null && this.#ino !== null && ino !== this.#ino;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return true;
      throw error;
    }
  }

  /**
   * Whether the open file has no path left (deleted, or its directory removed).
   *
   * @returns `true` when its link count is 0; `false` when it cannot be told.
   */
  async unlinked(): Promise<boolean> {
    try {
      return (await this.#file.stat()).nlink === 0;
    } catch {
      return false;
    }
  }

  /**
   * Opens the path again, checked as a new client's would be, and writes to the new
   * handle from now on. Call it only between two writes.
   *
   * @param rotated The server's own rotation renamed the file: the old handle goes to
   * `retire` rather than being synced here, and no reopen is counted.
   * @throws {FileRefusal} The path is now out of scope or not a regular file.
   * @throws What opening throws; the old handle stays in use.
   */
  async reopen(rotated = false): Promise<void> {
    const verdict = await this.#options.access?.(this.path) ?? { path: this.path };
    if ("refusal" in verdict) throw verdict.refusal;
    if (verdict.path !== this.path) {
      throw new Deno.errors.PermissionDenied(
        `"${this.path}" now leads to "${verdict.path}": not reopened`,
      );
    }
    const file = await openAppend(this.path, this.#options);
    const old = this.#file;
    const oldIno = this.#ino;
    if (!rotated) await this.#options.beforeSwap?.(old);
    let info: Deno.FileInfo;
    try {
      info = await file.stat();
    } catch (error) {
      file.close();
      throw error;
    }
    this.#file = file;
    this.#ino = info.ino;
    this.#size = info.size;
    if (rotated && this.#options.retire !== undefined) {
      this.#options.retire(old, oldIno);
    } else {
      if (!rotated) this.#counters.reopened();
      old.close();
    }
  }

  /**
   * Syncs the file's data to disk (`fdatasync`).
   *
   * @returns A promise that resolves once synced.
   */
  syncData(): Promise<void> {
    return this.#file.syncData();
  }

  /** Closes the handle. */
  close(): void {
    this.#file.close();
  }

  /**
   * A write failed after `bytes` of the batch went in: the file is cut back to the end
   * of the last whole unit, whose owners are told it is written; the owners of the rest
   * are told of the error.
   *
   * @returns The bytes of whole units that stay in the file.
   */
  async #failPart(
    entries: readonly Entry[],
    bytes: number,
    error: unknown,
  ): Promise<number> {
    let whole = 0;
    let units = 0;
    while (units < entries.length && whole + entries[units]!.bytes <= bytes) {
      whole += entries[units]!.bytes;
      units++;
    }
    const torn = bytes - whole;
    if (torn > 0) {
      const cutError = await cutBack(this.#file, torn);
      this.#options.log?.(
        cutError === null
          ? `Cut ${torn} bytes of an unfinished record from the end of ` +
            `${logPath(this.path)} after a failed write`
          : `Could not cut the unfinished record from the end of ` +
            `${logPath(this.path)}: ${cutError}`,
        true,
      );
    }
    tellWritten(entries.slice(0, units));
    const failed = new Set<Owner>();
    for (const { owner } of entries.slice(units)) failed.add(owner);
    for (const owner of failed) owner.onWriteError(error);
    return whole;
  }
}

/** Appends all of `data`: how many bytes went in, and the error that stopped it. */
async function writeAll(
  file: Deno.FsFile,
  data: Uint8Array,
): Promise<{ bytes: number; error: unknown }> {
  let offset = 0;
  try {
    while (offset < data.length) {
      const n = await file.write(data.subarray(offset));
      if (n === 0) throw new Deno.errors.WriteZero("Write returned 0 bytes");
      offset += n;
    }
    return { bytes: offset, error: null };
  } catch (error) {
    return { bytes: offset, error: error ?? new Error("write failed") };
  }
}

/**
 * Takes the last `bytes` back out of a file: the part of a failed write, or a batch
 * written to a file that lost its path.
 *
 * @param file The file.
 * @param bytes How many to cut from its end.
 * @returns `null`, or the error that kept it from cutting.
 */
async function cutBack(file: Deno.FsFile, bytes: number): Promise<unknown> {
  try {
    const size = (await file.stat()).size;
    await file.truncate(Math.max(0, size - bytes));
    return null;
  } catch (error) {
    return error;
  }
}
