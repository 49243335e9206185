/**
 * {@linkcode Session}: one client connection, from its opening to its goodbye.
 *
 * @module
 */

import {
  BYE,
  features,
  formatError,
  type ProtocolVersion,
  recordReader,
  ROTATED,
  SERVER_EXITED,
  type Unit,
} from "../protocol/mod.ts";
import { ClientConn, MIN_READ, nextReadSize } from "./_client_conn.ts";
import { refusalOf } from "./_describe_error.ts";
import { readOpening } from "./_session_opening.ts";
import { logText } from "./_log_text.ts";
import { CLIENT_REPLY_BYTES, UnfinishedHold } from "./budget.ts";
import { SyncQueue } from "./_sync_queue.ts";
import type { SessionContext } from "./session_context.ts";
import type { Owner } from "./_owner.ts";
import type { SharedFile } from "./shared_file.ts";

export type { SessionContext } from "./session_context.ts";

/** Ends a 0.x line cut off at shutdown. */
const NEWLINE = new Uint8Array([10]);

/**
 * One client: reads its opening, opens its file, appends its records, and says
 * goodbye once they are written. Refusals go back as `<Name>: <message>` and NUL.
 *
 * @example
 * ```ts
 * import { Session } from "./session.ts";
 * import { FileTable } from "./file_table.ts";
 * import { Budget } from "./budget.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * using listener = Deno.listen({ transport: "unix", path: `${dir}/example.sock` });
 * using client = await Deno.connect({ transport: "unix", path: `${dir}/example.sock` });
 * const conn = await listener.accept();
 * const context = { files: new FileTable(), budget: new Budget(), log: console.log };
 * const session = new Session(0, conn, context);
 * // A 0.x client: the path and a NUL, then lines, then the end of its stream.
 * await client.write(new TextEncoder().encode(`${dir}/app.log\0hello\n`));
 * await client.closeWrite();
 * await session.done;
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "hello\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Session implements Owner {
  /** The client's number in the server's log. */
  readonly id: number;
  /** Resolves once the connection is finished and closed. */
  readonly done: Promise<void>;
  /** Set once a write of this client's data failed. */
  failed = false;

  #conn: ClientConn;
  #context: SessionContext;
  #file: SharedFile | null = null;
  #version: ProtocolVersion = "0.x";
  #received = 0;
  #written = 0;
  #whenWritten: (() => void) | null = null;
  #stopping = false;
  #aborted = false;
  /** This client's unfinished record, held against the budget. */
  #unfinished: UnfinishedHold;
  /** Bytes of complete records counted against the budget and not yet written. */
  #queued = 0;
  #syncs: SyncQueue = new SyncQueue({
    written: () => this.#written,
    failed: () => this.failed,
    file: () => this.#file,
    synced: (position) => this.#conn.synced(position),
    syncFailed: (error) => this.onWriteError(error),
  });
  /** Whether the connection was a stats request. */
  #statsRequest = false;

  /**
   * Starts serving `conn`.
   *
   * @param id The client's number.
   * @param conn The accepted connection; the session closes it.
   * @param context The server's file table and log.
   */
  constructor(id: number, conn: Deno.UnixConn, context: SessionContext) {
    this.id = id;
    this.#conn = new ClientConn(conn, context.budget, context.pool);
    this.#context = context;
    this.#unfinished = new UnfinishedHold(context.budget);
    this.done = this.#run();
  }

  /**
   * Tells the client that the server exits; it is read to its end (or until
   * {@linkcode Session.abort}), and what it sent is written.
   */
  shutdown(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#file === null) this.#conn.close();
    else this.#conn.send(SERVER_EXITED);
  }

  /** The file this client appends to, once it is open. */
  get file(): SharedFile | null {
    return this.#file;
  }

  /**
   * Tells the client that its file was reopened: always on offlog/1; on 0.x only when
   * `tell0x` is set, since a 0.1 client takes `ROTATED` for an error.
   *
   * @param tell0x Tell 0.x clients too (the server's `--tell-rotated`).
   */
  rotated(tell0x: boolean): void {
    if (this.#file === null || this.#stopping || this.failed) return;
    if (features(this.#version).rotated || tell0x) this.#conn.send(ROTATED);
  }

  /** Stops reading from the client at once; what was read is still written. */
  abort(): void {
    this.#aborted = true;
    this.#conn.close();
  }

  /** {@inheritDoc Owner.onWritten} */
  onWritten(bytes: number, extra: number): void {
    this.#written += bytes;
    // Never more than is counted: what the session gave back when it ended stays so.
    const counted = Math.min(bytes + extra, this.#queued);
    this.#queued -= counted;
    if (this.#file !== null) this.#context.budget.written(this.#file, counted);
    if (features(this.#version).acks) this.#conn.ack(() => this.#written);
    if (this.#written >= this.#received) this.#whenWritten?.();
    this.#syncs.wake();
  }

  /** {@inheritDoc Owner.lines} */
  get lines(): boolean {
    return this.#version === "0.x";
  }

  /** Whether the connection is a stats request rather than a client of a file. */
  get isStatsRequest(): boolean {
    return this.#statsRequest;
  }

  /** {@inheritDoc Owner.onWriteError} */
  onWriteError(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const message = refusalOf(error, this.#file?.path ?? "").wire;
    this.#context.log(`Client ${this.id} write failed: ${logText(message)}`, true);
    this.#conn.send(message);
    this.#conn.sent().then(() => this.#conn.close());
    this.#whenWritten?.();
    this.#syncs.wake();
  }

  async #run(): Promise<void> {
    try {
      const rest = await readOpening({
        id: this.id,
        conn: this.#conn,
        context: this.#context,
        owner: this,
        joined: (file, version) => {
          this.#file = file;
          this.#version = version;
        },
        statsRequest: () => this.#statsRequest = true,
      });
      if (rest !== null) await this.#serve(rest);
    } catch (error) {
      this.#context.log(`Client ${this.id} failed: ${error}`, true);
    } finally {
      await this.#conn.sent();
      this.#conn.close();
      this.#unfinished.set(0);
      if (this.#file !== null) this.#context.budget.written(this.#file, this.#queued);
      this.#queued = 0;
      if (this.#file !== null) {
        const file = this.#file;
        try {
          const remaining = await this.#context.files.release(file, this);
          const path = logText(file.path);
          this.#context.log(
            `Client ${this.id} done (remaining: ${remaining}) with ${path}`,
          );
          if (remaining === 0) this.#context.log(`Closed ${path}`);
        } catch (error) {
          // `done` never rejects: the server awaits it at shutdown.
          this.#context.log(
            `Client ${this.id}: closing ${logText(file.path)} failed: ${error}`,
            true,
          );
        }
      }
    }
  }

  /** Reads records until the client ends, and says goodbye once they are written. */
  async #serve(rest: Uint8Array): Promise<void> {
    const file = this.#file!;
    const reader = recordReader(this.#version, this.#context.pool);
    const budget = this.#context.budget;
    const accept = (unit: Unit) => {
      if (this.failed) return;
      if (unit.sync) return this.#syncs.request(this.#received);
      this.#received += unit.bytes;
      const held = unit.bytes + (unit.ends?.length ?? 0);
      this.#queued += held;
      budget.queue(file, held);
      file.enqueue(this, unit);
    };
    let refusal: string | null = null;
    let chunk: Uint8Array | null = rest;
    let size = MIN_READ;
    while (chunk !== null && !this.failed) {
      if (chunk.length > 0) {
        for (const unit of reader.push(chunk)) accept(unit);
        if (reader.error !== null) {
          refusal = formatError("ValueError", reader.error);
          break;
        }
        if (!this.#unfinished.set(reader.reservedBytes)) {
          refusal = formatError(
            "MemoryError",
            `Unfinished record refused: the server's memory budget for unfinished ` +
              `records is full (--max-buffered-bytes ${budget.limit})`,
          );
          break;
        }
        const room = budget.room(file, this.#conn);
        if (room !== null) {
          if (this.#conn.unread > CLIENT_REPLY_BYTES) {
            this.#context.log(
              `Client ${this.id} leaves ${this.#conn.unread} bytes of replies unread: ` +
                `not reading it until it reads them`,
              true,
            );
          }
          await room;
        }
      }
      const target = reader.readTarget();
      if (target !== null) chunk = await this.#conn.readInto(target);
      else {
        chunk = await this.#conn.read(size);
        if (chunk !== null) size = nextReadSize(size, chunk.length, budget);
      }
    }
    if (this.failed) return;
    if (refusal !== null) {
      // What came before is written; then the client is told and closed.
      this.#context.onRefused?.();
      this.#context.log(`Client ${this.id} refused: ${refusal}`, true);
    } else {
      const last = reader.end();
      refusal = this.#end(last, reader.heldBytes, accept); // heldBytes: now dropped
    }
    this.#unfinished.set(0);
    if (this.#written < this.#received && !this.failed) {
      await new Promise<void>((resolve) => this.#whenWritten = resolve);
    }
    await this.#syncs.idle;
    if (this.failed) return;
    if (refusal !== null) this.#conn.send(refusal);
    else if (!this.#stopping) this.#conn.send(BYE);
  }

  /**
   * The client's stream ended: `last` (a 0.x unfinished line) is still written,
   * `dropped` bytes (an unfinished frame) are not.
   *
   * @returns The refusal to send once the rest is written, or `null`.
   */
  #end(last: Unit | null, dropped: number, accept: (unit: Unit) => void): string | null {
    if (last !== null) {
      if (this.#aborted) {
        // Cut off at shutdown: end the line, so the next one does not run on from it.
        last.parts.push(NEWLINE);
        last.bytes += 1;
        this.#context.log(
          `Client ${this.id} cut off at shutdown in the middle of a line: ` +
            `wrote its ${last.bytes - 1} bytes and a newline`,
          true,
        );
      } else this.#context.log(`Client ${this.id} disconnected`);
      accept(last);
      return null;
    }
    if (dropped === 0) {
      this.#context.log(`Client ${this.id} disconnected`);
      return null;
    }
    this.#context.log(
      `Client ${this.id} disconnected with an unfinished record (${dropped} bytes dropped)`,
    );
    return formatError(
      "ValueError",
      `Connection ended in the middle of a record: its ${dropped} bytes ` +
        `(header included) were dropped`,
    );
  }
}
