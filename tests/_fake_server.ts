// Servers that are not ours, for testing the client against them: a 0.x-style server that
// speaks only what the Python offlog server does, and a fake server that breaks the
// protocol.

import { writeAll } from "./_raw.ts";
import { concat } from "../protocol/mod.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------
// Our client against a 0.x-style server

export interface ZeroXOptions {
  /** Refuse absolute paths too, with this message (e.g. a PermissionError). */
  refuse?: string;
  /** Messages to send right after OK. */
  afterOk?: string[];
  /** After the first data arrives, send `OSError: offlog server exited` and close. */
  exitOnData?: boolean;
  /** Wait this long after EOF before BYE. */
  byeDelayMs?: number;
  /** Never send BYE; keep the connection until the server is closed. */
  noBye?: boolean;
}

export interface ZeroXServer extends AsyncDisposable {
  /** Each opening token read, in order. */
  openings: string[];
  /** performance.now() when each BYE was sent. */
  byes: number[];
}

/**
 * A 0.x-style server, as ../shared/offlog-0x-wire.md describes the Python one: reads
 * the path up to NUL, refuses a relative one with `ValueError: not an absolute path`
 * and closes; opens an absolute one for appending and says OK; appends whatever each
 * read returns; after EOF says BYE and closes.
 */
export function zeroXServer(socketPath: string, options: ZeroXOptions = {}): ZeroXServer {
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const openings: string[] = [];
  const byes: number[] = [];
  const conns = new Set<Deno.UnixConn>();
  const stopped = Promise.withResolvers<void>();
  const send = (conn: Deno.UnixConn, text: string) =>
    writeAll(conn, encoder.encode(`${text}\0`));
  const session = async (conn: Deno.UnixConn) => {
    const buffer = new Uint8Array(65536);
    let held: Uint8Array = new Uint8Array(0);
    let file: Deno.FsFile | null = null;
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        let data: Uint8Array = buffer.slice(0, n);
        if (file === null) {
          held = concat([held, data]);
          const nul = held.indexOf(0);
          if (nul === -1) continue;
          const path = new TextDecoder().decode(held.subarray(0, nul));
          openings.push(path);
          if (!path.startsWith("/")) {
            return await send(conn, "ValueError: not an absolute path");
          }
          if (options.refuse !== undefined) return await send(conn, options.refuse);
          file = await Deno.open(path, { append: true, create: true });
          await send(conn, "OK");
          for (const message of options.afterOk ?? []) await send(conn, message);
          data = held.subarray(nul + 1);
        }
        if (data.length === 0) continue;
        for (let offset = 0; offset < data.length;) {
          offset += await file.write(data.subarray(offset));
        }
        if (options.exitOnData) return await send(conn, "OSError: offlog server exited");
      }
      if (file === null) return;
      if (options.noBye) return await stopped.promise;
      if (options.byeDelayMs) await delay(options.byeDelayMs);
      await send(conn, "BYE");
      byes.push(performance.now());
    } catch {
      // the client went away
    } finally {
      file?.close();
      conn.close();
      conns.delete(conn);
    }
  };
  const serving = (async () => {
    const sessions: Promise<void>[] = [];
    try {
      for await (const conn of listener) {
        conns.add(conn);
        sessions.push(session(conn));
      }
    } catch {
      // the listener was closed
    }
    await Promise.all(sessions);
  })();
  return {
    openings,
    byes,
    async [Symbol.asyncDispose]() {
      stopped.resolve();
      listener.close();
      await serving;
    },
  };
}

// ---------------------------------------------------------------------------------
// Our client against an offlog/1 server (offlog for Deno before offlog/2)

export interface V1Server extends AsyncDisposable {
  /** Each opening token read, in order. */
  openings: string[];
  /** Frames written, and refusals sent. */
  frames: number;
  refusals: string[];
}

/**
 * An offlog/1 server as PROTOCOL.md described it before offlog/2: a hello it does not
 * know is a relative path (`ValueError: not an absolute path`); after `OK`, each frame
 * is appended and acknowledged (`ACK n`); a frame header over 16 MiB (a record-ends
 * frame, to it) is refused with `ValueError` and the connection closed; at EOF, `BYE`.
 */
