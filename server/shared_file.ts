/**
 * {@linkcode SharedFile}: one open handle per path, shared by all its clients, and
 * the write loop that appends their records in order without ever splitting one.
 *
 * @module
 */

import { type BufferSource, FRESH, type Unit } from "../protocol/mod.ts";
import type { AccessResult } from "./access.ts";
import {
  BatchWriter,
  cutBack,
  type Entry,
  MAX_WRITE_BYTES,
  tellWritten,
  unlinked,
} from "./_batch_writer.ts";
import { FileRefusal } from "./_describe_error.ts";
import { openAppend, type OpenRules } from "./_open_file.ts";
import { logText as logPath } from "./_log_text.ts";
import { type FileCounters, newCounters } from "./file_counters.ts";

export type { FileCounters } from "./file_counters.ts";

/** Decides whether a path may be (re)opened: `Access.check()`. */
export type AccessCheck = (path: string) => Promise<AccessResult>;

/**
 * Queued bytes per file above which its clients' sockets are not read until the
 * disk catches up: the server's memory stays bounded and the clients queue instead.
 */
export const HIGH_WATER_BYTES: number = 64 * 1024 * 1024;

/**
 * The client a unit came from, told when its bytes are written or failed.
 *
 * @example
 * ```ts
 * import type { Owner } from "./shared_file.ts";
 * const owner: Owner = { failed: false, onWritten() {}, onWriteError() {} };
 * ```
 */
export interface Owner {
  /** Set once a write of this owner's data failed; its later units are skipped. */
  readonly failed: boolean;
  /** `bytes` more of this owner's data are in the file. */
  onWritten(bytes: number): void;
  /** Appending this owner's data failed, or the file is gone. */
  onWriteError(error: unknown): void;
}

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
}

/** Queued units, copied one after another into one buffer: one file write. */
interface Pending {
  buffer: Uint8Array;
  fill: number;
  entries: Entry[];
}

/** A record at least this large in a buffer of its own is written from it. */
const ADOPT_BYTES = 64 * 1024;

/** The smallest buffer of queued bytes; the next one is as large as the last batch. */
const FIRST_PENDING = 64 * 1024;

/**
 * A file open for appending. Units are copied into a buffer while a write is in
 * flight and go out together in the next one, so each write is large and each unit
 * contiguous; the caller may reuse a unit's bytes once `enqueue()` returns. A unit is
 * in the file whole or not at all, and its owner is told which.
 *
 * @example
 * ```ts
 * import { SharedFile } from "./shared_file.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const file = await SharedFile.open(path);
 * file.enqueue({ failed: false, onWritten() {}, onWriteError() {} }, {
 *   parts: [new TextEncoder().encode("hi\n")],
 *   bytes: 3,
 * });
 * await file.close();
 * assert.equal(await Deno.readTextFile(path), "hi\n");
 * await Deno.remove(path);
 * ```
 */
export class SharedFile {
  /** The path as opened. */
  readonly path: string;
  /** The clients using the file; kept by the file table. */
  readonly owners: Set<Owner> = new Set();
  /** Set when the file is closing: the table opens a new one for later clients. */
  closed = false;
  /** Set when the path is gone for good: its clients were told, new ones reopen. */
  gone = false;
  #file: Deno.FsFile;
  #ino: number | null;
  #options: FileOptions;
  #pending: Pending[] = [];
  #pendingSize = FIRST_PENDING;
  #pool: BufferSource;
  #backlog = 0;
  #writer: BatchWriter;
  #writing: Promise<void> | null = null;
  #belowHighWater: (() => void)[] = [];
  #reopen: PromiseWithResolvers<boolean> | null = null;
  /** Counted for the path, across handles. */
  readonly counters: FileCounters;
  /** Written since the last sync started. */
  #dirty = false;
  /** A sync asked for: from then on, a reopen syncs the old handle first. */
  #wantsSync = false;
  #syncing: Promise<void> = Promise.resolve();
  #nextSync: Promise<void> | null = null;

  private constructor(
    path: string,
    file: Deno.FsFile,
    ino: number | null,
    options: FileOptions,
    counters: FileCounters,
  ) {
    this.counters = counters;
    this.path = path;
    this.#file = file;
    this.#ino = ino;
    this.#options = options;
    this.#pool = options.pool ?? FRESH;
    this.#writer = new BatchWriter(path, (m, warning) => this.#options.log?.(m, warning));
  }

