/**
 * {@linkcode Session}: one client connection, from its opening to its goodbye.
 *
 * @module
 */

import {
  ACK_PREFIX,
  BYE,
  encodeMessage,
  formatError,
  FrameReader,
  LineReader,
  NOT_ABSOLUTE,
  OK,
  OpeningReader,
  type ProtocolVersion,
  ROTATED,
  SERVER_EXITED,
  type Unit,
} from "../protocol/mod.ts";
import { describeFsError } from "./_describe_error.ts";
import { logText } from "./_log_text.ts";
import type { FileTable } from "./file_table.ts";
import type { AccessResult } from "./access.ts";
import type { Budget } from "./budget.ts";
import { HIGH_WATER_BYTES, type Owner, type SharedFile } from "./shared_file.ts";

/** Ends a 0.x line cut off at shutdown. */
const NEWLINE = new Uint8Array([10]);

/** Read buffer sizes: small for idle clients, grown for busy ones. */
const MIN_READ = 4 * 1024;
const MAX_READ = 1024 * 1024;

/**
 * Sizes the next read to the traffic: a full read doubles it, a partial one (the
 * socket was drained) shrinks it to fit, so an idle client's pending read is small.
 */
function nextReadSize(size: number, got: number, budget?: Budget): number {
  // Near the budget, reads stay small: every busy client's read buffer is memory too.
  if (budget !== undefined && budget.queued + budget.unfinished > budget.limit / 2) {
    return MIN_READ;
  }
  if (got === size) return Math.min(size * 2, MAX_READ);
  let next = MIN_READ;
  while (next < got * 2 && next < MAX_READ) next *= 2;
  return next;
}

/**
 * What a session needs from its server.
 *
 * @example
 * ```ts
 * import type { SessionContext } from "./session.ts";
 * import { FileTable } from "./file_table.ts";
 * const context: SessionContext = { files: new FileTable(), log: console.log };
 * ```
 */
export interface SessionContext {
  /** The open files. */
  files: FileTable;
  /** Writes one line of the server's log at INFO (or WARNING). */
  log: (message: string, warning?: boolean) => void;
  /**
   * Decides whether a client may have a path opened, and which path to open (see
   * `access.ts`); without it, paths are opened as given.
   */
  access?: (path: string) => Promise<AccessResult>;
  /** The memory bound shared by all clients; none: unbounded. */
  budget?: Budget;
  /**
   * Milliseconds the client has to complete its opening; 0 or unset: no limit.
   * @default {0}
   */
  openingTimeout?: number;
}

/**
 * One client: reads its opening, opens its file, appends its records, and says
 * goodbye once they are written. Refusals go back as `<Name>: <message>` and NUL.
 *
 * @example
 * ```ts ignore
 * import { Session } from "./session.ts";
 * import { FileTable } from "./file_table.ts";
 * const listener = Deno.listen({ transport: "unix", path: "/tmp/example.sock" });
 * const conn = await listener.accept();
 * await new Session(0, conn, { files: new FileTable(), log: console.log }).done;
 * ```
 */
export class Session implements Owner {
  /** The client's number in the server's log. */
  readonly id: number;
  /** Resolves once the connection is finished and closed. */
  readonly done: Promise<void>;
  /** Set once a write of this client's data failed. */
  failed = false;

  #conn: Deno.UnixConn;
  #context: SessionContext;
  #file: SharedFile | null = null;
  #version: ProtocolVersion = "0.x";
  #received = 0;
  #written = 0;
  #whenWritten: (() => void) | null = null;
  #outbox: Promise<void> = Promise.resolve();
  #ackQueued = false;
  #closed = false;
  #stopping = false;
  #aborted = false;
  #timedOut = false;
  /** Bytes of an unfinished record held against the budget. */
  #unfinished = 0;
  /** Bytes of complete records counted against the budget and not yet written. */
  #queued = 0;

  /**
   * Starts serving `conn`.
   *
   * @param id The client's number.
   * @param conn The accepted connection; the session closes it.
   * @param context The server's file table and log.
   */
  constructor(id: number, conn: Deno.UnixConn, context: SessionContext) {
    this.id = id;
    this.#conn = conn;
    this.#context = context;
    this.done = this.#run();
  }

