/**
 * {@linkcode SharedFile}: one open handle per path, shared by all its clients, and
 * the write loop that appends their records in order without ever splitting one.
 *
 * @module
 */

import { concat, type Unit } from "../protocol/mod.ts";
import type { AccessResult } from "./access.ts";
import { FileRefusal } from "./_describe_error.ts";
import { openAppend, type OpenRules } from "./_open_file.ts";
import { logText as logPath } from "./_log_text.ts";

/** Decides whether a path may be (re)opened: `Access.check()`. */
export type AccessCheck = (path: string) => Promise<AccessResult>;

/** Bytes of one coalesced file write at most (one unit may be larger). */
const MAX_WRITE_BYTES = 4 * 1024 * 1024;

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
}

interface Entry {
  owner: Owner;
  unit: Unit;
}

/** What a write of one batch came to. */
type Written = { ok: true } | { ok: false; bytes: number; error: unknown };

/**
 * A file open for appending. Units queue while a write is in flight and go out
 * together in the next one, so each write is large and each unit contiguous. A unit is
 * in the file whole or not at all, and its owner is told which.
 *
 * @example
 * ```ts
 * import { SharedFile } from "./shared_file.ts";
 * const path = await Deno.makeTempFile();
 * const file = await SharedFile.open(path);
 * file.enqueue({ failed: false, onWritten() {}, onWriteError() {} }, {
 *   parts: [new TextEncoder().encode("hi\n")],
 *   bytes: 3,
 * });
 * await file.close();
 * console.log(await Deno.readTextFile(path)); // "hi\n"
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
  #queue: Entry[] = [];
  #backlog = 0;
  /** Reused for joining a batch: one write in flight per file, so one buffer. */
  #joined = new Uint8Array(0);
  #writing: Promise<void> | null = null;
  #belowHighWater: (() => void)[] = [];
  #reopen: PromiseWithResolvers<boolean> | null = null;

  private constructor(
    path: string,
    file: Deno.FsFile,
    ino: number | null,
    options: FileOptions,
  ) {
    this.path = path;
    this.#file = file;
    this.#ino = ino;
    this.#options = options;
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
  ): Promise<SharedFile> {
    const file = await openAppend(path, options);
    return new SharedFile(path, file, (await file.stat()).ino, options);
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
   * Queues a unit for appending.
   *
   * @param owner Who sent it.
   * @param unit Bytes that must land contiguously.
   */
  enqueue(owner: Owner, unit: Unit): void {
    this.#queue.push({ owner, unit });
    this.#backlog += unit.bytes;
    this.#writing ??= this.#drain();
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

  /** The parts as one array: the only part itself, or copied into a reused buffer. */
  #join(parts: Uint8Array[]): Uint8Array {
    if (parts.length === 1) return parts[0]!;
    let total = 0;
    for (const part of parts) total += part.length;
    if (total > MAX_WRITE_BYTES) return concat(parts);
    if (this.#joined.length < total) {
      this.#joined = new Uint8Array(
        Math.min(MAX_WRITE_BYTES, Math.max(total, this.#joined.length * 2)),
      );
    }
    let offset = 0;
    for (const part of parts) {
      this.#joined.set(part, offset);
      offset += part.length;
    }
    return this.#joined.subarray(0, total);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#reopen !== null) {
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
          if (await this.#unlinked()) this.#lose(error);
        }
        continue;
      }
      let count = 0;
      let bytes = 0;
      while (
        count < this.#queue.length &&
        (count === 0 || bytes + this.#queue[count]!.unit.bytes <= MAX_WRITE_BYTES)
      ) {
        bytes += this.#queue[count]!.unit.bytes;
        count++;
      }
      const batch = this.#queue.splice(0, count).filter((e) => !e.owner.failed);
      if (this.gone) {
        for (const { owner } of batch) owner.onWriteError(goneError(this.path));
      } else if (batch.length > 0) {
        await this.#writeBatch(batch);
      }
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
  async #writeBatch(batch: Entry[]): Promise<void> {
    const parts: Uint8Array[] = [];
    for (const { unit } of batch) for (const part of unit.parts) parts.push(part);
    const data = this.#join(parts);
    for (let attempt = 0;; attempt++) {
      const written = await this.#write(data);
      if (!written.ok) {
        await this.#failPart(batch, written.bytes, written.error);
        return;
      }
      if (!(await this.#unlinked())) break;
      // The file lost its last link (deleted, or its directory removed) before or
      // during this write: nothing in it can be read by path any more.
      try {
        if (attempt > 0) throw new Deno.errors.NotFound("deleted again at once");
        await this.#cutBack(data.length);
        await this.#reopenNow();
        this.#options.onReopened?.(this, "deleted while written");
      } catch (error) {
        this.#lose(error);
        for (const { owner } of batch) owner.onWriteError(goneError(this.path));
        return;
      }
    }
    const owners = new Map<Owner, number>();
    for (const { owner, unit } of batch) {
      owners.set(owner, (owners.get(owner) ?? 0) + unit.bytes);
    }
    for (const [owner, bytes] of owners) owner.onWritten(bytes);
  }

  async #write(data: Uint8Array): Promise<Written> {
    let offset = 0;
    try {
      while (offset < data.length) {
        const n = await this.#file.write(data.subarray(offset));
        if (n === 0) throw new Deno.errors.WriteZero("Write returned 0 bytes");
        offset += n;
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, bytes: offset, error };
    }
  }

  /**
   * A write failed after `bytes` of the batch went in: the file is cut back to the end
   * of the last whole unit, whose owners are told it is written; the owners of the rest
   * are told of the error.
   */
  async #failPart(batch: Entry[], bytes: number, error: unknown): Promise<void> {
    let whole = 0;
    let units = 0;
    while (units < batch.length && whole + batch[units]!.unit.bytes <= bytes) {
      whole += batch[units]!.unit.bytes;
      units++;
    }
    const torn = bytes - whole;
    if (torn > 0) {
      try {
        const size = (await this.#file.stat()).size;
        await this.#file.truncate(size - torn);
        this.#options.log?.(
          `Cut ${torn} bytes of an unfinished record from the end of ` +
            `${logPath(this.path)} after a failed write`,
          true,
        );
      } catch (cutError) {
        this.#options.log?.(
          `Could not cut the unfinished record from the end of ${logPath(this.path)}: ` +
            String(cutError),
          true,
        );
      }
    }
    const written = new Map<Owner, number>();
    for (const { owner, unit } of batch.slice(0, units)) {
      written.set(owner, (written.get(owner) ?? 0) + unit.bytes);
    }
    for (const [owner, n] of written) owner.onWritten(n);
    const failed = new Set<Owner>();
    for (const { owner } of batch.slice(units)) failed.add(owner);
    for (const owner of failed) owner.onWriteError(error);
  }

  /** Takes the last `bytes` back out of the (unlinked) file, which keeps no copy. */
  async #cutBack(bytes: number): Promise<void> {
    try {
      const size = (await this.#file.stat()).size;
      await this.#file.truncate(Math.max(0, size - bytes));
    } catch {
      // Nothing reads it by path; a reader holding it open may see the batch twice.
    }
  }

  /** Whether the open handle has no path left. */
  async #unlinked(): Promise<boolean> {
    try {
      return (await this.#file.stat()).nlink === 0;
    } catch {
      return false;
    }
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
    this.#file = file;
    this.#ino = (await file.stat()).ino;
    old.close();
  }

  /** The path is gone and cannot be opened again: every client is told. */
  #lose(error: unknown): void {
    if (this.gone) return;
    this.gone = true;
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

function goneError(path: string): FileRefusal {
  return new FileRefusal(
    "FileNotFoundError",
    `[Errno 2] No such file or directory: '${path}' (the file was deleted and cannot ` +
      `be created again; records not acknowledged were not written)`,
  );
}
