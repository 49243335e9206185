// A ProxyFile's connection to the server as a state machine, and the Outlet its pump
// sends through. One field holds the state; #enter() is the only place it changes.
//
//   connected --lost, reconnect--> reconnecting --handshake--> connected
//   connected --error, lost without reconnect, protocol error--> failed
//   any --close()--> closed
// A failed connection keeps its link until the server closes it, so that the server's
// last messages are still read.

import {
  features,
  type ProtocolVersion,
  SERVER_EXITED,
  type ServerMessage,
  SYNC_FRAME,
  writeFrameHeader,
} from "../protocol/mod.ts";
import { handshake, type Opened } from "./_handshake.ts";
import { Link } from "./_link.ts";
import type { OutBatch, Outlet, Pump } from "./_pump.ts";
import { ResendLog } from "./_resend.ts";
import { OfflogConnectionError, OfflogProtocolError, serverError } from "./errors.ts";

/** Reconnect backoff, ms: the first wait, doubling up to the last. */
export const FIRST_RETRY = 50;
export const LAST_RETRY = 5000;

/** The server's error for a file whose path is gone; a reconnect may open it again. */
const LOST_PATH = "FileNotFoundError";

/** Where a connection stands. */
export type ConnectionState =
  | { kind: "connected"; link: Link }
  | {
    kind: "reconnecting";
    timer: ReturnType<typeof setTimeout> | undefined;
    delay: number;
  }
  | { kind: "failed"; link: Link | null }
  | { kind: "closed" };

/** What a connection is for. */
export interface ConnectionOptions {
  socketPath: string;
  path: string;
  timeout: number;
  reconnect: boolean;
  onRotated: (() => void) | undefined;
  /** Opens a new connection; the handshake, unless a test gives another. */
  connect?: typeof handshake;
}

/** The next wait before reconnecting: doubled, at most {@linkcode LAST_RETRY}. */
export function nextDelay(delay: number): number {
  return Math.min(delay * 2, LAST_RETRY);
}

/** A ProxyFile's connection: sends its pump's batches, reconnects, resends. */
export class Connection implements Outlet {
  #state: ConnectionState;
  #options: ConnectionOptions;
  #version: ProtocolVersion;
  #pump!: Pump;
  #resend = new ResendLog();
  /** The link the current pump run sends on. */
  #runLink: Link | null = null;
  /** Durable flushes waiting for `SYNCED` past their target. */
  #syncs: SyncWaiter[] = [];

  constructor(opened: Opened, options: ConnectionOptions) {
    this.#options = options;
    this.#version = opened.version;
    this.#state = { kind: "connected", link: this.#link(opened, 0) };
  }

