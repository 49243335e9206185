// One connection of a ProxyFile to the server: sends frames, reads the server's
// messages and reports them. A socket transport that reconnects has one Link per
// connection.

import { writeAll } from "../../common/write_all.ts";
import {
  MessageTooLongError,
  type ProtocolVersion,
  type ServerMessage,
} from "../../protocol/mod.ts";
import { type Opened, tooLong } from "./handshake.ts";
import { OfflogProtocolError } from "../errors.ts";

/** What a link reports to its transport. */
export interface LinkEvents {
  onMessage(link: Link, message: ServerMessage): void;
  /**
   * The connection ended (EOF, or a read failed), after every message was reported.
   * The cause is an {@linkcode OfflogProtocolError} when the server broke the protocol.
   */
  onEnd(link: Link, cause: unknown): void;
}

/** One connection on which the server answered `OK`. */
export class Link {
  readonly conn: Deno.UnixConn;
  readonly version: ProtocolVersion;
  /** The file's payload offset at which this connection's `ACK` count starts. */
  readonly base: number;
  /** Resolves once the reader has stopped. */
  readonly done: Promise<void>;
  #gotBye = false;
  #exiting = false;
  #closed = false;
  /** Payload bytes given to send(): no ACK on this connection may count more. */
  #payloadSent = 0;
  #refs = 0;
  #opened: Opened;
  #onBye: (() => void) | null = null;

  constructor(opened: Opened, base: number, events: LinkEvents) {
    this.conn = opened.conn;
    this.#opened = opened;
    this.version = opened.version;
    this.base = base;
    this.conn.unref();
    this.done = this.#read(opened, events);
  }

  /** Whether the server said goodbye (`BYE`) on this link. */
  get gotBye(): boolean {
    return this.#gotBye;
  }

  /** Whether nothing more is to be sent on this link (the server ends it). */
  get exiting(): boolean {
    return this.#exiting;
  }

  /** The server said it exits, or refused: send nothing more on this link. */
  stopSending(): void {
    this.#exiting = true;
  }

  /** Writes all of `bytes`: frames (offlog/1) or a run of 0.x records. */
  send(bytes: Uint8Array, payload: number): Promise<void> {
    // Counted before writing: the server may acknowledge before the write returns.
    this.#payloadSent += payload;
    return writeAll(this.conn, bytes);
  }

  /** Half-closes: the server reads to the end, writes, and says `BYE`. */
  async closeWrite(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch {
      // gone already; the reader reports the end
    }
  }

  /** Waits for `BYE` or the end of the connection, at most `timeout` ms. */
  waitBye(timeout: number, timedOut: () => Error): Promise<void> {
    if (this.#gotBye || this.#closed) return Promise.resolve();
    this.hold();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onBye = null;
        this.release();
        reject(timedOut());
      }, timeout);
      this.#onBye = () => {
        clearTimeout(timer);
        this.#onBye = null;
        this.release();
        resolve();
      };
    });
  }

  /** Keeps the process alive while something waits on the server. */
  hold(): void {
    if (this.#refs++ === 0 && !this.#closed) this.conn.ref();
  }

  /** Undoes {@linkcode Link.hold}. */
  release(): void {
    if (--this.#refs === 0 && !this.#closed) this.conn.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // An unref'd read cancelled by close() may never settle: ref it first.
      this.conn.ref();
      this.conn.close();
    } catch {
      // closed already
    }
  }

  async #read(opened: Opened, events: LinkEvents): Promise<void> {
    const buffer = new Uint8Array(1024);
    let cause: unknown;
    await null; // report nothing before the constructor has returned
    try {
      for (const message of opened.messages) this.#dispatch(message, events);
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        for (const message of opened.decoder.push(buffer.subarray(0, n))) {
          this.#dispatch(message, events);
        }
      }
    } catch (error) {
      cause = error instanceof MessageTooLongError
        ? tooLong(opened.socketPath, opened.path, error)
        : error;
    }
    this.#onBye?.();
    events.onEnd(this, cause);
  }

  #dispatch(message: ServerMessage, events: LinkEvents): void {
    if (message.type === "ack" && message.bytes > this.#payloadSent) {
      throw new OfflogProtocolError(
        `Protocol error from the offlog server at "${this.#opened.socketPath}" for ` +
          `"${this.#opened.path}": "ACK ${message.bytes}" acknowledges more than the ` +
          `${this.#payloadSent} bytes sent on this connection`,
        { socketPath: this.#opened.socketPath },
      );
    }
    if (message.type === "bye") {
      this.#gotBye = true;
      this.#onBye?.();
    }
    events.onMessage(this, message);
  }
}
