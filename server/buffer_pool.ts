/**
 * {@linkcode BufferPool}: the server's reusable buffers, for the records that span
 * reads and for the bytes queued for each file. A fresh buffer costs its zeroing and
 * page faults, and one per read was half of the server's time; reused ones cost a copy.
 *
 * @module
 */

import type { BufferSource } from "../protocol/mod.ts";

/** The smallest buffer handed out; sizes are powers of two from here. */
const MIN_BUFFER = 4 * 1024;

/** Buffers from this size on get a mapping of their own (see `mapped()`). */
const MAPPED_FROM = 64 * 1024;

/**
 * The size of the allocation behind a large buffer: above 32 MiB, glibc's largest
 * dynamic mmap threshold on 64-bit Linux (`DEFAULT_MMAP_THRESHOLD_MAX`).
 */
const MAPPING_BYTES = 33 * 1024 * 1024;

/** Free bytes kept for reuse at most, by default. */
export const DEFAULT_POOL_BYTES: number = 64 * 1024 * 1024;

/**
 * Free buffers by size (powers of two), up to `maxBytes` kept in all; a buffer given
 * back past that is left to the garbage collector. {@linkcode BufferPool.shrink} lets
 * go of them all, as the server does once idle, so a burst's memory goes back.
 *
 * @example
 * ```ts
 * import { BufferPool } from "./buffer_pool.ts";
 * import assert from "node:assert/strict";
 * const pool = new BufferPool(1 << 20);
 * const buffer = pool.get(5000);
 * assert.equal(buffer.length, 8192);
 * pool.put(buffer);
 * assert.equal(pool.get(8000), buffer, "reused");
 * pool.put(buffer);
 * pool.shrink();
 * assert.equal(pool.freeBytes, 0);
 * ```
 */
export class BufferPool implements BufferSource {
  #free = new Map<number, Uint8Array[]>();
  #freeBytes = 0;
  #maxBytes: number;

  /**
   * An empty pool.
   *
   * @param maxBytes Free bytes kept at most.
   */
  constructor(maxBytes: number = DEFAULT_POOL_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Free bytes kept now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A buffer of at least `size` bytes: a power of two, reused when one is free.
   * Its contents are whatever it held.
   *
   * @param size Bytes needed.
   * @returns The buffer.
   */
  get(size: number): Uint8Array {
    let length = MIN_BUFFER;
    while (length < size) length *= 2;
    const buffer = this.#free.get(length)?.pop();
    if (buffer === undefined) {
      return length >= MAPPED_FROM ? mapped(length) : new Uint8Array(length);
    }
    this.#freeBytes -= length;
    return buffer;
  }

  /**
   * Gives a buffer back; nothing may use it afterwards.
   *
   * @param buffer A buffer from {@linkcode BufferPool.get}.
   */
  put(buffer: Uint8Array): void {
    const length = buffer.length;
    if (length < MIN_BUFFER || (length & (length - 1)) !== 0) return;
    if (this.#freeBytes + length > this.#maxBytes) return;
    let list = this.#free.get(length);
    if (list === undefined) this.#free.set(length, list = []);
    list.push(buffer);
    this.#freeBytes += length;
  }

  /** Lets go of every free buffer. */
  shrink(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }
}

/**
 * A large buffer that glibc maps on its own and unmaps once it is freed, without the
 * plain command's `GLIBC_TUNABLES`. glibc serves an allocation from its heap when it is
 * below its mmap threshold, and raises that threshold (up to 32 MiB) each time a mapped
 * chunk is freed: after the first freed buffer of a burst, the next ones came from the
 * heap, and their memory stayed with the process (118-290 MB after 1 GB, measured).
 * Allocated above 32 MiB, the chunk is always mapped and never raises the threshold;
 * V8 allocates ArrayBuffers zeroed (calloc), so the pages past `length` are never
 * touched and cost no memory, only address space.
 */
function mapped(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(Math.max(length, MAPPING_BYTES)), 0, length);
}
