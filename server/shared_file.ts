/**
 * {@linkcode SharedFile}: one open handle per path, shared by all its clients, and
 * the write loop that appends their records in order without ever splitting one.
 *
 * @module
 */

import { concat, type Unit } from "../protocol/mod.ts";
import type { AccessResult } from "./access.ts";

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
  /** Appending this owner's data failed. */
  onWriteError(error: unknown): void;
}

interface Entry {
  owner: Owner;
  unit: Unit;
}

/**
 * A file open for appending. Units queue while a write is in flight and go out
 * together in the next one, so each write is large and each unit contiguous.
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
  /** The path as clients gave it. */
  readonly path: string;
  /** Clients using the file; kept by the file table. */
  clients = 0;
  /** Set when the file is closing: the table opens a new one for later clients. */
  closed = false;
  #file: Deno.FsFile;
  #ino: number | null;
  #queue: Entry[] = [];
  #backlog = 0;
  /** Reused for joining a batch: one write in flight per file, so one buffer. */
  #joined = new Uint8Array(0);
  #writing: Promise<void> | null = null;
  #belowHighWater: (() => void)[] = [];
  #reopen: PromiseWithResolvers<void> | null = null;
  #access: AccessCheck | null = null;

  private constructor(path: string, file: Deno.FsFile, ino: number | null) {
    this.path = path;
    this.#file = file;
    this.#ino = ino;
  }

  /**
   * Opens `path` for appending, creating it if needed.
   *
   * @param path An absolute path.
   * @returns The file.
   * @throws What `Deno.open` throws.
   */
  static async open(
    path: string,
    access: AccessCheck | null = null,
  ): Promise<SharedFile> {
    const file = await Deno.open(path, { append: true, create: true });
    const shared = new SharedFile(path, file, await inode(file));
    shared.#access = access;
    return shared;
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
   * new file. If the path cannot be opened, writing goes on to the old handle.
   *
   * @returns A promise that resolves once the new handle is in use.
   * @throws What `Deno.open` throws; the old handle stays in use.
   */
  reopen(): Promise<void> {
    const reopen = this.#reopen ??= Promise.withResolvers<void>();
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
        try {
          const verdict = await this.#access?.(this.path) ?? { path: this.path };
          if ("refusal" in verdict) {
            throw new Deno.errors.PermissionDenied(verdict.refusal);
          }
          if (verdict.path !== this.path) {
            throw new Deno.errors.PermissionDenied(
              `"${this.path}" now leads to "${verdict.path}": not reopened`,
            );
          }
          const file = await Deno.open(this.path, { append: true, create: true });
          this.#file.close();
          this.#file = file;
          this.#ino = await inode(file);
          reopen.resolve();
        } catch (error) {
          reopen.reject(error);
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
      const batch = this.#queue.splice(0, count);
      const parts: Uint8Array[] = [];
      const owners = new Map<Owner, number>();
      for (const { owner, unit } of batch) {
        if (owner.failed) continue;
        for (const part of unit.parts) parts.push(part);
        owners.set(owner, (owners.get(owner) ?? 0) + unit.bytes);
      }
      try {
        if (parts.length > 0) {
          const data = this.#join(parts);
          for (let offset = 0; offset < data.length;) {
            offset += await this.#file.write(data.subarray(offset));
          }
        }
        for (const [owner, written] of owners) owner.onWritten(written);
      } catch (error) {
        for (const owner of owners.keys()) owner.onWriteError(error);
      }
      this.#backlog -= bytes;
      if (this.#backlog < HIGH_WATER_BYTES / 2 && this.#belowHighWater.length > 0) {
        for (const resolve of this.#belowHighWater.splice(0)) resolve();
      }
    }
    this.#writing = null;
  }
}

async function inode(file: Deno.FsFile): Promise<number | null> {
  return (await file.stat()).ino;
}
