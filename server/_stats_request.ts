// `server.ts --stats`: asks a running server for its figures over its socket. Needs only
// what a client needs: read, write and --allow-net=unix: on the socket.

import { NUL, STATS_HELLO, STATS_PREFIX } from "../protocol/mod.ts";
import type { StatsSnapshot } from "./stats.ts";

/** Bytes of an answer read at most: a few hundred bytes per open file. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * Asks the server on `socketPath` for its stats.
 *
 * @param socketPath The server's socket.
 * @param timeoutMs How long to wait for the answer.
 * @returns The server's snapshot.
 * @throws {Error} With a message saying why: no server, not an offlog server that
 * knows stats, no answer in time.
 */
export async function requestStats(
  socketPath: string,
  timeoutMs: number,
): Promise<StatsSnapshot> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    throw new Error(
      `No offlog server answers on "${socketPath}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    await conn.write(new TextEncoder().encode(`${STATS_HELLO}\0`));
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      size += n;
      if (size > MAX_ANSWER_BYTES) throw new Error("the answer is too long");
      if (buffer[n - 1] === NUL) break;
    }
  } catch (error) {
    throw new Error(
      `No stats from the offlog server on "${socketPath}" within ${timeoutMs} ms: ` +
        (error as Error).message,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(bytes).replace(/\0$/, "");
  if (!text.startsWith(STATS_PREFIX)) {
    throw new Error(
      `The server on "${socketPath}" does not answer stats requests (an offlog 0.x ` +
        `server?): ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return JSON.parse(text.slice(STATS_PREFIX.length)) as StatsSnapshot;
}
