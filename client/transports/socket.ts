// The transport of a ProxyFile: its connection to the offlog server, as a state
// machine held in one field and changed only in #enter().
//
//   connected --lost, reconnect--> reconnecting --handshake, resend--> connected
//   connected --server error, lost without reconnect, protocol error--> failed
//   any --close()--> closed
//
// Everything about the wire stays in here: the handshake, frame headers (written into
// the room the writer leaves in front of each batch), the resend log, reconnecting with
// backoff, and sync requests, which go out between batches on the same chain of writes.
// A failed connection keeps its link until the server closes it, so that the server's
// last messages are still read.

import {
  encodeRecordEnds,
  features,
  type ProtocolVersion,
  SERVER_EXITED,
  type ServerMessage,
  SYNC_FRAME,
  writeFrameHeader,
} from "../../protocol/mod.ts";
import { OfflogConnectionError, OfflogProtocolError, serverError } from "../errors.ts";
import { HEADER_ROOM, type Taken } from "../writer/queue.ts";
import type { Transport, TransportEvents } from "../writer/transport.ts";
import { handshake, type Opened } from "./handshake.ts";
import { Link } from "./link.ts";
import { ResendLog } from "./resend.ts";

/** Reconnect backoff, ms: the first wait, doubling up to the last. */
export const FIRST_RETRY = 50;
export const LAST_RETRY = 5000;

/** Payload bytes per frame at most: large writes, few syscalls. */
export const SOCKET_BATCH_BYTES = 1024 * 1024;

/** The server's error for a file whose path is gone; a reconnect may open it again. */
const LOST_PATH = "FileNotFoundError";

/** The next wait before reconnecting: doubled, at most {@linkcode LAST_RETRY}. */
export function nextDelay(delay: number): number {
  return Math.min(delay * 2, LAST_RETRY);
}

/** Where a connection stands. */
export type SocketState =
  | { kind: "connected"; link: Link }
  | {
    kind: "reconnecting";
    timer: ReturnType<typeof setTimeout> | undefined;
    delay: number;
  }
  | { kind: "failed"; link: Link | null; error: Error }
  | { kind: "closed" };

/** What a socket transport is for. */
export interface SocketOptions {
  socketPath: string;
  /** The file's absolute path. */
  path: string;
  timeout: number;
  reconnect: boolean;
  onRotated?: (() => void) | undefined;
  /** Opens a new connection; the handshake, unless a test gives another. */
  connect?: typeof handshake;
}

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface SyncWaiter extends Waiting {
  /** The payload position the server must have synced. */
  target: number;
  timer: ReturnType<typeof setTimeout>;
  link: Link;
}

/** A ProxyFile's connection to the server: see the header comment. */
export class SocketTransport implements Transport {
  readonly batchBytes: number = SOCKET_BATCH_BYTES;
  #state: SocketState;
  readonly #options: SocketOptions;
  readonly #events: TransportEvents;
  #version: ProtocolVersion;
  /** Frames kept until acknowledged, with `reconnect`. */
  readonly #resend: ResendLog | null;
  /** Payload bytes given to send(), and confirmed, across connections. */
  #sent = 0;
  #acked = 0;
  /** The last write on the link: every write waits for the one before. */
  #writes: Promise<void> = Promise.resolve();
  #syncs: SyncWaiter[] = [];
  /** Sends waiting for the next connection. */
  #waiting: Waiting[] = [];

  constructor(opened: Opened, options: SocketOptions, events: TransportEvents) {
    this.#options = options;
    this.#events = events;
    this.#version = opened.version;
    this.#resend = options.reconnect ? new ResendLog() : null;
    this.#state = { kind: "connected", link: this.#link(opened, 0) };
  }

  /** The protocol of the current connection. */
  get version(): ProtocolVersion {
    return this.#version;
  }

  /** Where the connection stands. */
  get state(): SocketState["kind"] {
    return this.#state.kind;
  }

