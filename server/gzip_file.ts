/**
 * {@linkcode gzipFile}: compresses an open file into a new gzip file (readable by
 * `gzip -d`) with `CompressionStream`, a chunk at a time.
 *
 * Deno compresses on the thread that calls it, the server's only one: the file is read
 * in chunks of {@linkcode GZIP_CHUNK_BYTES}, and after each one the compressor rests, at
 * least a timer turn, so that the server's reads, writes and acknowledgements go first,
 * and long enough that compressing takes at most a share of the time
 * ({@linkcode GZIP_DUTY}): a burst of writes is not slowed much by the compression of
 * the files it fills. The memory it holds is a chunk and what the stream buffers of it,
 * whatever the file's size.
 *
 * @module
 */

/**
 * Bytes read from the source at a time: about a millisecond of compression here.
 *
 * @example
 * ```ts
 * import { GZIP_CHUNK_BYTES } from "./gzip_file.ts";
 * import assert from "node:assert/strict";
 * assert.equal(GZIP_CHUNK_BYTES, 64 * 1024);
 * ```
 */
export const GZIP_CHUNK_BYTES = 64 * 1024;

/**
 * The share of the time the compressor works, by default: after a chunk that took
 * `t` ms to read, compress and write, it rests `t * (1 / GZIP_DUTY - 1)` ms.
 *
 * @example
 * ```ts
 * import { GZIP_DUTY } from "./gzip_file.ts";
 * import assert from "node:assert/strict";
 * assert.equal(GZIP_DUTY, 0.1);
 * ```
 */
export const GZIP_DUTY = 0.1;

/**
 * Options of {@linkcode gzipFile}.
 *
 * @example
 * ```ts
 * import type { GzipOptions } from "./gzip_file.ts";
 * const options: GzipOptions = { signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface GzipOptions {
  /** Aborting it stops the compression; the target is left for the caller. */
  signal?: AbortSignal;
  /**
   * Bytes read at a time.
   * @default {65536}
   */
  chunkBytes?: number;
  /**
   * The share of the time it works, above 0 and at most 1 (1: a timer turn only).
   * @default {0.1}
   */
  duty?: number;
  /**
   * Rests `ms` between two chunks.
   * @default {a timer of `ms`}
   */
  rest?: (ms: number) => Promise<void>;
}

/**
 * What {@linkcode gzipFile} wrote.
 *
 * @example
 * ```ts
 * import type { Gzipped } from "./gzip_file.ts";
 * const result: Gzipped = { bytesIn: 1000, bytesOut: 120 };
 * ```
 */
export interface Gzipped {
  /** Bytes read from the source. */
  bytesIn: number;
  /** Bytes of the gzip file. */
  bytesOut: number;
}

/**
 * Compresses `source`, from where it stands to its end, into a new file at `target`
 * (created, or truncated), then syncs the target (`fdatasync`) and closes it. The
 * source stays open for the caller.
 *
 * @param source A file open for reading.
 * @param target The gzip file to write.
 * @param options A signal to stop, the chunk size.
 * @returns The bytes read and written.
 * @throws What reading or writing throws; the signal's reason once aborted.
 *
 * @example
 * ```ts
 * import { gzipFile } from "./gzip_file.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "hello\n".repeat(1000));
 * using source = await Deno.open(`${dir}/a.log`);
 * const { bytesIn } = await gzipFile(source, `${dir}/a.log.gz`);
 * assert.equal(bytesIn, 6000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function gzipFile(
  source: Deno.FsFile,
  target: string,
  options: GzipOptions = {},
): Promise<Gzipped> {
  const chunkBytes = options.chunkBytes ?? GZIP_CHUNK_BYTES;
  const duty = options.duty ?? GZIP_DUTY;
  const rest = options.rest ?? pause;
  const signal = options.signal;
  const out = await createFresh(target);
  try {
    const stream = new CompressionStream("gzip");
    const writer = stream.writable.getWriter();
    let bytesOut = 0;
    const draining = (async () => {
      for await (const chunk of stream.readable) {
        for (let offset = 0; offset < chunk.length;) {
          offset += await out.write(chunk.subarray(offset));
        }
        bytesOut += chunk.length;
      }
    })();
    let bytesIn = 0;
    // One buffer for every chunk: the stream has compressed a chunk when its write
    // resolves, and keeps none of it.
    const buffer = new Uint8Array(chunkBytes);
    try {
      for (;;) {
        signal?.throwIfAborted();
        const started = performance.now();
        const n = await source.read(buffer);
        if (n === null) break;
        bytesIn += n;
        await writer.write(buffer.subarray(0, n));
        await rest(restAfter(performance.now() - started, duty));
      }
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
      await draining.catch(() => {});
      throw error;
    }
    await draining;
    await out.syncData();
    return { bytesIn, bytesOut };
  } finally {
    out.close();
  }
}

/**
 * How long the compressor rests after a chunk that took `workedMs`, so that it works
 * `duty` of the time.
 *
 * @param workedMs Milliseconds the chunk took to read, compress and write.
 * @param duty The share of the time to work, above 0 and at most 1.
 * @returns Milliseconds to rest.
 *
 * @example
 * ```ts
 * import { restAfter } from "./gzip_file.ts";
 * import assert from "node:assert/strict";
 * assert.equal(restAfter(2, 0.25), 6);
 * ```
 */
export function restAfter(workedMs: number, duty: number): number {
  return workedMs * (1 / duty - 1);
}

/** Resolves after `ms`, and on a later turn of the event loop in any case. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Creates `path` anew (O_EXCL): a symlink put at the name is removed, never followed,
 * so the server cannot be made to truncate a file elsewhere.
 */
async function createFresh(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    await Deno.remove(path);
    return await Deno.open(path, { write: true, createNew: true });
  }
}
