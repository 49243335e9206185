/**
 * {@linkcode Compressor}: the server's background compression of rotated files
 * (`--rotate-compress`), one file at a time for the whole server, never in the way of a
 * write: the file's writer only asks it to look at a path's rotated files, and goes on.
 *
 * @module
 */

import { gzipFile } from "./gzip_file.ts";
import type { RotatedFiles } from "./rotated_files.ts";
import { logText } from "./_log_text.ts";

/** Paths whose last failure is remembered (to say it once), at most. */
const MAX_REMEMBERED_FAILURES = 1024;

/**
 * What the compressor did with one file, for the log and the counters.
 *
 * @example
 * ```ts
 * import type { Compressed } from "./compressor.ts";
 * const done: Compressed = { path: "/var/log/app.log", target: "/var/log/app.log.1.gz", bytesIn: 1000, bytesOut: 90 };
 * ```
 */
export interface Compressed {
  /** The live file's path. */
  path: string;
  /** Where the compressed copy went, or `null` when its rotated file was gone by then. */
  target: string | null;
  /** Bytes of the rotated file. */
  bytesIn: number;
  /** Bytes of its compressed copy. */
  bytesOut: number;
}

/**
 * Options of {@linkcode Compressor}.
 *
 * @example
 * ```ts
 * import type { CompressorOptions } from "./compressor.ts";
 * const options: CompressorOptions = { log: (message) => console.log(message) };
 * ```
 */
export interface CompressorOptions {
  /** Logs a line (a warning when `warning` is set). */
  log?: (message: string, warning?: boolean) => void;
  /** Told of each file compressed. */
  onCompressed?: (done: Compressed) => void;
}

/**
 * Compresses the rotated files of the paths it is given, one at a time, newest first.
 *
 * @example
 * ```ts
 * import { Compressor } from "./compressor.ts";
 * import { RotatedFiles } from "./rotated_files.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/app.log`;
 * const rotated = new RotatedFiles(path, { keep: 5, compress: true });
 * await Deno.writeTextFile(path, "hello\n");
 * await rotated.rotate();
 * await using compressor = new Compressor();
 * compressor.schedule(rotated);
 * await compressor.idle();
 * assert.ok((await Deno.stat(`${path}.1.gz`)).isFile);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Compressor implements AsyncDisposable {
  #options: CompressorOptions;
  /** Paths waiting for a look, in the order asked; each once. */
  #waiting = new Set<RotatedFiles>();
  #running: Promise<void> | null = null;
  #abort = new AbortController();
  #closed = false;
  #failures = new Map<string, string>();

  /**
   * A compressor, idle until given work.
   *
   * @param options Where it logs and reports.
   */
  constructor(options: CompressorOptions = {}) {
    this.#options = options;
  }

  /**
   * Asks for the rotated files of a path to be compressed; returns at once.
   *
   * @param rotated The path's rotated files.
   */
  schedule(rotated: RotatedFiles): void {
    if (this.#closed) return;
    this.#waiting.add(rotated);
    this.#running ??= this.#run();
  }

  /**
   * Resolves once nothing is left to compress.
   *
   * @returns A promise that resolves when idle; it never rejects.
   */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  /**
   * Stops: the compression under way is given up (its temporary file removed; the
   * rotated file stays as it is, to be compressed when the path is next opened).
   * Safe to call twice.
   *
   * @returns A promise that resolves once stopped.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#waiting.clear();
    this.#abort.abort(new Deno.errors.Interrupted("the server is shutting down"));
    await this.idle();
  }

  /** Calls {@linkcode Compressor.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        const next = this.#waiting.values().next();
        if (next.done) break;
        const rotated = next.value;
        this.#waiting.delete(rotated);
        // One file, then the others' turn: a busy path does not starve a quiet one.
        if (await this.#compressOne(rotated)) this.#waiting.add(rotated);
      }
    } finally {
      this.#running = null;
    }
  }

  /** Compresses the newest uncompressed rotated file; `true` when there was one. */
  async #compressOne(rotated: RotatedFiles): Promise<boolean> {
    let job;
    try {
      job = await rotated.nextToCompress();
    } catch (error) {
      this.#failed(rotated, error);
      return false;
    }
    if (job === null) return false;
    try {
      const { bytesIn, bytesOut } = await gzipFile(job.file, job.temporary, {
        signal: this.#abort.signal,
      });
      const target = await rotated.place(job);
      this.#failures.delete(rotated.path);
      this.#options.onCompressed?.({ path: rotated.path, target, bytesIn, bytesOut });
      return true;
    } catch (error) {
      await rotated.discard().catch(() => {});
      if (!this.#closed) this.#failed(rotated, error);
      return false;
    } finally {
      job.file.close();
    }
  }

  /** Said once per path and error, not at every rotation. */
  #failed(rotated: RotatedFiles, error: unknown): void {
    const text = String(error);
    if (this.#failures.get(rotated.path) === text) return;
    if (this.#failures.size >= MAX_REMEMBERED_FAILURES) this.#failures.clear();
    this.#failures.set(rotated.path, text);
    this.#options.log?.(
      `Could not compress the rotated files of ${logText(rotated.path)}: ${text}`,
      true,
    );
  }
}
