// The "memory while records trickle in" row of bench/e2e.ts: a fresh server, 8 raw
// offlog/1 clients each announcing a record of 200 KB and sending all of it but its
// last byte one byte per write, all at once, so that 1.6 MB of unfinished records are
// held. The server's VmRSS before (after a warm-up record) and once they are all
// read, against the bytes held: issue 19 wants at most twice the bytes held on top.

import { startServer } from "./_children.ts";
import { DEPLOYED } from "./_memory.ts";
import { readStatus } from "./_runs.ts";

/** What {@linkcode memoryWhileTrickling} found. */
export interface TrickleReport {
  /** How the server ran: "plain command" or "as deployed". */
  settings: string;
  clients: number;
  /** Bytes of unfinished records held once all were sent (headers included). */
  held: number;
  /** VmRSS after the warm-up, before the trickle. */
  before: number;
  /** VmRSS once every byte was read. */
  after: number;
  seconds: number;
}

const encoder = new TextEncoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/** Reads one message (up to its NUL). */
async function message(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(256);
  let text = "";
  while (!text.includes("\0")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\0"));
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

/** Sends `count` bytes of a record one byte per write. */
async function trickle(conn: Deno.Conn, count: number): Promise<void> {
  const byte = new Uint8Array([0x74]);
  for (let i = 0; i < count; i++) await writeAll(conn, byte);
}

/** 8 clients trickle unfinished records of `recordBytes` each. */
export async function memoryWhileTrickling(
  dir: string,
  options: { clients: number; recordBytes: number; deployed: boolean },
): Promise<TrickleReport> {
  const socketPath = `${dir}/trickle.sock`;
  const server = options.deployed
    ? await startServer(socketPath, DEPLOYED.flags, DEPLOYED.env)
    : await startServer(socketPath);
  const conns: Deno.UnixConn[] = [];
  try {
    const pid = server.process.pid;
    for (let i = 0; i < options.clients; i++) {
      const conn = await Deno.connect({ transport: "unix", path: socketPath });
      conns.push(conn);
      await writeAll(conn, encoder.encode(`offlog/1\0${dir}/trickle-${i}.log\0`));
      const ok = await message(conn);
      if (!ok.startsWith("OK")) throw new Error(`trickle client ${i}: ${ok}`);
    }
    // A warm-up record, trickled and acknowledged: the first busy seconds of a fresh
    // server cost compiled code and heap whatever it holds.
    const warm = Math.min(64 * 1024, options.recordBytes);
    await writeAll(conns[0]!, header(warm));
    await trickle(conns[0]!, warm);
    const ack = await message(conns[0]!);
    if (ack !== `ACK ${warm}`) throw new Error(`warm-up: ${ack}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = readStatus(pid).rss;
    const started = performance.now();
    await Promise.all(conns.map(async (conn) => {
      await writeAll(conn, header(options.recordBytes));
      await trickle(conn, options.recordBytes - 1);
    }));
    const seconds = (performance.now() - started) / 1000;
    // Every byte read: a round trip on one of the connections would end its record,
    // so the server is given a moment instead.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = readStatus(pid).rss;
    return {
      settings: options.deployed ? "as deployed" : "plain command",
      clients: options.clients,
      held: options.clients * (4 + options.recordBytes - 1),
      before,
      after,
      seconds,
    };
  } finally {
    for (const conn of conns) conn.close();
    await server.finish("SIGTERM");
  }
}

/** The reports as a Markdown table. */
export function trickleTable(reports: TrickleReport[]): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  return [
    "| unfinished records trickled a byte per write | server | seconds | held (MB) " +
    "| RSS before (MB) | RSS while held (MB) | growth (MB) | growth ÷ held |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...reports.map((report) =>
      `| ${report.clients} clients × ${
        (report.held / report.clients / 1e3).toFixed(0)
      } KB | ${report.settings} | ${report.seconds.toFixed(1)} | ${mb(report.held)} | ${
        mb(report.before)
      } | ${mb(report.after)} | **${mb(report.after - report.before)}** | ${
        ((report.after - report.before) / report.held).toFixed(1)
      } |`
    ),
  ].join("\n");
}