  async send(taken: Taken): Promise<void> {
    const batch = taken.bytes;
    const payload = batch.length - HEADER_ROOM;
    if (payload === 0) return; // empty records: nothing to send
    const end = this.#sent += payload;
    // offlog/2: where the records end, so that the server can cut between two.
    const ends = features(this.#version).recordEnds
      ? encodeRecordEnds(taken.ends, taken.start, taken.records)
      : null;
    if (this.#resend !== null && features(this.#version).acks) {
      this.#resend.keep(end, batch.slice(HEADER_ROOM), ends);
    }
    const state = this.#state;
    if (state.kind === "connected" && !state.link.exiting) {
      const link = state.link;
      try {
        await this.#write(link, batch, payload, ends);
        // 0.x acknowledges nothing: in the socket is as far as it can be confirmed.
        if (!features(link.version).acks) this.#confirm(end);
        return;
      } catch (cause) {
        // The server closes after saying why; the reader reports the reason first.
        await link.done;
        this.#lose(link, cause);
      }
    }
    // Kept in the resend log: sent again, first thing, on the next connection.
    return this.#nextConnection();
  }

  /**
   * Asks the server to sync the file past everything acknowledged so far, and waits
   * for its `SYNCED`. The writer calls it once a flush() resolved.
   */
  sync(): Promise<void> {
    const { socketPath, path, timeout } = this.#options;
    if (!features(this.#version).acks) {
      return Promise.reject(
        new Error(
          `Cannot flush "${path}" durably: the offlog server at "${socketPath}" ` +
            `speaks the 0.x protocol, which has no sync request`,
        ),
      );
    }
    const state = this.#state;
    if (state.kind !== "connected") {
      return Promise.reject(
        new OfflogConnectionError(
          `Cannot flush "${path}" durably: not connected to the offlog server at ` +
            `"${socketPath}"`,
          { socketPath, unsentBytes: this.#sent - this.#acked },
        ),
      );
    }
    const link = state.link;
    return new Promise<void>((resolve, reject) => {
      const waiter: SyncWaiter = {
        target: this.#acked,
        timer: setTimeout(() => {
          this.#settleSyncs(
            waiter,
            new Deno.errors.TimedOut(
              `Timed out after ${timeout} ms waiting for the offlog server at ` +
                `"${socketPath}" to sync "${path}"`,
            ),
          );
        }, timeout),
        resolve,
        reject,
        link,
      };
      this.#syncs.push(waiter);
      link.hold();
      const frame = new Uint8Array(HEADER_ROOM);
      new DataView(frame.buffer).setUint32(0, SYNC_FRAME);
      // A failed write loses the link, which rejects the waiter.
      this.#write(link, frame, 0).catch(() => {});
    });
  }

  /**
   * Ends the connection: when `clean` and connected, half-closes and waits for the
   * server's goodbye (which comes once it wrote everything); then closes for good,
   * stops reconnecting and waits for the link's reader.
   */
  async close(clean: boolean): Promise<void> {
    const state = this.#state;
    try {
      if (clean && state.kind === "connected") {
        const { socketPath, path, timeout } = this.#options;
        await this.#writes;
        await state.link.closeWrite();
        await state.link.waitBye(timeout, () =>
          new Deno.errors.TimedOut(
            `Timed out after ${timeout} ms waiting for the offlog server at ` +
              `"${socketPath}" to finish "${path}"`,
          ));
      }
    } finally {
      const link = linkOf(this.#state);
      this.#enter({ kind: "closed" });
      await link?.done;
    }
  }

  /**
   * Writes `bytes` on `link` after the writes before it, with its frame header, and
   * its record-ends frame `ends` before it where the link's protocol has them.
   */
  #write(
    link: Link,
    bytes: Uint8Array,
    payload: number,
    ends: Uint8Array | null = null,
  ): Promise<void> {
    let out = bytes;
    const { frames, recordEnds } = features(link.version);
    if (!frames) out = bytes.subarray(HEADER_ROOM);
    else if (payload > 0) writeFrameHeader(bytes);
    const written = ends !== null && recordEnds
      ? this.#writes.then(() => link.send(ends, 0)).then(() => link.send(out, payload))
      : this.#writes.then(() => link.send(out, payload));
    this.#writes = written.catch(() => {});
    return written;
  }

  /** Waits for a connection that has sent everything kept; rejects if none comes. */
  #nextConnection(): Promise<void> {
    const state = this.#state;
    if (state.kind === "failed") return Promise.reject(state.error);
    if (state.kind === "closed") {
      return Promise.reject(
        new Deno.errors.BadResource(`Cannot write to "${this.#options.path}": closed`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
  }

  #confirm(total: number): void {
    if (total <= this.#acked) return;
    const more = total - this.#acked;
    this.#acked = total;
    this.#resend?.acked(total);
    this.#events.confirmed(more);
  }

  // Transitions.

  #enter(next: SocketState): void {
    const previous = this.#state;
    if (previous.kind === "closed") return;
    if (previous.kind === "connected" && this.#syncs.length > 0) {
      // The answer can only come on the link that asked.
      this.#settleSyncs(
        null,
        new OfflogConnectionError(
          `Lost the connection to the offlog server at "${this.#options.socketPath}" ` +
            `before it synced "${this.#options.path}"`,
          { socketPath: this.#options.socketPath, unsentBytes: this.#sent - this.#acked },
        ),
      );
    }
    if (previous.kind === "reconnecting") clearTimeout(previous.timer);
    const link = linkOf(previous);
    if (link !== null && link !== linkOf(next)) link.close();
    this.#state = next;
    if (next.kind === "failed" || next.kind === "closed") {
      const error = next.kind === "failed"
        ? next.error
        : new Deno.errors.BadResource(`Cannot write to "${this.#options.path}": closed`);
      for (const waiting of this.#waiting.splice(0)) waiting.reject(error);
    }
  }

  #link(opened: Opened, base: number): Link {
    return new Link(opened, base, {
      onMessage: (link, message) => this.#onMessage(link, message),
      onEnd: (link, cause) => {
        // A link the server ended after saying it exits is lost even after its BYE.
        if (!link.gotBye || link.exiting) this.#lose(link, cause);
      },
    });
  }

  #onMessage(link: Link, message: ServerMessage): void {
    if (message.type === "ack") {
      this.#confirm(link.base + message.bytes);
    } else if (message.type === "synced") {
      this.#settleSyncs(null, undefined, link.base + message.bytes);
    } else if (message.type === "rotated") {
      this.#options.onRotated?.();
    } else if (message.type === "error") {
      const text = `${message.name}: ${message.message}`;
      const retry = this.#options.reconnect &&
        (text === SERVER_EXITED || message.name === LOST_PATH);
      // Retry: the server writes what it read, acknowledges it and closes; a lost
      // path is opened again by the reconnect. Otherwise the file fails for good.
      if (!retry) this.#fail(serverError(message.name, message.message), link);
      link.stopSending();
      void this.#writes.then(() => link.closeWrite());
    }
  }

  /** The connection is gone: reconnect, or fail. */
  #lose(link: Link, cause: unknown): void {
    if (linkOf(this.#state) !== link || this.#state.kind !== "connected") return;
    if (!(cause instanceof OfflogProtocolError) && this.#options.reconnect) {
      return this.#scheduleReconnect(FIRST_RETRY);
    }
    const error = cause instanceof OfflogProtocolError ? cause : this.#lostError(cause);
    this.#fail(error, null);
  }

  #lostError(cause: unknown): OfflogConnectionError {
    const unsent = this.#sent - this.#acked;
    return new OfflogConnectionError(
      `Lost the connection to the offlog server at "${this.#options.socketPath}" ` +
        `for "${this.#options.path}": ${unsent} bytes not confirmed written`,
      { socketPath: this.#options.socketPath, unsentBytes: unsent, cause },
    );
  }

  #fail(error: Error, link: Link | null): void {
    this.#enter({ kind: "failed", link, error });
    this.#events.lost(error);
  }

  #scheduleReconnect(delay: number): void {
    const timer = setTimeout(() => void this.#reconnect(delay), delay);
    Deno.unrefTimer(timer);
    this.#enter({ kind: "reconnecting", timer, delay });
  }

  async #reconnect(delay: number): Promise<void> {
    if (this.#state.kind !== "reconnecting") return;
    const { socketPath, path, timeout } = this.#options;
    let opened: Opened;
    try {
      opened = await (this.#options.connect ?? handshake)(socketPath, path, timeout);
    } catch (error) {
      if (this.#state.kind !== "reconnecting") return;
      const retry = error instanceof OfflogConnectionError ||
        error instanceof Deno.errors.TimedOut ||
        error instanceof Deno.errors.NotFound; // the path's directory may come back
      if (retry) this.#scheduleReconnect(nextDelay(delay));
      else this.#fail(error as Error, null);
      return;
    }
    if (this.#state.kind !== "reconnecting") {
      opened.conn.close();
      return;
    }
    this.#version = opened.version;
    // ACK counts start again at 0 on a new connection, from what was acknowledged.
    const link = this.#link(opened, this.#acked);
    this.#enter({ kind: "connected", link });
    const kept = features(opened.version).acks ? this.#resend?.frames ?? [] : [];
    for (const frame of kept) {
      const bytes = new Uint8Array(HEADER_ROOM + frame.payload.length);
      bytes.set(frame.payload, HEADER_ROOM);
      this.#write(link, bytes, frame.payload.length, frame.ends).catch(() => {});
    }
    // Sends wait until everything kept is back in the socket; a failure there loses
    // the link again, and they wait for the next one.
    try {
      await this.#writes;
    } finally {
      if (linkOf(this.#state) === link && !link.exiting) {
        for (const waiting of this.#waiting.splice(0)) waiting.resolve();
      }
    }
  }

  /** Settles `only` (with `error`), or every waiter the total `synced` reaches. */
  #settleSyncs(only: SyncWaiter | null, error?: Error, synced = -1): void {
    this.#syncs = this.#syncs.filter((waiter) => {
      const settle = only === null
        ? error !== undefined || waiter.target <= synced
        : waiter === only;
      if (!settle) return true;
      clearTimeout(waiter.timer);
      waiter.link.release();
      if (error !== undefined) waiter.reject(error);
      else waiter.resolve();
      return false;
    });
  }
}

function linkOf(state: SocketState): Link | null {
  return state.kind === "connected" || state.kind === "failed" ? state.link : null;
}