  /**
   * Tells the client that the server exits; it is read to its end (or until
   * {@linkcode Session.abort}), and what it sent is written.
   */
  shutdown(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#file === null) this.#close();
    else this.#send(SERVER_EXITED);
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
    if (this.#version === "offlog/1" || tell0x) this.#send(ROTATED);
  }

  /** Stops reading from the client at once; what was read is still written. */
  abort(): void {
    this.#aborted = true;
    this.#close();
  }

  /** {@inheritDoc Owner.onWritten} */
  onWritten(bytes: number): void {
    this.#written += bytes;
    this.#queued -= bytes;
    this.#context.budget?.releaseQueued(bytes);
    if (this.#version === "offlog/1" && !this.#ackQueued) {
      this.#ackQueued = true;
      this.#outbox = this.#outbox.then(() => {
        this.#ackQueued = false;
        return this.#write(encodeMessage(ACK_PREFIX + this.#written));
      });
    }
    if (this.#written >= this.#received) this.#whenWritten?.();
  }

  /** {@inheritDoc Owner.onWriteError} */
  onWriteError(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const message = describeFsError(error, this.#file?.path ?? "");
    this.#context.log(`Client ${this.id} write failed: ${logText(message)}`, true);
    this.#send(message);
    this.#outbox.then(() => this.#close());
    this.#whenWritten?.();
  }

  async #run(): Promise<void> {
    try {
      const opened = await this.#open();
      if (opened !== null) await this.#serve(opened.rest);
    } catch (error) {
      this.#context.log(`Client ${this.id} failed: ${error}`, true);
    } finally {
      await this.#outbox;
      this.#close();
      this.#context.budget?.releaseUnfinished(this.#unfinished);
      this.#unfinished = 0;
      this.#context.budget?.releaseQueued(this.#queued);
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

  /** Reads the opening and opens the file; `null` when the client was refused. */
  async #open(): Promise<{ rest: Uint8Array } | null> {
    const timeout = this.#context.openingTimeout ?? 0;
    const timer = timeout > 0 ? setTimeout(() => this.#timeOut(timeout), timeout) : 0;
    try {
      return await this.#readOpening();
    } finally {
      clearTimeout(timer);
    }
  }

  /** The opening took too long: refuse and close, which ends the pending read. */
  #timeOut(ms: number): void {
    if (this.#closed) return;
    this.#timedOut = true;
    this.#context.log(
      `Client ${this.id} timed out before completing its opening (${ms} ms)`,
      true,
    );
    this.#send(
      formatError(
        "TimeoutError",
        `Opening not completed within ${ms} ms (--opening-timeout)`,
      ),
    );
    this.#outbox.then(() => this.#close());
  }

