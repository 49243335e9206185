/**
 * {@linkcode ClientConn}: a client's socket as its session uses it. Reads are sized to
 * the traffic and go into one reused buffer; messages go out in order through one
 * outbox, a promise chain with one write in flight, in which the ACKs queued behind a
 * write merge into one. Every reply counts against the server's budget until the
 * client's socket has taken it.
 *
 * @module
 */

import {
  ACK_PREFIX,
  type BufferSource,
  encodeMessage,
  FRESH,
  SYNCED_PREFIX,
} from "../protocol/mod.ts";
import type { Budget } from "./budget.ts";

/** Read buffer sizes: small for idle clients, grown for busy ones. */
export const MIN_READ = 4 * 1024;
const MAX_READ = 1024 * 1024;

/**
 * Sizes the next read to the traffic: a full read doubles it, a partial one (the
 * socket was drained) shrinks it to fit, so an idle client's pending read is small.
 *
 * @param size The size of the last read.
 * @param got The bytes it returned.
 * @param budget The server's memory bound: near it, reads stay small.
 * @returns The size of the next read.
 *
 * @example
 * ```ts
 * import { MIN_READ, nextReadSize } from "./_client_conn.ts";
 * import { Budget } from "./budget.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nextReadSize(MIN_READ, MIN_READ, new Budget()), 2 * MIN_READ);
 * ```
 */
export function nextReadSize(size: number, got: number, budget: Budget): number {
  // Near the budget, reads stay small: every busy client's read buffer is memory too.
  if (budget.smallReads) return MIN_READ;
  if (got === size) return Math.min(size * 2, MAX_READ);
  let next = MIN_READ;
  while (next < got * 2 && next < MAX_READ) next *= 2;
  return next;
}

/**
 * One accepted connection: reads, an outbox of messages, and a close that ends a
 * pending read. A client that is gone is not an error here: its session still writes
 * what it sent.
 *
 * @example
 * ```ts
 * import { ClientConn, MIN_READ } from "./_client_conn.ts";
 * import { Budget } from "./budget.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * using listener = Deno.listen({ transport: "unix", path: `${dir}/example.sock` });
 * using client = await Deno.connect({ transport: "unix", path: `${dir}/example.sock` });
 * const conn = new ClientConn(await listener.accept(), new Budget());
 * await client.write(new TextEncoder().encode("hi"));
 * const chunk = await conn.read(MIN_READ);
 * assert.equal(new TextDecoder().decode(chunk ?? undefined), "hi");
 * conn.send("OK");
 * await conn.sent();
 * conn.close();
 * const reply = new Uint8Array(3);
 * await client.read(reply);
 * assert.equal(new TextDecoder().decode(reply), "OK\0");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ClientConn {
  #conn: Deno.UnixConn;
  #outbox: Promise<void> = Promise.resolve();
  /** Prefixes of the merged messages waiting in the outbox. */
  #queued = new Set<string>();
  #syncedAt = 0;
  #closed = false;
  #buffer: Uint8Array = new Uint8Array(0);
  #pool: BufferSource;
  #budget: Budget;
  /** Bytes of replies queued or being written, not yet taken by the socket. */
  #unread = 0;

  /**
   * Wraps `conn`; {@linkcode ClientConn.close} closes it.
   *
   * @param conn The accepted connection.
   * @param budget The server's budget, which counts the replies waiting.
   * @param pool Where read buffers come from and go back to.
   */
  constructor(conn: Deno.UnixConn, budget: Budget, pool: BufferSource = FRESH) {
    this.#conn = conn;
    this.#budget = budget;
    this.#pool = pool;
  }

  /** Bytes of replies queued for the client and not yet taken by its socket. */
  get unread(): number {
    return this.#unread;
  }

  /** Whether {@linkcode ClientConn.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads once into the connection's buffer, which the next read reuses: the bytes
   * are valid until then. The buffer is replaced only when `size` grows past it or
   * falls to an eighth of it, so an idle client keeps a small one.
   *
   * @param size Bytes to read at most.
   * @returns The bytes, or `null` at the end, on a reset, or once closed.
   */
  async read(size: number): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    if (this.#buffer.length < size || this.#buffer.length >= size * 8) {
      this.#pool.put(this.#buffer);
      this.#buffer = this.#pool.get(size);
    }
    const buffer = this.#buffer.subarray(0, size);
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (error) {
      this.#release();
      if (this.#closed || error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    }
    if (n === null) {
      this.#release();
      return null;
    }
    return buffer.subarray(0, n);
  }

  /**
   * Reads once into `target`, a buffer of the caller's (the rest of a large record).
   *
   * @param target Where the bytes go.
   * @returns A view of the bytes read, or `null` at the end, on a reset, or once closed.
   */
  async readInto(target: Uint8Array): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    let n: number | null;
    try {
      n = await this.#conn.read(target);
    } catch (error) {
      if (this.#closed || error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    }
    return n === null ? null : target.subarray(0, n);
  }

  /**
   * Queues a message (the NUL is added) behind those already queued.
   *
   * @param text The message, e.g. `OK` or `ValueError: …`.
   */
  send(text: string): void {
    this.#queue(encodeMessage(text));
  }

  /**
   * Queues a large message (a stats answer) if the budget's share for replies has room
   * for it.
   *
   * @param text The message.
   * @returns `false` (nothing queued) when it does not fit.
   */
  sendLarge(text: string): boolean {
    const bytes = encodeMessage(text);
    if (!this.#budget.holdReply(bytes.length, true)) return false;
    this.#unread += bytes.length;
    this.#outbox = this.#outbox.then(() => this.#write(bytes));
    return true;
  }

  #queue(bytes: Uint8Array): void {
    this.#budget.holdReply(bytes.length);
    this.#unread += bytes.length;
    this.#outbox = this.#outbox.then(() => this.#write(bytes));
  }

  /**
   * Queues `ACK <n>`, merged: while one waits in the outbox, later ones only update
   * it, so a client that does not read its messages costs one, not one per write.
   *
   * @param written Bytes written so far, read when the message goes out.
   */
  ack(written: () => number): void {
    this.#merged(ACK_PREFIX, written);
  }

  /**
   * Queues `SYNCED <n>`, merged as `ACK` is.
   *
   * @param position The position synced; the latest one goes out.
   */
  synced(position: number): void {
    this.#syncedAt = Math.max(this.#syncedAt, position);
    this.#merged(SYNCED_PREFIX, () => this.#syncedAt);
  }

  #merged(prefix: string, value: () => number): void {
    if (this.#queued.has(prefix)) return;
    this.#queued.add(prefix);
    this.#outbox = this.#outbox.then(() => {
      this.#queued.delete(prefix);
      const bytes = encodeMessage(prefix + value());
      this.#budget.holdReply(bytes.length);
      this.#unread += bytes.length;
      return this.#write(bytes);
    });
  }

  /**
   * Resolves once every message queued so far is written (or dropped with the
   * client).
   *
   * @returns A promise that never rejects.
   */
  sent(): Promise<void> {
    return this.#outbox;
  }

  /** Closes the connection, which ends a pending read; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }

  /** The stream ended: no read uses the buffer any more. */
  #release(): void {
    this.#pool.put(this.#buffer);
    this.#buffer = new Uint8Array(0);
  }

  /** Writes one queued message; its bytes leave the budget once taken or dropped. */
  async #write(bytes: Uint8Array): Promise<void> {
    try {
      if (this.#closed) return;
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch {
      // The client is gone; what it sent is still written.
    } finally {
      this.#unread -= bytes.length;
      this.#budget.releaseReply(bytes.length);
    }
  }
}
