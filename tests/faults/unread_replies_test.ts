// Replies a client never reads count against --max-buffered-bytes (issue 19): stats
// requests whose answers are hundreds of KB, sent by clients that never read them,
// must not grow the server without bound; a client that reads is answered.

import assert from "node:assert/strict";
import { STATS_HELLO } from "../../protocol/mod.ts";
import { readUntilClosed, startServer } from "../_server.ts";
import { writeAll } from "../_raw.ts";
import { sleep, vmRssKiB } from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();
/** Open files, each with a path of about 3,900 bytes: a stats answer of ~600 KB. */
const FILES = 150;
/** Stats requests never read. */
const FLOOD = 300;

/** A directory whose path is about `length` bytes long, made of 200-byte names. */
async function deepDir(base: string, length: number): Promise<string> {
  let dir = base;
  while (dir.length < length) {
    dir += `/${"d".repeat(200)}`;
    await Deno.mkdir(dir);
  }
  return dir;
}

Deno.test("unread replies: 300 stats requests of ~600 KB each never read keep the server's memory bounded; the replies' share is refused and logged", async () => {
  await using server = await startServer({
    args: ["--max-buffered-bytes", "16M", "--opening-timeout", "60000"],
  });
  const dir = await deepDir(server.dir, 3700);
  const files: Deno.UnixConn[] = [];
  const flood: Deno.UnixConn[] = [];
  try {
    for (let i = 0; i < FILES; i++) {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      await writeAll(conn, encoder.encode(`${dir}/${i}.log\0`));
      files.push(conn);
    }
    await server.waitFor(`New client ${FILES - 1} `);
    // One answer read in full, to know its size.
    const probe = await Deno.connect({ transport: "unix", path: server.socketPath });
    await writeAll(probe, encoder.encode(`${STATS_HELLO}\0`));
    const answer = await readUntilClosed(probe, 10_000);
    probe.close();
    assert.ok(answer.text.startsWith("STATS "), answer.text.slice(0, 80));
    assert.ok(answer.text.length > 500_000, `an answer of ${answer.text.length} bytes`);
    const before = await vmRssKiB(server.process.pid);
    for (let i = 0; i < FLOOD; i++) {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      await writeAll(conn, encoder.encode(`${STATS_HELLO}\0`));
      flood.push(conn);
      if (i % 50 === 49) await sleep(50);
    }
    const seen = () => server.stdout().match(/ asked for stats$/gm)?.length ?? 0;
    const deadline = Date.now() + 30_000;
    while (seen() < FLOOD + 1 && Date.now() < deadline) await sleep(100);
    assert.equal(seen(), FLOOD + 1, "every request reached the server");
    // Measured once the server has collected the garbage of building the answers (2 s
    // after the last byte moved): what is left is what it holds.
    await sleep(2600);
    const grown = (await vmRssKiB(server.process.pid) - before) / 1024;
    console.log(`${FLOOD} unread stats answers: server VmRSS +${grown.toFixed(1)} MiB`);
    // Unbounded, the server would hold ~300 × 600 KB less what the sockets take
    // (>100 MiB); bounded, the replies' share of 16 MiB (2 MiB) and the garbage of
    // building the answers.
    assert.ok(grown < 24, `server RSS grew by ${grown.toFixed(1)} MiB`);
    assert.match(
      server.stderr(),
      /Client \d+ access denied: MemoryError: Stats refused: replies waiting for clients that do not read them fill their share of the server's memory budget \(--max-buffered-bytes 16777216\)/,
    );
  } finally {
    for (const conn of [...flood, ...files]) conn.close();
  }
  // Once they are gone, a client that reads gets its answer.
  await sleep(200);
  const reader = await Deno.connect({ transport: "unix", path: server.socketPath });
  await writeAll(reader, encoder.encode(`${STATS_HELLO}\0`));
  const received = await readUntilClosed(reader, 10_000);
  reader.close();
  assert.ok(received.text.startsWith("STATS {"), received.text.slice(0, 120));
});