  async #readOpening(): Promise<{ rest: Uint8Array } | null> {
    const reader = new OpeningReader();
    for (;;) {
      const chunk = await this.#read(MIN_READ);
      if (this.#timedOut) return null;
      if (chunk === null) {
        this.#context.log(`Client ${this.id} disconnected`);
        return null;
      }
      const result = reader.push(chunk);
      if (result.state === "more") continue;
      if (result.state === "refused") {
        return this.#refuse(formatError(result.name, result.message), "");
      }
      this.#version = result.version;
      let path: string;
      try {
        path = new TextDecoder("utf-8", { fatal: true }).decode(result.path);
      } catch {
        return this.#refuse(formatError("ValueError", "path is not valid UTF-8"), "");
      }
      const named = ` for ${logText(path)}`;
      if (!path.startsWith("/")) {
        return this.#refuse(formatError("ValueError", NOT_ABSOLUTE), named);
      }
      const access = await this.#context.access?.(path) ?? { path };
      if (this.#timedOut) return null;
      if ("refusal" in access) return this.#refuse(access.refusal, named);
      let file: SharedFile;
      try {
        file = await this.#context.files.acquire(access.path, this);
      } catch (error) {
        return this.#refuse(describeFsError(error, path), named);
      }
      this.#file = file;
      if (this.#timedOut || this.failed) return null;
      const real = access.path === path ? "" : ` (real path ${logText(access.path)})`;
      this.#context.log(`Client ${this.id} access confirmed${named}${real}`);
      this.#context.log(`New client ${this.id} (total: ${file.clients})${named}`);
      this.#send(OK);
      return { rest: result.rest };
    }
  }

  #refuse(message: string, where: string): null {
    if (this.#timedOut) return null;
    this.#context.log(
      `Client ${this.id} access denied${where}: ${logText(message)}`,
      true,
    );
    this.#send(message);
    return null;
  }

  async #serve(rest: Uint8Array): Promise<void> {
    const file = this.#file!;
    const frames = this.#version === "offlog/1" ? new FrameReader() : null;
    const lines = frames === null ? new LineReader() : null;
    const budget = this.#context.budget;
    const accept = (unit: Unit | null) => {
      if (unit === null || this.failed) return;
      this.#received += unit.bytes;
      this.#queued += unit.bytes;
      budget?.addQueued(unit.bytes);
      file.enqueue(this, unit);
    };
    let refusal: string | null = null;
    let chunk: Uint8Array | null = rest;
    let size = MIN_READ;
    while (chunk !== null && !this.failed) {
      if (chunk.length > 0) {
        if (frames !== null) {
          for (const unit of frames.push(chunk)) accept(unit);
          if (frames.error !== null) {
            refusal = formatError("ValueError", frames.error);
            break;
          }
        } else {
          accept(lines!.push(chunk));
        }
        if (!this.#holdUnfinished(frames?.heldBytes ?? lines!.heldBytes)) {
          refusal = formatError(
            "MemoryError",
            `Unfinished record refused: the server's memory budget for unfinished ` +
              `records is full (--max-buffered-bytes ${budget!.limit})`,
          );
          break;
        }
        if (file.backlog >= HIGH_WATER_BYTES) await file.belowHighWater();
        if (budget?.full) await budget.room();
      }
      chunk = await this.#read(size);
      if (chunk !== null) size = nextReadSize(size, chunk.length, budget);
    }
    if (this.failed) return;
    if (refusal !== null) {
      // What came before is written; then the client is told and closed.
      this.#context.log(`Client ${this.id} refused: ${refusal}`, true);
    } else if (lines !== null) {
      const last = lines.end();
      if (last !== null && this.#aborted) {
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
    } else {
      const dropped = frames!.heldBytes;
      if (dropped > 0) {
        this.#context.log(
          `Client ${this.id} disconnected with an unfinished record (${dropped} bytes dropped)`,
        );
        refusal = formatError(
          "ValueError",
          `Connection ended in the middle of a record: its ${dropped} bytes ` +
            `(header included) were dropped`,
        );
      } else this.#context.log(`Client ${this.id} disconnected`);
    }
    this.#holdUnfinished(0);
    if (this.#written < this.#received && !this.failed) {
      await new Promise<void>((resolve) => this.#whenWritten = resolve);
    }
    if (this.failed) return;
    if (refusal !== null) this.#send(refusal);
    else if (!this.#stopping) this.#send(BYE);
  }

  /**
   * Holds `bytes` of an unfinished record against the budget.
   *
   * @returns `false` when they do not fit: the client must be refused.
   */
  #holdUnfinished(bytes: number): boolean {
    const budget = this.#context.budget;
    if (budget === undefined || bytes === this.#unfinished) return true;
    if (bytes < this.#unfinished) {
      budget.releaseUnfinished(this.#unfinished - bytes);
      this.#unfinished = bytes;
      return true;
    }
    if (!budget.holdUnfinished(bytes - this.#unfinished)) return false;
    this.#unfinished = bytes;
    return true;
  }

  /** Reads once into a new buffer; `null` at the end or once the session is closed. */
  async #read(size: number): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buffer = new Uint8Array(size);
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (error) {
      if (this.#closed || error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    }
    if (n === null) return null;
    return n < size / 4 ? buffer.slice(0, n) : buffer.subarray(0, n);
  }

  #send(text: string): void {
    const bytes = encodeMessage(text);
    this.#outbox = this.#outbox.then(() => this.#write(bytes));
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch {
      // The client is gone; what it sent is still written.
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }
}
