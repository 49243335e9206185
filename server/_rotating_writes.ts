// The file's writes when the server rotates the file itself (--rotate-size,
// --rotate-interval): a batch is written in parts where the file reaches the size,
// and between two parts the file is renamed and the path opened anew. All of it runs
// in the shared file's write loop, between two whole units, so no client sees it.

import type { BatchWriter } from "./_batch_writer.ts";
import { cutBatch, splitAfterRecord, withoutFailed } from "./_batch_cut.ts";
import { logText } from "./_log_text.ts";
import type { Entry } from "./_owner.ts";
import type { FileCounters } from "./file_counters.ts";
import type { FileRotation } from "./file_rotation.ts";

/** Whole units and their bytes: a batch of the write queue, or a part of one. */
export interface Part {
  /** The units' bytes. */
  readonly data: Uint8Array;
  /** The units, in order. */
  readonly entries: readonly Entry[];
}

/**
 * One file's writes under built-in rotation.
 *
 * @example
 * ```ts ignore
 * const writes = new RotatingWrites(rotation, writer, counters, log);
 * await writes.write(batch, (part) => writeOnePart(part)); // in the write loop
 * ```
 */
export class RotatingWrites {
  #rotation: FileRotation;
  #writer: BatchWriter;
  #counters: FileCounters;
  #log: ((message: string, warning?: boolean) => void) | undefined;
  /** A rotation is under way: the path leads elsewhere for a moment. */
  #rotating = false;
  /** Rotations so far, to tell a move check that overlapped one. */
  #count = 0;

  /**
   * The writes of one file.
   *
   * @param rotation The file's rotation: when, and the renames.
   * @param writer The file's writer: its size, and the reopen.
   * @param counters Where rotations are counted.
   * @param log Logs a line (a warning when `warning` is set).
   */
  constructor(
    rotation: FileRotation,
    writer: BatchWriter,
    counters: FileCounters,
    log?: (message: string, warning?: boolean) => void,
  ) {
    this.#rotation = rotation;
    this.#writer = writer;
    this.#counters = counters;
    this.#log = log;
  }

  /** Whether the file is due for rotation now. */
  get due(): boolean {
    return this.#rotation.due(this.#writer.size) !== null;
  }

  /**
   * Runs a check of whether the path still leads to the open file, and says it does
   * not only when no rotation of the server's own overlapped the check: its own
   * rename is no move.
   *
   * @param moved The check.
   * @returns Whether the file was moved by someone else.
   */
  async movedBySomeoneElse(moved: () => Promise<boolean>): Promise<boolean> {
    if (this.#rotating) return false;
    const count = this.#count;
    const result = await moved();
    return result && !this.#rotating && count === this.#count;
  }

  /**
   * Writes a batch: in parts where the file reaches `--rotate-size`, the unit that
   * reaches it the last in the file, the file rotated before the next part.
   *
   * @param batch Whole units.
   * @param write Writes one part; `false` when the path is gone (the rest fails).
   * @returns The units not written because the path is gone (their owners are to be
   * told), or none.
   */
  async write(batch: Part, write: (part: Part) => Promise<boolean>): Promise<Entry[]> {
    let part = batch;
    for (;;) {
      await this.rotateIfDue();
      const sizes = part.entries.map((entry) => entry.bytes);
      const count = this.#rotation.unitsBefore(this.#writer.size, sizes);
      const room = this.#rotation.room(this.#writer.size);
      const crossing = part.entries[count - 1];
      if (room !== null && crossing !== undefined) {
        // A unit of many records: the record that reaches the size ends the file.
        let before = 0;
        for (let k = 0; k < count - 1; k++) before += sizes[k]!;
        if (before + crossing.bytes > room) {
          part = splitAfterRecord(part, count - 1, room - before);
        }
      }
      const [head, tail] = cutBatch(part, count);
      if (!(await write(head))) return [...tail.entries];
      if (tail.entries.length === 0) break;
      part = withoutFailed(tail);
    }
    await this.rotateIfDue();
    return [];
  }

  /**
   * Rotates the file if it is due, between two writes: renames it, opens the path
   * anew (the old handle is synced in the background and closed), and has the
   * rotated file compressed.
   *
   * @returns A promise that resolves once done; failures are logged.
   */
  async rotateIfDue(): Promise<void> {
    if (!this.due) return;
    this.#rotating = true;
    try {
      const rotated = await this.#rotation.rotate(this.#writer.size, this.#writer.ino);
      if (!rotated) return;
      this.#count++;
      this.#counters.rotated();
      try {
        await this.#writer.reopen(true);
      } catch (error) {
        // Units go on to the renamed file, whole, until the path can be opened.
        this.#log?.(
          `Could not open ${logText(this.#writer.path)} after rotating it: ${error}; ` +
            `writing goes on to ${logText(`${this.#writer.path}.1`)}`,
          true,
        );
        return;
      }
      this.#rotation.compressLater();
    } finally {
      this.#rotating = false;
    }
  }

  /** The path was opened anew by someone else's rotation: its age starts again. */
  reopened(): void {
    this.#rotation.reopened();
  }
}
