/**
 * {@linkcode SharedFile}: one open file per path, shared by all its clients. It joins
 * the parts: the records queued for it (`_write_queue.ts`), its writer, which owns the
 * handle (`_batch_writer.ts`), its syncs (`_file_sync.ts`) and its counters
 * (`file_counters.ts`), and runs the loop that takes batches from the queue to the
 * writer, one at a time, with reopens between them.
 *
 * @module
 */

import { type BufferSource, FRESH, type Unit } from "../protocol/mod.ts";
import { type AccessCheck, BatchWriter } from "./_batch_writer.ts";
import { FileRefusal } from "./_describe_error.ts";
import { FileSync } from "./_file_sync.ts";
import { logText as logPath } from "./_log_text.ts";
import type { OpenRules } from "./_open_file.ts";
import type { Owner } from "./_owner.ts";
import { WriteQueue } from "./_write_queue.ts";
import { FileCounters } from "./file_counters.ts";
import { FileRotation } from "./file_rotation.ts";
import type { RotatePolicy } from "./rotate_policy.ts";
import type { Compressor } from "./compressor.ts";
import { type Part, RotatingWrites } from "./_rotating_writes.ts";

export type { AccessCheck } from "./_batch_writer.ts";
export type { Owner } from "./_owner.ts";

/**
 * How files are opened and reopened, and where the file reports what happened to it.
 *
 * @example
 * ```ts
 * import type { FileOptions } from "./shared_file.ts";
 * const options: FileOptions = { refuseHardlinks: false, timeoutMs: 10_000 };
 * ```
 */
export interface FileOptions extends OpenRules {
  /** Checks a path again before a file is reopened. */
  access?: AccessCheck | null;
  /** Logs a line about the file (a warning when `warning` is set). */
  log?: (message: string, warning?: boolean) => void;
  /** Told when the file was reopened at its path by the write loop itself. */
  onReopened?: (file: SharedFile, why: string) => void;
  /** Where the buffers of queued bytes come from (the server's pool). */
  pool?: BufferSource;
  /** Built-in rotation (`--rotate-size`, `--rotate-interval`): `null` for none. */
  rotation?: { policy: RotatePolicy; compressor: Compressor | null } | null;
}

/**
 * A file open for appending, shared by its clients (its owners). Units are queued
 * and written in order, a unit never split; each owner is told how much of its data
 * is in the file, or why not.
 *
 * @example
 * ```ts
 * import { SharedFile } from "./shared_file.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const file = await SharedFile.open(path);
 * const owner = { failed: false, onWritten() {}, onWriteError() {} };
 * file.join(owner);
 * file.enqueue(owner, { parts: [new TextEncoder().encode("hi\n")], bytes: 3 });
 * assert.equal(file.leave(owner), 0);
 * await file.close();
 * assert.equal(await Deno.readTextFile(path), "hi\n");
 * await Deno.remove(path);
 * ```
 */
export class SharedFile {
  /** The path as opened. */
  readonly path: string;
  /** Counted for the path, across handles. */
  readonly counters: FileCounters;
  #owners = new Set<Owner>();
  /** Closing: the table opens a new file for later clients. */
  #closed = false;
  /** The path is gone for good: its clients were told; new ones reopen. */
  #gone = false;
  #options: FileOptions;
  #queue: WriteQueue;
  #writer: BatchWriter;
  #sync: FileSync;
  #writing: Promise<void> | null = null;
  #reopen: PromiseWithResolvers<boolean> | null = null;
  /** Built-in rotation's writes, or `null` when the server does not rotate. */
  #rotating: RotatingWrites | null;
  /** The file may be due by age: the write loop looks, between two writes. */
  #ageCheck = false;

  private constructor(
    writer: BatchWriter,
    sync: FileSync,
    options: FileOptions,
    counters: FileCounters,
    rotation: FileRotation | null,
  ) {
    this.path = writer.path;
    this.counters = counters;
    this.#writer = writer;
    this.#sync = sync;
    this.#rotating = rotation === null
      ? null
      : new RotatingWrites(rotation, writer, counters, options.log);
    this.#options = options;
    this.#queue = new WriteQueue(options.pool ?? FRESH);
  }

  /**
   * Opens `path` for appending, creating it if needed; only a regular file.
   *
   * @param path An absolute path.
   * @param options How to open and reopen it.
   * @param counters The path's counters, kept across its handles.
   * @returns The file.
   * @throws {FileRefusal} Not a regular file, a refused hard link, or too slow.
   * @throws What `Deno.open` throws.
   */
  static async open(
    path: string,
    options: FileOptions = { refuseHardlinks: false, timeoutMs: 10_000 },
    counters: FileCounters = new FileCounters(),
  ): Promise<SharedFile> {
    const rotation = options.rotation
      ? await FileRotation.open(path, options.rotation.policy, {
        compressor: options.rotation.compressor,
        ...(options.log ? { log: options.log } : {}),
      })
      : null;
    const sync = new FileSync(path, counters, options.log, rotation?.rotated);
    const writer = await BatchWriter.open(path, {
      ...options,
      beforeSwap: (old) => sync.beforeSwap(old),
      retire: (old, ino) => sync.retire(old, ino),
    }, counters);
    return new SharedFile(writer, sync, options, counters, rotation);
  }

  /** Bytes in the file now open at the path (since its last rotation). */
  get size(): number {
    return this.#writer.size;
  }

  /** Clients using the file. */
  get clients(): number {
    return this.#owners.size;
  }

  /** Whether new clients may join: it is neither closing nor gone. */
  get accepting(): boolean {
    return !this.#closed && !this.#gone;
  }