  /**
   * Opens `path` for appending, creating it if needed; only a regular file.
   *
   * @param path An absolute path.
   * @param options How to open and reopen it.
   * @returns The file.
   * @throws {FileRefusal} Not a regular file, a refused hard link, or too slow.
   * @throws What `Deno.open` throws.
   */
  static async open(
    path: string,
    options: FileOptions = { refuseHardlinks: false, timeoutMs: 10_000 },
    counters: FileCounters = newCounters(),
  ): Promise<SharedFile> {
    const file = await openAppend(path, options);
    return new SharedFile(path, file, (await file.stat()).ino, options, counters);
  }

  /** Whether anything was written since the last sync began. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /**
   * Syncs the file's data to disk (`fdatasync`) past everything written so far.
   * Requests made while a sync waits to start share it.
   *
   * @returns A promise that resolves once synced.
   * @throws What `syncData()` throws (EIO).
   */
  sync(): Promise<void> {
    this.#wantsSync = true;
    if (this.#nextSync !== null) return this.#nextSync;
    const next: Promise<void> = this.#syncing.catch(() => {}).then(async () => {
      if (this.#nextSync === next) this.#nextSync = null;
      this.#dirty = false;
      this.counters.syncs++;
      try {
        await this.#file.syncData();
      } catch (error) {
        this.counters.writeErrors++;
        throw error;
      }
    });
    this.#nextSync = next;
    this.#syncing = next;
    return next;
  }

