/**
 * {@linkcode RotatedFiles}: the rotated files of one path, named as logrotate names
 * them: `PATH.1` the newest, `PATH.2` older, ... `PATH.<keep>` the oldest kept, each
 * `PATH.N.gz` once compressed. Every rename among them, the rotation's shift and the
 * compressor's last step, is made here, one at a time, and only to a name just found free.
 *
 * A compressed file is written as `.<name>.gz.tmp` beside the path (one per path: at
 * most one compression of a path runs at a time), synced, renamed to `PATH.N.gz`, and
 * only then is `PATH.N` removed. So after a crash (SIGKILL, power loss) at any step:
 * a temporary file is never the only copy and is removed; `PATH.N` beside `PATH.N.gz`
 * is the copy already compressed and is removed; a `PATH.N` alone is compressed again.
 *
 * @module
 */

import {
  exists,
  inode,
  openRegular,
  removeIfThere,
  renameFresh,
} from "./_rotated_names.ts";

/** The renames of each path, one at a time: the tail of its chain, while it runs. */
const locks = new Map<string, Promise<void>>();

/** Numbers looked at together when a rotation looks for the first free one. */
const SCAN_BATCH = 8;

/** Paths whose compression is under way (between `nextToCompress` and `place`). */
const compressing = new Set<string>();

/** One rotated file: its index, and whether it is the compressed one. */
interface Slot {
  plain: boolean;
  gz: boolean;
}

/**
 * What {@linkcode RotatedFiles.recover} found and did.
 *
 * @example
 * ```ts
 * import type { Recovered } from "./rotated_files.ts";
 * const recovered: Recovered = { removedTemporary: false, removedCopies: [], toCompress: 0 };
 * ```
 */
export interface Recovered {
  /** A temporary file of an unfinished compression was removed. */
  removedTemporary: boolean;
  /** `PATH.N` files removed because `PATH.N.gz` was already complete. */
  removedCopies: string[];
  /** Rotated files still uncompressed (compression on). */
  toCompress: number;
}

/**
 * A rotated file opened for compression, and where its compressed copy goes.
 *
 * @example
 * ```ts
 * import type { CompressJob } from "./rotated_files.ts";
 * const describe = (job: CompressJob): string => `${job.source} -> ${job.temporary}`;
 * ```
 */
export interface CompressJob {
  /** The rotated file's path when it was opened (it may move on while compressed). */
  readonly source: string;
  /** Open for reading; the caller closes it. */
  readonly file: Deno.FsFile;
  /** Its inode: how it is found again after later rotations renamed it. */
  readonly ino: number;
  /** Where to write the compressed copy before {@linkcode RotatedFiles.place}. */
  readonly temporary: string;
}