  /** Connects the pump whose batches this connection sends. */
  attach(pump: Pump): void {
    this.#pump = pump;
    pump.delivery.useAcknowledgements(features(this.#version).acks);
  }

  get state(): ConnectionState["kind"] {
    return this.#state.kind;
  }

  get version(): ProtocolVersion {
    return this.#version;
  }

  /** Records and bytes waiting to be sent again after a reconnect. */
  get resendRecords(): number {
    return this.#resend.records;
  }

  get resendSize(): number {
    return this.#resend.size;
  }

  /** Half-closes and waits for the server's goodbye, when connected. */
  async finish(): Promise<void> {
    if (this.#state.kind !== "connected" || this.#pump.error !== null) return;
    const link = this.#state.link;
    await link.closeWrite();
    await link.waitBye(this.#options.timeout, () =>
      new Deno.errors.TimedOut(
        `Timed out after ${this.#options.timeout} ms waiting for the offlog server at ` +
          `"${this.#options.socketPath}" to finish "${this.#options.path}"`,
      ));
  }

  /** Closes for good: stops reconnecting, closes the link, waits for its reader. */
  async close(): Promise<void> {
    const link = this.#current();
    this.#enter({ kind: "closed" });
    await link?.done;
  }

  /**
   * Asks the server to sync the file past everything acknowledged so far, and waits
   * for its `SYNCED`. Call once a flush() resolved.
   *
   * @throws {Error} The server speaks 0.x, the connection is down, it was lost before
   * the answer, or no answer came within the timeout.
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
    if (this.#state.kind !== "connected") {
      return Promise.reject(
        new OfflogConnectionError(
          `Cannot flush "${path}" durably: not connected to the offlog server at ` +
            `"${socketPath}"`,
          { socketPath, unsentBytes: this.#pump.pendingSize },
        ),
      );
    }
    const link = this.#state.link;
    const target = this.#pump.delivery.acked;
    return new Promise<void>((resolve, reject) => {
      const waiter: SyncWaiter = {
        target,
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
      const frame = new Uint8Array(features(link.version).headerBytes);
      new DataView(frame.buffer).setUint32(0, SYNC_FRAME);
      this.#pump.sendControl(frame);
    });
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

  // The pump's outlet.

  async sendControl(bytes: Uint8Array): Promise<void> {
    await this.#runLink!.send(bytes);
  }

  begin(): void {
    this.#runLink = this.#state.kind === "connected" ? this.#state.link : null;
  }

  headerBytes(): number | null {
    const link = this.#runLink;
    if (link === null || link.exiting) return null;
    if (this.#state.kind !== "connected" || this.#state.link !== link) return null;
    return features(link.version).headerBytes;
  }

  resend(headerBytes: number): OutBatch | null {
    return this.#resend.next(headerBytes);
  }

  taken(batch: OutBatch, headerBytes: number): void {
    if (this.keepsFailed(headerBytes)) {
      this.#resend.keep(batch.end, batch.bytes.slice(headerBytes), batch.records);
    }
  }

  async send(batch: OutBatch, headerBytes: number): Promise<void> {
    if (headerBytes > 0) writeFrameHeader(batch.bytes);
    await this.#runLink!.send(batch.bytes);
  }

  keepsFailed(headerBytes: number): boolean {
    return this.#options.reconnect && headerBytes > 0;
  }

  async sendFailed(cause: unknown): Promise<void> {
    const link = this.#runLink!;
    // The server closes after saying why; the reader reports the reason first.
    await link.done;
    this.#lose(link, cause);
  }

  async stopped(): Promise<void> {
    const link = this.#runLink;
    this.#runLink = null;
    if (link !== null && link.exiting && this.#current() === link) {
      await link.closeWrite();
    }
  }

  hold(): void {
    this.#current()?.hold();
  }

  release(): void {
    this.#current()?.release();
  }

  // Transitions.

  #enter(next: ConnectionState): void {
    const previous = this.#state;
    if (previous.kind === "closed") return;
    if (previous.kind === "connected" && this.#syncs.length > 0) {
      // The answer can only come on the link that asked.
      this.#pump.dropControls();
      this.#settleSyncs(
        null,
        new OfflogConnectionError(
          `Lost the connection to the offlog server at "${this.#options.socketPath}" ` +
            `before it synced "${this.#options.path}"`,
          { socketPath: this.#options.socketPath, unsentBytes: this.#pump.pendingSize },
        ),
      );
    }
    if (previous.kind === "reconnecting") clearTimeout(previous.timer);
    const link = linkOf(previous);
    if (link !== null && link !== linkOf(next)) link.close();
    this.#state = next;
  }

  /** The link the state holds: connected, or failed and still being read. */
  #current(): Link | null {
    return linkOf(this.#state);
  }

  #link(opened: Opened, base: number): Link {
    return new Link(opened, base, {
      onMessage: (link, message) => this.#onMessage(link, message),
      onEnd: (link, cause) => {
        if (!link.gotBye) this.#lose(link, cause);
      },
    });
  }

  #onMessage(link: Link, message: ServerMessage): void {
    if (message.type === "ack") {
      const total = link.base + message.bytes;
      if (this.#pump.delivery.recordAcked(total)) this.#resend.acked(total);
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
      if (!retry) this.#fail(serverError(message.name, message.message));
      link.stopSending();
      if (!this.#pump.running) void link.closeWrite();
    }
  }

  /** The connection is gone: reconnect, or fail. */
  #lose(link: Link, cause: unknown): void {
    if (this.#current() !== link) return;
    if (this.#pump.error === null) {
      if (cause instanceof OfflogProtocolError) this.#pump.fail(cause);
      else if (this.#options.reconnect) return this.#scheduleReconnect(FIRST_RETRY);
      else this.#pump.fail(this.#lostError(cause));
    }
    this.#enter({ kind: "failed", link: null });
  }

  #lostError(cause: unknown): OfflogConnectionError {
    const delivery = this.#pump.delivery;
    const unsent = this.#pump.queuedSize + (delivery.sent - delivery.acked);
    return new OfflogConnectionError(
      `Lost the connection to the offlog server at "${this.#options.socketPath}" ` +
        `for "${this.#options.path}": ${unsent} bytes not confirmed written`,
      { socketPath: this.#options.socketPath, unsentBytes: unsent, cause },
    );
  }

  #fail(error: Error): void {
    this.#pump.fail(error);
    this.#enter({ kind: "failed", link: this.#current() });
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
      else this.#fail(error as Error);
      return;
    }
    if (this.#state.kind !== "reconnecting") {
      opened.conn.close();
      return;
    }
    this.#version = opened.version;
    this.#pump.delivery.useAcknowledgements(features(opened.version).acks);
    this.#resend.restart();
    const link = this.#link(opened, this.#pump.delivery.acked);
    this.#enter({ kind: "connected", link });
    if (this.#pump.delivery.waiting) link.hold();
    await this.#pump.idle;
    this.#pump.start();
  }
}

interface SyncWaiter {
  target: number;
  timer: ReturnType<typeof setTimeout>;
  resolve: () => void;
  reject: (error: Error) => void;
  link: Link;
}

function linkOf(state: ConnectionState): Link | null {
  return state.kind === "connected" || state.kind === "failed" ? state.link : null;
}
