// Opening a connection: offlog/2 first, then offlog/1 and the 0.x opening if the
// server is older.

import {
  encodeOpening,
  MAX_MESSAGE_BYTES,
  MessageDecoder,
  MessageTooLongError,
  NOT_ABSOLUTE,
  type ProtocolVersion,
  type ServerMessage,
} from "../../protocol/mod.ts";
import { OfflogConnectionError, OfflogProtocolError, serverError } from "../errors.ts";

/** A connection on which the server answered `OK`. */
export interface Opened {
  conn: Deno.UnixConn;
  socketPath: string;
  /** The file's absolute path. */
  path: string;
  version: ProtocolVersion;
  decoder: MessageDecoder;
  /** Messages that arrived in the same read as `OK`. */
  messages: ServerMessage[];
}

interface Refusal {
  name: string;
  message: string;
}

/** The versions tried after offlog/2, newest first. */
const OLDER_VERSIONS: readonly ProtocolVersion[] = ["offlog/1", "0.x"];

/** A server's answer to a hello it does not know: it took the hello for a path. */
function isOlderServer(refusal: Refusal): boolean {
  return refusal.name === "ValueError" && refusal.message === NOT_ABSOLUTE;
}

/**
 * Connects and asks the server to open `path`, falling back to offlog/1, then to the
 * 0.x opening, while the server refuses the hello as an older server does.
 */
export async function handshake(
  socketPath: string,
  path: string,
  timeout: number,
): Promise<Opened> {
  const deadline = Date.now() + timeout;
  let result = await attempt(socketPath, path, "offlog/2", deadline, timeout);
  // An older server takes a hello it does not know for a relative path.
  for (const older of OLDER_VERSIONS) {
    if (!("name" in result) || !isOlderServer(result)) break;
    result = await attempt(socketPath, path, older, deadline, timeout);
  }
  if ("name" in result) throw serverError(result.name, result.message);
  return result;
}

async function attempt(
  socketPath: string,
  path: string,
  version: ProtocolVersion,
  deadline: number,
  timeout: number,
): Promise<Opened | Refusal> {
  const timedOut = () =>
    new Deno.errors.TimedOut(
      `Timed out after ${timeout} ms waiting for the offlog server at "${socketPath}" ` +
        `to open "${path}"`,
    );
  let conn: Deno.UnixConn;
  try {
    conn = await beforeDeadline(
      Deno.connect({ transport: "unix", path: socketPath }),
      deadline,
      timedOut,
      (late) => late.close(),
    );
  } catch (cause) {
    if (cause instanceof Deno.errors.TimedOut) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new OfflogConnectionError(
      `Cannot connect to the offlog server at "${socketPath}" to open "${path}": ${reason}`,
      { socketPath, cause },
    );
  }
  const decoder = new MessageDecoder();
  const buffer = new Uint8Array(1024);
  try {
    await conn.write(encodeOpening(path, version)).catch((cause) => {
      // A server that refuses at once (too many clients) closes before reading the
      // opening: its refusal is still there to read.
      if (!(cause instanceof Deno.errors.BrokenPipe)) throw cause;
    });
    for (;;) {
      const n = await beforeDeadline(conn.read(buffer), deadline, timedOut, () => {});
      if (n === null) break;
      const [first, ...messages] = decoder.push(buffer.subarray(0, n));
      if (first === undefined) continue;
      if (first.type === "ok") {
        return { conn, socketPath, path, version, decoder, messages };
      }
      conn.close();
      if (first.type === "error") return { name: first.name, message: first.message };
      return { name: "ValueError", message: `unexpected answer "${first.type}"` };
    }
  } catch (cause) {
    try {
      conn.close();
    } catch {
      // closed already
    }
    if (cause instanceof Deno.errors.TimedOut) throw cause;
    if (cause instanceof MessageTooLongError) throw tooLong(socketPath, path, cause);
    throw new OfflogConnectionError(
      `The offlog server at "${socketPath}" failed while opening "${path}": ${cause}`,
      { socketPath, cause },
    );
  }
  conn.close();
  throw new OfflogConnectionError(
    `The offlog server at "${socketPath}" closed the connection before opening "${path}"`,
    { socketPath },
  );
}

/** The error for a server message longer than MAX_MESSAGE_BYTES. */
export function tooLong(
  socketPath: string,
  path: string,
  cause: MessageTooLongError,
): OfflogProtocolError {
  return new OfflogProtocolError(
    `Protocol error from the offlog server at "${socketPath}" for "${path}": a message ` +
      `ran past the maximum of ${MAX_MESSAGE_BYTES} bytes without its NUL`,
    { socketPath, cause },
  );
}

/**
 * Settles as `promise` does, or rejects with `timedOut()` at `deadline`; a value that
 * arrives late is handed to `late` so that nothing leaks.
 */
function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  timedOut: () => Error,
  late: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(timedOut());
    }, Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late(value);
        else resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        if (!expired) reject(error);
      },
    );
  });
}
