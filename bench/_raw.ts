// The machine's raw limit for bench/e2e.ts: a Unix socket stream into an appended
// file with large writes and no offlog logic.
//
//   deno run ... bench/_raw.ts listen SOCK FILE
//     accepts connections; for each, reads 256 KiB at a time and appends each read
//     with an async file write; at the end of the stream answers one byte.
//   deno run ... bench/_raw.ts send SOCK BYTES
//     prints "ready", waits for a line on stdin, sends BYTES in 256 KiB writes,
//     half-closes, waits for the answer, prints {"start", "wrote", "end"} as JSON.

import { now, writeAll } from "./_io.ts";

const CHUNK = 256 * 1024;

async function handle(conn: Deno.UnixConn, path: string): Promise<void> {
  using file = await Deno.open(path, { append: true, create: true });
  const buffer = new Uint8Array(CHUNK);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    await writeAll(file, buffer.subarray(0, n));
  }
  await writeAll(conn, new Uint8Array([1]));
  conn.close();
}

async function listen(socketPath: string, path: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  console.log("listening");
  for await (const conn of listener) {
    handle(conn, path).catch((error) => console.error(error));
  }
}

async function send(socketPath: string, bytes: number): Promise<void> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  for (let i = 99; i < chunk.length; i += 100) chunk[i] = 0x0a;
  console.log("ready");
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();
  const start = now();
  for (let left = bytes; left > 0; left -= CHUNK) {
    await writeAll(conn, left >= CHUNK ? chunk : chunk.subarray(0, left));
  }
  const wrote = now();
  await conn.closeWrite();
  await conn.read(new Uint8Array(1));
  const end = now();
  conn.close();
  console.log(JSON.stringify({ start, wrote, end }));
}

if (import.meta.main) {
  const [mode, socketPath, arg] = Deno.args;
  if (mode === "listen" && socketPath !== undefined && arg !== undefined) {
    await listen(socketPath, arg);
  } else if (mode === "send" && socketPath !== undefined && Number(arg) >= 0) {
    await send(socketPath, Number(arg));
  } else {
    throw new TypeError("usage: _raw.ts listen SOCK FILE | send SOCK BYTES");
  }
}
