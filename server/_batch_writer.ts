/**
 * {@linkcode BatchWriter}: appends a batch of units to a file, and when
 * the write fails part-way (ENOSPC, EFBIG, EIO), cuts the file back to the end of the
 * last whole unit, so that a unit is in the file whole or not at all.
 *
 * @module
 */

import { logText as logPath } from "./_log_text.ts";
import type { Owner } from "./shared_file.ts";

/** Bytes of one coalesced file write at most (one unit may be larger). */
export const MAX_WRITE_BYTES = 4 * 1024 * 1024;

/** A unit queued for a file (its bytes are in the batch's buffer), and its client. */
export interface Entry {
  /** Who sent it. */
  owner: Owner;
  /** Its size: bytes that must land contiguously. */
  bytes: number;
}

/** What a write of one batch came to: all of it, or `bytes` and then an error. */
export type Written = { ok: true } | { ok: false; bytes: number; error: unknown };

/**
 * Writes the batches of one file, one write in flight, and cuts back a failed one.
 *
 * @example
 * ```ts
 * import { BatchWriter, tellWritten } from "./_batch_writer.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const file = await Deno.open(path, { append: true });
 * const owner = { failed: false, onWritten() {}, onWriteError() {} };
 * const batch = [{ owner, bytes: 3 }];
 * const writer = new BatchWriter(path);
 * const written = await writer.write(file, new TextEncoder().encode("hi\n"));
 * if (written.ok) tellWritten(batch);
 * file.close();
 * assert.equal(await Deno.readTextFile(path), "hi\n");
 * await Deno.remove(path);
 * ```
 */
export class BatchWriter {
  #path: string;
  #log: ((message: string, warning?: boolean) => void) | undefined;

  /**
   * A writer for the file at `path`.
   *
   * @param path The file's path, for the log.
   * @param log Logs a line (a warning when `warning` is set).
   */
  constructor(path: string, log?: (message: string, warning?: boolean) => void) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * Appends all of `data`.
   *
   * @param file The open file.
   * @param data The bytes.
   * @returns Whether all went in, or how many did before the error; never rejects.
   */
  async write(file: Deno.FsFile, data: Uint8Array): Promise<Written> {
    let offset = 0;
    try {
      while (offset < data.length) {
        const n = await file.write(data.subarray(offset));
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
   *
   * @param file The file written to.
   * @param batch The batch.
   * @param bytes How many of its bytes went in.
   * @param error Why the rest did not.
   * @returns The bytes of whole units that stay in the file.
   */
  async failPart(
    file: Deno.FsFile,
    batch: Entry[],
    bytes: number,
    error: unknown,
  ): Promise<number> {
    let whole = 0;
    let units = 0;
    while (units < batch.length && whole + batch[units]!.bytes <= bytes) {
      whole += batch[units]!.bytes;
      units++;
    }
    const torn = bytes - whole;
    if (torn > 0) {
      const cutError = await cutBack(file, torn);
      this.#log?.(
        cutError === null
          ? `Cut ${torn} bytes of an unfinished record from the end of ` +
            `${logPath(this.#path)} after a failed write`
          : `Could not cut the unfinished record from the end of ` +
            `${logPath(this.#path)}: ${cutError}`,
        true,
      );
    }
    tellWritten(batch.slice(0, units));
    const failed = new Set<Owner>();
    for (const { owner } of batch.slice(units)) failed.add(owner);
    for (const owner of failed) owner.onWriteError(error);
    return whole;
  }
}

/**
 * Tells each owner of `entries` how many of its bytes are in the file, once.
 *
 * @param entries Units that were written.
 */
export function tellWritten(entries: Entry[]): void {
  const owners = new Map<Owner, number>();
  for (const { owner, bytes } of entries) {
    owners.set(owner, (owners.get(owner) ?? 0) + bytes);
  }
  for (const [owner, bytes] of owners) owner.onWritten(bytes);
}

/**
 * Takes the last `bytes` back out of a file: the part of a failed write, or a batch
 * written to a file that lost its path.
 *
 * @param file The file.
 * @param bytes How many to cut from its end.
 * @returns `null`, or the error that kept it from cutting.
 */
export async function cutBack(file: Deno.FsFile, bytes: number): Promise<unknown> {
  try {
    const size = (await file.stat()).size;
    await file.truncate(Math.max(0, size - bytes));
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * Whether an open file has no path left (deleted, or its directory removed).
 *
 * @param file The file.
 * @returns `true` when its link count is 0; `false` when it cannot be told.
 */
export async function unlinked(file: Deno.FsFile): Promise<boolean> {
  try {
    return (await file.stat()).nlink === 0;
  } catch {
    return false;
  }
}