  /** Clients using the file. */
  get clients(): number {
    return this.owners.size;
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
   * Reopens the file at its path, between two writes: data already queued goes to the
   * new file. If the path cannot be opened, writing goes on to the old handle while it
   * still has a path; when it has none, the file is gone and its clients are told.
   *
   * @returns `true` once the new handle is in use; `false` when the file was closed
   * first, so nothing was reopened.
   * @throws What opening throws; the old handle stays in use.
   */
  reopen(): Promise<boolean> {
    if (this.closed || this.gone) return Promise.resolve(false);
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
    if (
      unit.buffer !== undefined && unit.bytes >= ADOPT_BYTES && unit.parts.length === 1 &&
      unit.parts[0]!.byteOffset === unit.buffer.byteOffset
    ) {
      // A large record that spanned reads is already in a buffer of its own: it
      // becomes the next write as it is, without a copy.
      this.#pending.push({
        buffer: unit.buffer,
        fill: unit.bytes,
        entries: [{ owner, bytes: unit.bytes }],
      });
    } else {
      const pending = this.#room(unit.bytes);
      for (const part of unit.parts) {
        pending.buffer.set(part, pending.fill);
        pending.fill += part.length;
      }
      pending.entries.push({ owner, bytes: unit.bytes });
      if (unit.buffer !== undefined) this.#pool.put(unit.buffer);
    }
    this.#backlog += unit.bytes;
    this.#writing ??= this.#drain();
  }

  /** The buffer the next unit of `bytes` goes into; one write holds 4 MiB at most. */
  #room(bytes: number): Pending {
    const tail = this.#pending[this.#pending.length - 1];
    if (tail !== undefined) {
      const needed = tail.fill + bytes;
      if (needed <= tail.buffer.length) return tail;
      if (needed <= MAX_WRITE_BYTES) {
        // The file lags: a larger buffer for this write and the next ones.
        const buffer = this.#pool.get(needed);
        buffer.set(tail.buffer.subarray(0, tail.fill));
        this.#pool.put(tail.buffer);
        tail.buffer = buffer;
        return tail;
      }
    }
    const pending: Pending = {
      buffer: this.#pool.get(Math.max(bytes, this.#pendingSize)),
      fill: 0,
      entries: [],
    };
    this.#pending.push(pending);
    return pending;
  }

  /** Bytes queued or being written. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Resolves once the backlog is below half of {@linkcode HIGH_WATER_BYTES}.
   *
   * @returns A promise that resolves once reading may go on.
   */
  belowHighWater(): Promise<void> {
    if (this.#backlog < HIGH_WATER_BYTES / 2) return Promise.resolve();
    return new Promise((resolve) => this.#belowHighWater.push(resolve));
  }

  /**
   * Writes what is queued and closes the handle.
   *
   * @returns A promise that resolves once the file is closed.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.#writing !== null) await this.#writing;
    this.#file.close();
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#reopen !== null) {
      if (this.#reopen !== null) {
        const reopen = this.#reopen;
        this.#reopen = null;
        if (this.closed || this.gone) {
          // The last client left (or the path is gone) while the check ran: no new file.
          reopen.resolve(false);
          continue;
        }
        try {
          await this.#reopenNow();
          reopen.resolve(true);
        } catch (error) {
          reopen.reject(error);
          if (await unlinked(this.#file)) this.#lose(error);
        }
        continue;
      }
      const pending = this.#pending.shift()!;
      const bytes = pending.fill;
      // The next buffer starts at the size this batch needed, not small again.
      let size = FIRST_PENDING;
      while (size < bytes && size < MAX_WRITE_BYTES) size *= 2;
      this.#pendingSize = size;
      const batch = withoutFailed(pending);
      if (this.gone) {
        for (const { owner } of batch) owner.onWriteError(goneError(this.path));
      } else if (batch.length > 0) {
        await this.#writeBatch(batch, pending.buffer.subarray(0, pending.fill));
      }
      this.#pool.put(pending.buffer);
      this.#backlog -= bytes;
      if (this.#backlog < HIGH_WATER_BYTES / 2 && this.#belowHighWater.length > 0) {
        for (const resolve of this.#belowHighWater.splice(0)) resolve();
      }
    }
    this.#writing = null;
  }

  /**
   * Writes one batch and tells its owners. A batch that went to a file with no path
   * left is written again at the path, reopened; only what is in a reachable file is
   * reported written.
   */
  async #writeBatch(batch: Entry[], data: Uint8Array): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const written = await this.#writer.write(this.#file, data);
      if (!written.ok) {
        this.counters.writeErrors++;
        const whole = await this.#writer.failPart(
          this.#file,
          batch,
          written.bytes,
          written.error,
        );
        this.counters.bytesWritten += whole;
        if (whole > 0) this.#dirty = true;
        return;
      }
      if (!(await unlinked(this.#file))) break;
      // The file lost its last link (deleted, or its directory removed) before or
      // during this write: nothing in it can be read by path any more.
      try {
        if (attempt > 0) throw new Deno.errors.NotFound("deleted again at once");
        // Best effort: nothing can read the unlinked file by path any more.
        await cutBack(this.#file, data.length);
        await this.#reopenNow();
        this.#options.onReopened?.(this, "deleted while written");
      } catch (error) {
        this.#lose(error);
        for (const { owner } of batch) owner.onWriteError(goneError(this.path));
        return;
      }
    }
    this.counters.bytesWritten += data.length;
    this.#dirty = true;
    tellWritten(batch);
  }

  async #reopenNow(): Promise<void> {
    const verdict = await this.#options.access?.(this.path) ?? { path: this.path };
    if ("refusal" in verdict) {
      const colon = verdict.refusal.indexOf(": ");
      throw new FileRefusal(
        verdict.refusal.slice(0, colon),
        verdict.refusal.slice(colon + 2),
      );
    }
    if (verdict.path !== this.path) {
      throw new Deno.errors.PermissionDenied(
        `"${this.path}" now leads to "${verdict.path}": not reopened`,
      );
    }
    const file = await openAppend(this.path, this.#options);
    const old = this.#file;
    if (this.#wantsSync && this.#dirty) {
      // What a later sync request covers went to the old handle too.
      await this.#syncing.catch(() => {});
      await old.syncData().catch((error) => {
        this.counters.writeErrors++;
        this.#options.log?.(`Could not sync ${logPath(this.path)}: ${error}`, true);
      });
    }
    this.#file = file;
    this.#ino = (await file.stat()).ino;
    this.counters.reopens++;
    old.close();
  }

  /** The path is gone and cannot be opened again: every client is told. */
  #lose(error: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.counters.writeErrors++;
    this.#options.log?.(
      `Lost ${logPath(this.path)}: the file was deleted and cannot be created again ` +
        `(${
          error instanceof Error ? error.message : String(error)
        }); its clients are told`,
      true,
    );
    for (const owner of this.owners) owner.onWriteError(goneError(this.path));
  }
}

/**
 * The entries of a buffer whose owners have not failed, their bytes moved together:
 * a client whose earlier write failed gets nothing more written.
 */
function withoutFailed(pending: Pending): Entry[] {
  const entries = pending.entries;
  if (!entries.some((entry) => entry.owner.failed)) return entries;
  const kept: Entry[] = [];
  let from = 0;
  let to = 0;
  for (const entry of entries) {
    if (!entry.owner.failed) {
      pending.buffer.copyWithin(to, from, from + entry.bytes);
      to += entry.bytes;
      kept.push(entry);
    }
    from += entry.bytes;
  }
  pending.fill = to;
  return kept;
}

function goneError(path: string): FileRefusal {
  return new FileRefusal(
    "FileNotFoundError",
    `[Errno 2] No such file or directory: '${path}' (the file was deleted and cannot ` +
      `be created again; records not acknowledged were not written)`,
  );
}