/**
 * The rotated files of one path.
 *
 * @example
 * ```ts
 * import { RotatedFiles } from "./rotated_files.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/app.log`;
 * const rotated = new RotatedFiles(path, { keep: 2, compress: false });
 * for (const text of ["a", "b", "c"]) {
 *   await Deno.writeTextFile(path, text);
 *   const { removed } = await rotated.rotate(); // the caller opens PATH anew here
 *   await removed;
 * }
 * assert.equal(await Deno.readTextFile(`${path}.1`), "c");
 * assert.equal(await Deno.readTextFile(`${path}.2`), "b");
 * await assert.rejects(Deno.stat(`${path}.3`), Deno.errors.NotFound);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RotatedFiles {
  /** The live file's path. */
  readonly path: string;
  /** The temporary file of this path's compressions. */
  readonly temporary: string;
  #keep: number;
  #compress: boolean;

  /**
   * The rotated files of `path`.
   *
   * @param path The live file, an absolute path.
   * @param options How many rotated files to keep, and whether they are compressed.
   */
  constructor(path: string, options: { keep: number; compress: boolean }) {
    this.path = path;
    const slash = path.lastIndexOf("/");
    this.temporary = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.gz.tmp`;
    this.#keep = options.keep;
    this.#compress = options.compress;
  }

  /**
   * The name of the rotated file at `index`.
   *
   * @param index 1 for the newest.
   * @param gz The compressed one.
   * @returns `PATH.<index>`, or `PATH.<index>.gz`.
   */
  name(index: number, gz = false): string {
    return `${this.path}.${index}${gz ? ".gz" : ""}`;
  }

  /**
   * Tidies what a crash may have left, as the path is opened: removes the temporary
   * file, and `PATH.N` where `PATH.N.gz` is there.
   *
   * @returns What it found and did.
   */
  recover(): Promise<Recovered> {
    return this.#locked(async () => {
      // A compression of this path under way (its file closed and opened again
      // meanwhile) is writing the temporary file: it is not a leftover.
      const removedTemporary = !compressing.has(this.path) &&
        await removeIfThere(this.temporary);
      const removedCopies: string[] = [];
      let toCompress = 0;
      for (let index = 1;; index++) {
        const slot = await this.#slot(index);
        if (slot === null) break;
        if (slot.plain && slot.gz) {
          await Deno.remove(this.name(index));
          removedCopies.push(this.name(index));
        } else if (slot.plain && this.#compress) {
          toCompress++;
        }
      }
      return { removedTemporary, removedCopies, toCompress };
    });
  }

  /**
   * Moves the live file into the rotated ones: `PATH.N` becomes `PATH.N+1` from the
   * oldest down (up to the first free number; files past it are left alone), `PATH`
   * becomes `PATH.1`. Those past `keep` are removed next, after the promise resolves
   * (the caller opens `PATH` anew meanwhile), before any later rename.
   *
   * @param ino The inode of the file the caller has open: when `PATH` is not that
   * file (moved or replaced by someone else), nothing is renamed.
   * @returns Once renamed: the removal of the files past `keep`, and what it removed.
   * @throws {Deno.errors.NotFound} `PATH` is gone, or is not the file open (`ino`).
   * @throws What renaming throws (the live file is then not moved).
   */
  rotate(ino: number | null = null): Promise<{ removed: Promise<string[]> }> {
    return this.#locked(async () => {
      const [live, run] = await Promise.all([inode(this.path), this.#run()]);
      if (live === null || (ino !== null && live !== ino)) {
        throw new Deno.errors.NotFound(
          `Not rotated: "${this.path}" is ${
            live === null ? "gone" : "not the file open"
          } (moved by someone else?)`,
        );
      }
      // The run ends at a free number, found just now under the lock: each rename
      // below goes to a name free (or just freed), without looking again. This is
      // the time the write loop waits.
      for (let index = run.length; index >= 1; index--) {
        const slot = run[index - 1]!;
        for (const gz of [false, true]) {
          const want = gz ? slot.gz : slot.plain;
          if (want) await Deno.rename(this.name(index, gz), this.name(index + 1, gz));
        }
      }
      await Deno.rename(this.path, this.name(1));
      // Queued now, so it runs next: nothing shifts the files before it.
      // After the shift, the file of run[k] is at number k + 2.
      const past = run.slice(Math.max(0, this.#keep - 1)).map((slot, k) => ({
        ...slot,
        index: Math.max(this.#keep, 1) + k + 1,
      }));
      const removed = this.#locked(() => this.#remove(past));
      removed.catch(() => {});
      return { removed };
    });
  }

  /** Removes these rotated files (those past `keep`), the forms found there. */
  async #remove(files: (Slot & { index: number })[]): Promise<string[]> {
    const removed: string[] = [];
    for (const { index, plain, gz } of files) {
      const forms = [plain && this.name(index), gz && this.name(index, true)];
      for (const name of forms) if (name && await removeIfThere(name)) removed.push(name);
    }
    return removed;
  }

  /**
   * The rotated files from `PATH.1` up to the first free number, looked at `keep + 1`
   * (at most eight) numbers at a time: usually one round trip, whatever `keep` is.
   */
  async #run(): Promise<Slot[]> {
    const run: Slot[] = [];
    for (;;) {
      const next = run.length + 1;
      const slots = await Promise.all(
        Array.from(
          { length: Math.min(SCAN_BATCH, this.#keep + 1) },
          (_, k) => this.#slot(next + k),
        ),
      );
      for (const slot of slots) {
        if (slot === null) return run;
        run.push(slot);
      }
    }
  }

  /**
   * Opens the newest rotated file not yet compressed, for the compressor.
   *
   * @returns The job, or `null` when none is left (or compression is off).
   */
  nextToCompress(): Promise<CompressJob | null> {
    if (!this.#compress) return Promise.resolve(null);
    return this.#locked(async () => {
      for (let index = 1; index <= this.#keep; index++) {
        const slot = await this.#slot(index);
        if (slot === null) return null;
        if (!slot.plain || slot.gz) continue;
        const source = this.name(index);
        // Not a link or a FIFO that someone put at a rotated name.
        const file = await openRegular(source);
        if (file === null) continue;
        const ino = (await file.stat()).ino;
        if (ino === null) {
          file.close();
          return null;
        }
        compressing.add(this.path);
        return { source, file, ino, temporary: this.temporary };
      }
      return null;
    });
  }

  /**
   * Puts a finished compressed copy in place of its rotated file, wherever later
   * rotations moved it: `PATH.N.gz` from the temporary file, then `PATH.N` removed.
   * When the rotated file is gone (past `keep`), the copy is removed instead.
   *
   * @param job The job from {@linkcode RotatedFiles.nextToCompress}, its temporary
   * file complete and synced.
   * @returns Where the copy went, or `null` when it was removed.
   */
  place(job: CompressJob): Promise<string | null> {
    return this.#locked(async () => {
      compressing.delete(this.path);
      for (let index = 1;; index++) {
        const slot = await this.#slot(index);
        if (slot === null) break;
        if (!slot.plain || slot.gz) continue;
        const ino = await inode(this.name(index));
        if (ino !== job.ino) continue;
        await renameFresh(job.temporary, this.name(index, true));
        await Deno.remove(this.name(index));
        return this.name(index, true);
      }
      await removeIfThere(job.temporary);
      return null;
    });
  }

  /**
   * Syncs (`fdatasync`) the rotated files that still hold data of the given inodes
   * uncompressed: opened by name, found by inode wherever rotations moved them. A file
   * compressed meanwhile needs none (its `.gz` was synced before it took the name), and
   * one removed past `keep` none either.
   *
   * @param inodes The inodes of files rotated without a sync.
   * @returns A promise that resolves once synced.
   * @throws What opening or syncing throws.
   */
  syncInodes(inodes: ReadonlySet<number>): Promise<void> {
    return this.#locked(async () => {
      for (let index = 1;; index++) {
        const slot = await this.#slot(index);
        if (slot === null) break;
        if (!slot.plain || !inodes.has((await inode(this.name(index))) ?? -1)) continue;
        using file = await Deno.open(this.name(index), { read: true });
        await file.syncData();
      }
    });
  }

  /** Waits for every rename and removal asked for so far. @returns When done. */
  settled(): Promise<void> {
    return this.#locked(() => Promise.resolve());
  }

  /**
   * Removes the temporary file of a compression given up (shutdown, a failure).
   *
   * @returns A promise that resolves once it is gone.
   */
  async discard(): Promise<void> {
    await this.#locked(() => {
      compressing.delete(this.path);
      return removeIfThere(this.temporary);
    });
  }

  /** What is at `index`, or `null` when neither `PATH.N` nor `PATH.N.gz` is. */
  async #slot(index: number): Promise<Slot | null> {
    const [plain, gz] = await Promise.all([
      exists(this.name(index)),
      exists(this.name(index, true)),
    ]);
    return plain || gz ? { plain, gz } : null;
  }

  /** Runs `job` after every earlier one; a failure does not stop later ones. */
  #locked<T>(job: () => Promise<T>): Promise<T> {
    // One chain per path, not per object: a path closed and opened again has a new
    // object while the compressor may still hold the old one.
    const run = (locks.get(this.path) ?? Promise.resolve()).then(job, job);
    const tail = run.then(() => {}, () => {});
    locks.set(this.path, tail);
    tail.then(() => {
      if (locks.get(this.path) === tail) locks.delete(this.path);
    });
    return run;
  }
}