export function v1Server(socketPath: string): V1Server {
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const openings: string[] = [];
  const refusals: string[] = [];
  const server: V1Server = {
    openings,
    frames: 0,
    refusals,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
  const send = (conn: Deno.UnixConn, text: string) =>
    writeAll(conn, encoder.encode(`${text}\0`));
  const session = async (conn: Deno.UnixConn) => {
    let held: Uint8Array = new Uint8Array(0);
    let file: Deno.FsFile | null = null;
    let acked = 0;
    let hello = false;
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        held = concat([held, buffer.slice(0, n)]);
        while (file === null) {
          const nul = held.indexOf(0);
          if (nul === -1) break;
          const token = new TextDecoder().decode(held.subarray(0, nul));
          openings.push(token);
          held = held.subarray(nul + 1);
          if (!hello && token === "offlog/1") {
            hello = true;
            continue;
          }
          if (!token.startsWith("/") || !hello) {
            return await send(conn, "ValueError: not an absolute path");
          }
          file = await Deno.open(token, { append: true, create: true });
          await send(conn, "OK");
        }
        while (file !== null && held.length >= 4) {
          const length = new DataView(held.buffer, held.byteOffset).getUint32(0);
          if (length > 16 * MiB) {
            const refusal = `ValueError: record of ${length} bytes is larger than the ` +
              `maximum of ${16 * MiB} bytes`;
            refusals.push(refusal);
            return await send(conn, refusal);
          }
          if (held.length < 4 + length) break;
          const payload = held.subarray(4, 4 + length);
          for (let at = 0; at < payload.length;) {
            at += await file.write(payload.subarray(at));
          }
          held = held.subarray(4 + length);
          server.frames++;
          acked += length;
          await send(conn, `ACK ${acked}`);
        }
      }
      if (file !== null) await send(conn, "BYE");
    } catch {
      // the client went away
    } finally {
      file?.close();
      conn.close();
    }
  };
  const serving = (async () => {
    const sessions: Promise<void>[] = [];
    try {
      for await (const conn of listener) sessions.push(session(conn));
    } catch {
      // the listener was closed
    }
    await Promise.all(sessions);
  })();
  return server;
}

// ---------------------------------------------------------------------------------
// A fake server that breaks the protocol

export interface FakeServer extends AsyncDisposable {
  socketPath: string;
  /** Connections accepted so far. */
  accepted(): number;
}

/** Listens on a socket in a new directory and runs `serve` for each connection. */
export async function fakeServer(
  serve: (conn: Deno.UnixConn) => Promise<void>,
): Promise<FakeServer> {
  const dir = await Deno.makeTempDir({ prefix: "offlog_fake_" });
  const socketPath = `${dir}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const sessions = new Set<Promise<void>>();
  let accepted = 0;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        const session = serve(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // closed already
          }
        });
        sessions.add(session);
      }
    } catch {
      // the listener was closed
    }
  })();
  return {
    socketPath,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop;
      await Promise.all(sessions);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Reads the offlog/1 opening: `offlog/1\0<path>\0`. */
export async function readOpening(conn: Deno.UnixConn): Promise<void> {
  const buffer = new Uint8Array(8192);
  let nuls = 0;
  while (nuls < 2) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("client closed during its opening");
    for (const byte of buffer.subarray(0, n)) if (byte === 0) nuls++;
  }
}

/** Reads until `total` bytes in all arrived after the opening. */
export async function readBytes(conn: Deno.UnixConn, total: number): Promise<void> {
  const buffer = new Uint8Array(8192);
  for (let got = 0; got < total;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("client closed");
    got += n;
  }
}

/** Sends up to `total` bytes without a NUL, until the client hangs up; returns the count. */
export async function sendGarbage(conn: Deno.UnixConn, total: number): Promise<number> {
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  let sent = 0;
  try {
    while (sent < total) sent += await conn.write(chunk);
  } catch {
    // the client closed the connection
  }
  return sent;
}

/** Rounds bytes to MB for messages. */
export function mb(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MB`;
}
