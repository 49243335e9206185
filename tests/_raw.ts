// Test helper: a raw client that speaks the wire protocol with plain sockets, as the
// Python offlog 0.x client does.

const encoder = new TextEncoder();

/** Everything the server sent until it closed, split at each NUL. */
export async function readMessages(conn: Deno.UnixConn): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      break;
    }
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const text = new TextDecoder().decode(
    chunks.reduce((a, b) => {
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }, new Uint8Array(0)),
  );
  return text.split("\0").filter((m) => m.length > 0);
}

/** Sends `bytes` (string as UTF-8), half-closes, and returns all the server's messages. */
export async function exchange(
  socketPath: string,
  ...parts: (string | Uint8Array)[]
): Promise<string[]> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    for (const part of parts) {
      await writeAll(conn, typeof part === "string" ? encoder.encode(part) : part);
    }
    await conn.closeWrite().catch(() => {});
    return await readMessages(conn);
  } finally {
    conn.close();
  }
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}
