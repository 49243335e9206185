/**
 * {@linkcode FileRotation}: built-in rotation of one open file, as its writer sees
 * it. The writer tells it what it wrote, asks between two writes whether the file is
 * due and how many of the next units still go in, and has it rename the file; then the
 * writer opens the path anew. So a rotation falls between two whole units, and the
 * clients see nothing of it.
 *
 * @module
 */

import type { Compressor } from "./compressor.ts";
import { RotatedFiles } from "./rotated_files.ts";
import { type RotatePolicy, rotationDue, unitsBeforeRotation } from "./rotate_policy.ts";
import { logText } from "./_log_text.ts";

/** Milliseconds after a failed rotation before the next is tried. */
const RETRY_MS = 1000;

/**
 * Options of {@linkcode FileRotation.open}.
 *
 * @example
 * ```ts
 * import type { FileRotationOptions } from "./file_rotation.ts";
 * const options: FileRotationOptions = { log: (message) => console.log(message) };
 * ```
 */
export interface FileRotationOptions {
  /** Compresses rotated files (`--rotate-compress`); without it they stay as they are. */
  compressor?: Compressor | null;
  /** Logs a line (a warning when `warning` is set). */
  log?: (message: string, warning?: boolean) => void;
  /**
   * The clock, in ms.
   * @default {performance.now}
   */
  now?: () => number;
}

/**
 * Rotation of one file.
 *
 * @example
 * ```ts
 * import { FileRotation } from "./file_rotation.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/app.log`;
 * const policy = { size: 4096, intervalMs: null, keep: 5, compress: false };
 * const rotation = await FileRotation.open(path, policy);
 * await Deno.writeTextFile(path, "x".repeat(5000));
 * assert.equal(rotation.due(5000), "size");
 * await rotation.rotate(5000); // the writer now opens the path anew
 * assert.equal((await Deno.stat(`${path}.1`)).size, 5000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileRotation {
  /** The file's rotated files. */
  readonly rotated: RotatedFiles;
  #policy: RotatePolicy;
  #compressor: Compressor | null;
  #log: (message: string, warning?: boolean) => void;
  #now: () => number;
  #openedAt: number;
  /** After a failed rotation, none is tried before this time. */
  #retryAt = -Infinity;
  #lastError = "";

  private constructor(
    rotated: RotatedFiles,
    policy: RotatePolicy,
    options: FileRotationOptions,
  ) {
    this.rotated = rotated;
    this.#policy = policy;
    this.#compressor = policy.compress ? options.compressor ?? null : null;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? (() => performance.now());
    this.#openedAt = this.#now();
  }

  /**
   * Starts rotating a file just opened: tidies what a crash left among its rotated
   * files, and has those still uncompressed compressed.
   *
   * @param path The file's path.
   * @param policy When to rotate, how many to keep, whether to compress.
   * @param options The compressor, the log, the clock.
   * @returns The file's rotation; a failure to tidy is logged, not thrown.
   */
  static async open(
    path: string,
    policy: RotatePolicy,
    options: FileRotationOptions = {},
  ): Promise<FileRotation> {
    const rotated = new RotatedFiles(path, policy);
    const rotation = new FileRotation(rotated, policy, options);
    let recovered;
    try {
      recovered = await rotated.recover();
    } catch (error) {
      // Rotating may still work; writing does.
      rotation.#log(
        `Could not look at the rotated files of ${logText(path)}: ${error}`,
        true,
      );
      return rotation;
    }
    if (recovered.removedTemporary) {
      rotation.#log(
        `Removed ${logText(rotated.temporary)}, an unfinished compression; its rotated ` +
          `file is compressed again`,
      );
    }
    for (const copy of recovered.removedCopies) {
      rotation.#log(`Removed ${logText(copy)}: its compressed copy was complete`);
    }
    if (recovered.toCompress > 0) rotation.#compressor?.schedule(rotated);
    return rotation;
  }

  /**
   * Whether the file is due for rotation before the next write.
   *
   * @param bytes Bytes in the file now.
   * @returns `"size"`, `"age"`, or `null`.
   */
  due(bytes: number): "size" | "age" | null {
    if (this.#now() < this.#retryAt) return null;
    return rotationDue(this.#policy, bytes, this.#openedAt, this.#now());
  }

  /**
   * Bytes the file takes before it reaches `--rotate-size`.
   *
   * @param bytes Bytes in the file now.
   * @returns At least 0; `null` when it does not rotate by size.
   */
  room(bytes: number): number | null {
    return this.#policy.size === null ? null : Math.max(0, this.#policy.size - bytes);
  }

  /**
   * How many of the next units go into this file before it is due: up to the one
   * that reaches the size, whole.
   *
   * @param bytes Bytes in the file now.
   * @param sizes The sizes of the units queued next, in order.
   * @returns How many to write before asking {@linkcode FileRotation.due} again.
   */
  unitsBefore(bytes: number, sizes: readonly number[]): number {
    return unitsBeforeRotation(this.#policy, bytes, sizes);
  }

  /**
   * Renames the file into its rotated ones (`PATH` to `PATH.1`, the older shifted,
   * those past `--rotate-keep` removed) and logs `Rotated PATH (N bytes)`. Call it
   * between two writes, then open the path anew, then call
   * {@linkcode FileRotation.compressLater}. A failure is logged (once per error) and
   * no rotation is tried for a second.
   *
   * @param bytes Bytes in the file, for the log.
   * @param ino The inode of the open file: `PATH` is renamed only if it is that file.
   * @returns `true` once renamed; `false` when it failed (the file stays in use).
   */
  async rotate(bytes: number, ino: number | null = null): Promise<boolean> {
    let removing: Promise<string[]>;
    try {
      removing = (await this.rotated.rotate(ino)).removed;
    } catch (error) {
      this.#retryAt = this.#now() + RETRY_MS;
      const text = String(error);
      if (text !== this.#lastError) {
        this.#lastError = text;
        this.#log(`Could not rotate ${logText(this.rotated.path)}: ${text}`, true);
      }
      return false;
    }
    this.#lastError = "";
    this.#openedAt = this.#now();
    this.#log(`Rotated ${logText(this.rotated.path)} (${bytes} bytes)`);
    removing.then((removed) => {
      if (removed.length === 0) return;
      this.#log(`Removed ${removed.map(logText).join(", ")} (--rotate-keep)`);
    }, (error) => {
      this.#log(`Could not remove the oldest rotated files: ${error}`, true);
    });
    return true;
  }

  /**
   * The writer writes to the new file now: the rotated one may be compressed. (Not
   * before: bytes still going to a file must not be left out of its compressed copy.)
   */
  compressLater(): void {
    this.#compressor?.schedule(this.rotated);
  }

  /**
   * The file was opened anew at its path by someone else's rotation (SIGHUP, a move
   * noticed): its age counts from now.
   */
  reopened(): void {
    this.#openedAt = this.#now();
  }
}
