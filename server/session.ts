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
import type { FileTable } from "./file_table.ts";
import type { AccessResult } from "./access.ts";
import { HIGH_WATER_BYTES, type Owner, type SharedFile } from "./shared_file.ts";

/** Read buffer sizes: small for idle clients, grown for busy ones. */
const MIN_READ = 4 * 1024;
const MAX_READ = 1024 * 1024;

/**
 * Sizes the next read to the traffic: a full read doubles it, a partial one (the
 * socket was drained) shrinks it to fit, so an idle client's pending read is small.
 */
function nextReadSize(size: number, got: number): number {
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
    this.#close();
  }

  /** {@inheritDoc Owner.onWritten} */
  onWritten(bytes: number): void {
    this.#written += bytes;
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
    this.#context.log(`Client ${this.id} write failed: ${message}`, true);
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
      if (this.#file !== null) {
        const file = this.#file;
        try {
          const remaining = await this.#context.files.release(file);
          this.#context.log(
            `Client ${this.id} done (remaining: ${remaining}) with ${file.path}`,
          );
          if (remaining === 0) this.#context.log(`Closed ${file.path}`);
        } catch (error) {
          // `done` never rejects: the server awaits it at shutdown.
          this.#context.log(
            `Client ${this.id}: closing ${file.path} failed: ${error}`,
            true,
          );
        }
      }
    }
  }

  /** Reads the opening and opens the file; `null` when the client was refused. */
  async #open(): Promise<{ rest: Uint8Array } | null> {
    const reader = new OpeningReader();
    for (;;) {
      const chunk = await this.#read(MIN_READ);
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
      if (!path.startsWith("/")) {
        return this.#refuse(formatError("ValueError", NOT_ABSOLUTE), ` for ${path}`);
      }
      const access = await this.#context.access?.(path) ?? { path };
      if ("refusal" in access) return this.#refuse(access.refusal, ` for ${path}`);
      try {
        this.#file = await this.#context.files.acquire(access.path);
      } catch (error) {
        return this.#refuse(describeFsError(error, path), ` for ${path}`);
      }
      const real = access.path === path ? "" : ` (real path ${access.path})`;
      this.#context.log(`Client ${this.id} access confirmed for ${path}${real}`);
      this.#context.log(
        `New client ${this.id} (total: ${this.#file.clients}) for ${path}`,
      );
      this.#send(OK);
      return { rest: result.rest };
    }
  }

  #refuse(message: string, where: string): null {
    this.#context.log(`Client ${this.id} access denied${where}: ${message}`, true);
    this.#send(message);
    return null;
  }

  async #serve(rest: Uint8Array): Promise<void> {
    const file = this.#file!;
    const frames = this.#version === "offlog/1" ? new FrameReader() : null;
    const lines = frames === null ? new LineReader() : null;
    const accept = (unit: Unit | null) => {
      if (unit === null || this.failed) return;
      this.#received += unit.bytes;
      file.enqueue(this, unit);
    };
    let chunk: Uint8Array | null = rest;
    let size = MIN_READ;
    while (chunk !== null && !this.failed) {
      if (chunk.length > 0) {
        if (frames !== null) {
          for (const unit of frames.push(chunk)) accept(unit);
          if (frames.error !== null) break;
        } else {
          accept(lines!.push(chunk));
        }
        if (file.backlog >= HIGH_WATER_BYTES) await file.belowHighWater();
      }
      chunk = await this.#read(size);
      if (chunk !== null) size = nextReadSize(size, chunk.length);
    }
    if (this.failed) return;
    const refusal = frames?.error ?? null;
    if (refusal !== null) {
      // What came before the bad frame is written; then the client is told and closed.
      this.#context.log(`Client ${this.id} refused: ValueError: ${refusal}`, true);
    } else {
      if (lines !== null) accept(lines.end());
      const dropped = frames?.heldBytes ?? 0;
      this.#context.log(
        dropped > 0
          ? `Client ${this.id} disconnected with an unfinished record (${dropped} bytes dropped)`
          : `Client ${this.id} disconnected`,
      );
    }
    if (this.#written < this.#received && !this.failed) {
      await new Promise<void>((resolve) => this.#whenWritten = resolve);
    }
    if (refusal !== null) this.#send(formatError("ValueError", refusal));
    else if (!this.failed && !this.#stopping) this.#send(BYE);
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
