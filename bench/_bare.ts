// The ceiling for offlog's "built lines" rows in bench/e2e.ts: writers that build the
// same lines the same way as bench/_client.ts "built" (bench/_lines.ts writeBuilt)
// and send them through a bare Unix socket to a bare appending relay. No framing, no
// acknowledgements, no limits: what offlog does, minus offlog.
//
//   deno run ... bench/_bare.ts relay SOCK
//     accepts connections; each sends a path and a NUL byte, then lines; the relay
//     appends every read up to its last newline (the rest waits for the next read, so
//     records stay whole with many writers on one file), with one async write at a
//     time per connection, its own descriptor opened for appending; at the end of
//     the stream it answers one byte.
//   deno run ... bench/_bare.ts send|send-join SOCK FILE CLIENT LINES
//     warms up (as many lines, at most 100,000, to /dev/null through the relay),
//     connects for FILE, prints "ready", waits for a line on stdin, writes its lines,
//     half-closes, waits for the answer and prints {"start", "wrote", "end", "cpu"}
//     as JSON, like bench/_client.ts. "send" encodes each line when it is written
//     into 256 KiB blocks (encodeInto), sent one at a time; "send-join" queues the
//     strings and joins and encodes a batch when the previous write is done, as
//     offlog's client does. Lines built with a template literal are cons strings:
//     queued, they outlive the young generation, and joining them flattens them, so
//     "send-join" costs ~3x the CPU of "send" per line.

import process from "node:process";
import type { WriterTimes } from "./_client.ts";
import { writeBuilt } from "./_lines.ts";
import { now, writeAll } from "./_io.ts";

const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;
const encoder = new TextEncoder();

async function handle(conn: Deno.UnixConn): Promise<void> {
  const buffer = new Uint8Array(CHUNK);
  let held = 0;
  let nul = -1;
  while (nul < 0) {
    const n = await conn.read(buffer.subarray(held));
    if (n === null) throw new Error("Connection closed before its path");
    held += n;
    nul = buffer.subarray(0, held).indexOf(0);
  }
  const path = new TextDecoder().decode(buffer.subarray(0, nul));
  buffer.copyWithin(0, nul + 1, held);
  held -= nul + 1;
  using file = await Deno.open(path, { append: true, create: true });
  for (;;) {
    const end = buffer.lastIndexOf(NEWLINE, held - 1) + 1;
    const cut = end > 0 ? end : held === buffer.length ? held : 0;
    if (cut > 0) {
      await writeAll(file, buffer.subarray(0, cut));
      buffer.copyWithin(0, cut, held);
      held -= cut;
    }
    const n = await conn.read(buffer.subarray(held));
    if (n === null) break;
    held += n;
  }
  if (held > 0) await writeAll(file, buffer.subarray(0, held));
  await writeAll(conn, new Uint8Array([1]));
  conn.close();
}

async function relay(socketPath: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  console.log("listening");
  for await (const conn of listener) {
    handle(conn).catch((error) => console.error(error));
  }
}

/** What a bare sender offers its writer loop. */
interface Sink {
  write(line: string): void;
  /** Sends what is queued, half-closes and waits until the relay has written it all. */
  end(): Promise<void>;
}

async function connect(socketPath: string, path: string): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  await writeAll(conn, encoder.encode(`${path}\0`));
  return conn;
}

async function endStream(conn: Deno.UnixConn): Promise<void> {
  await conn.closeWrite();
  await conn.read(new Uint8Array(1));
  conn.close();
}

/** Each line encoded as it is written, into blocks sent one at a time. */
class BlockSink implements Sink {
  #conn: Deno.UnixConn;
  #block: Uint8Array<ArrayBuffer> = new Uint8Array(CHUNK);
  #used = 0;
  #full: Uint8Array<ArrayBuffer>[] = [];
  #spare: Uint8Array<ArrayBuffer>[] = [];
  #pumping: Promise<void> | null = null;

  constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
  }

  write(line: string): void {
    if (CHUNK - this.#used < line.length * 3) this.#seal();
    this.#used += encoder.encodeInto(line, this.#block.subarray(this.#used)).written;
    this.#pumping ??= this.#pump();
  }

  #seal(): void {
    this.#full.push(this.#block.subarray(0, this.#used));
    this.#block = this.#spare.pop() ?? new Uint8Array(CHUNK);
    this.#used = 0;
  }

  async #pump(): Promise<void> {
    while (this.#full.length > 0 || this.#used > 0) {
      if (this.#full.length === 0) this.#seal();
      const bytes = this.#full.shift()!;
      await writeAll(this.#conn, bytes);
      this.#spare.push(new Uint8Array(bytes.buffer));
    }
    this.#pumping = null;
  }

  async end(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
    await endStream(this.#conn);
  }
}

/** Lines queued as strings, joined, encoded and written one batch at a time. */
class JoinSink implements Sink {
  #conn: Deno.UnixConn;
  #queue: string[] = [];
  #pumping: Promise<void> | null = null;

  constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
  }

  write(line: string): void {
    this.#queue.push(line);
    this.#pumping ??= this.#pump();
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await writeAll(this.#conn, encoder.encode(batch.join("")));
    }
    this.#pumping = null;
  }

  async end(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
    await endStream(this.#conn);
  }
}

async function send(
  join: boolean,
  socketPath: string,
  path: string,
  client: number,
  lines: number,
): Promise<void> {
  const open = async (path: string): Promise<Sink> => {
    const conn = await connect(socketPath, path);
    return join ? new JoinSink(conn) : new BlockSink(conn);
  };
  const warm = await open("/dev/null");
  await writeBuilt((line) => warm.write(line), client, Math.min(lines, 100_000));
  await warm.end();
  const sink = await open(path);
  console.log("ready");
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();
  const usage = process.cpuUsage();
  const start = now();
  await writeBuilt((line) => sink.write(line), client, lines);
  const wrote = now();
  await sink.end();
  const end = now();
  const used = process.cpuUsage(usage);
  const cpu = (used.user + used.system) / 1e6;
  console.log(JSON.stringify({ start, wrote, end, cpu } satisfies WriterTimes));
}

if (import.meta.main) {
  const [mode, socketPath, path, client, lines] = Deno.args;
  if (mode === "relay" && socketPath !== undefined) {
    await relay(socketPath);
  } else if (
    (mode === "send" || mode === "send-join") && socketPath !== undefined &&
    path !== undefined &&
    Number(client) >= 0 && Number(lines) >= 0
  ) {
    await send(mode === "send-join", socketPath, path, Number(client), Number(lines));
  } else {
    throw new TypeError(
      "usage: _bare.ts relay SOCK | send|send-join SOCK FILE CLIENT LINES",
    );
  }
}