  /** Whether it is closing (its last client left). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether anything was written since the last sync began. */
  get dirty(): boolean {
    return this.#sync.dirty;
  }

  /** Bytes queued or being written. */
  get backlog(): number {
    return this.#queue.backlog;
  }

  /**
   * Adds a client.
   *
   * @param owner The client.
   * @returns `false` when the file no longer takes clients (closing or gone).
   */
  join(owner: Owner): boolean {
    if (!this.accepting) return false;
    this.#owners.add(owner);
    return true;
  }

  /**
   * Removes a client.
   *
   * @param owner The client.
   * @returns How many clients remain.
   */
  leave(owner: Owner): number {
    this.#owners.delete(owner);
    return this.#owners.size;
  }

  /**
   * Syncs the file's data to disk (`fdatasync`) past everything written so far.
   * Requests made while a sync waits to start share it.
   *
   * @returns A promise that resolves once synced.
   * @throws What `syncData()` throws (EIO).
   */
  sync(): Promise<void> {
    return this.#sync.sync(() => this.#writer.syncData());
  }

  /**
   * Whether the path no longer leads to the open file: it was moved or deleted, as
   * log rotation does.
   *
   * @returns `true` when the file should be reopened.
   */
  moved(): Promise<boolean> {
    // The server's own rename is no move.
    return this.#rotating?.movedBySomeoneElse(() => this.#writer.moved()) ??
      this.#writer.moved();
  }

  /**
   * Has the write loop rotate the file if it is due by age (`--rotate-interval`);
   * returns at once.
   */
  checkAge(): void {
    if (!this.accepting || !this.#rotating?.due) return;
    this.#ageCheck = true;
    this.#writing ??= this.#drain();
  }

  /**
   * Reopens the file at its path, between two writes: data already queued goes to the
   * new file. If the path cannot be opened, writing goes on to the old handle while it
   * still has a path; when it has none, the file is gone and its clients are told.
   *
   * @returns `true` once the new handle is in use; `false` when the file was closed
   * first, so nothing was reopened.
   * @throws What opening throws; the old handle stays in use.
   */
  reopen(): Promise<boolean> {
    if (!this.accepting) return Promise.resolve(false);
    const reopen = this.#reopen ??= Promise.withResolvers<boolean>();
    this.#writing ??= this.#drain();
    return reopen.promise;
  }

  /**
   * Queues a copy of a unit for appending.
   *
   * @param owner Who sent it.
   * @param unit Bytes that must land contiguously; they may be reused on return,
   * except its `buffer`, which the file keeps or gives back to the pool.
   */
  enqueue(owner: Owner, unit: Unit): void {
    this.#queue.enqueue(owner, unit);
    this.#writing ??= this.#drain();
  }

  /**
   * Writes what is queued and closes the handle.
   *
   * @returns A promise that resolves once the file is closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing !== null) await this.#writing;
    this.#writer.close();
    await this.#sync.settled();
  }

  /** Takes batches to the writer until nothing is queued; reopens between them. */
  async #drain(): Promise<void> {
    for (;;) {
      if (this.#reopen !== null) {
        await this.#reopenBetweenWrites(this.#reopen);
        continue;
      }
      if (this.#ageCheck) {
        this.#ageCheck = false;
        await this.#rotating?.rotateIfDue();
        continue;
      }
      const batch = this.#queue.take();
      if (batch === null) break;
      if (this.#gone) {
        for (const { owner } of batch.entries) owner.onWriteError(goneError(this.path));
      } else if (this.#rotating === null) {
        await this.#write(batch);
      } else {
        const lost = await this.#rotating.write(batch, (part) => this.#write(part));
        for (const { owner } of lost) owner.onWriteError(goneError(this.path));
      }
      this.#queue.done(batch);
    }
    this.#writing = null;
  }

  /** Writes whole units; `false` when the path is gone and the rest cannot go. */
  async #write(part: Part): Promise<boolean> {
    const written = await this.#writer.write(part);
    if (written.kind === "lost") {
      this.#lose(written.error);
      for (const { owner } of part.entries) owner.onWriteError(goneError(this.path));
      return false;
    }
    if (written.bytes > 0) this.#sync.wrote();
    if (written.kind === "written" && written.reopened) {
      this.#options.onReopened?.(this, "deleted while written");
    }
    return true;
  }

  async #reopenBetweenWrites(reopen: PromiseWithResolvers<boolean>): Promise<void> {
    this.#reopen = null;
    if (!this.accepting) {
      // The last client left (or the path is gone) while the check ran: no new file.
      reopen.resolve(false);
      return;
    }
    try {
      await this.#writer.reopen();
      this.#rotating?.reopened();
      reopen.resolve(true);
    } catch (error) {
      reopen.reject(error);
      if (await this.#writer.unlinked()) this.#lose(error);
    }
  }

  /** The path is gone and cannot be opened again: every client is told. */
  #lose(error: unknown): void {
    if (this.#gone) return;
    this.#gone = true;
    this.counters.failed();
    this.#options.log?.(
      `Lost ${logPath(this.path)}: the file was deleted and cannot be created again ` +
        `(${
          error instanceof Error ? error.message : String(error)
        }); its clients are told`,
      true,
    );
    for (const owner of this.#owners) owner.onWriteError(goneError(this.path));
  }
}

function goneError(path: string): FileRefusal {
  return new FileRefusal(
    "FileNotFoundError",
    `[Errno 2] No such file or directory: '${path}' (the file was deleted and cannot ` +
      `be created again; records not acknowledged were not written)`,
  );
}
