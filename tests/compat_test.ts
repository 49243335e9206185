import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";
import { exchange, readMessages, writeAll } from "./_raw.ts";

const encoder = new TextEncoder();

Deno.test("a 0.x client works unchanged: path, NUL, data right after, half-close, BYE", async () => {
  await using server = await startServer();
  const path = `${server.dir}/0x.log`;
  const messages = await exchange(server.socketPath, `${path}\0first\n`, "second\nthird");
  assert.deepEqual(messages, ["OK", "BYE"], "no ACK or other message for a 0.x client");
  assert.equal(await Deno.readTextFile(path), "first\nsecond\nthird");
});

Deno.test("0.x lines and offlog/1 records from many clients land whole in one file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/mixed.log`;
  const raw = Array.from({ length: 4 }, async (_, c) => {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, encoder.encode(`${path}\0`));
      const text = Array.from(
        { length: 500 },
        (_, i) => `raw ${c} line ${i} ${"r".repeat(i % 50)}\n`,
      )
        .join("");
      const bytes = encoder.encode(text);
      // Odd-sized pieces cut lines in the middle, with pauses between them.
      for (let offset = 0; offset < bytes.length; offset += 997) {
        await writeAll(conn, bytes.subarray(offset, offset + 997));
        if (offset % 7 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await conn.closeWrite();
      assert.deepEqual(await readMessages(conn), ["OK", "BYE"]);
    } finally {
      conn.close();
    }
  });
  const ours = Array.from({ length: 4 }, async (_, c) => {
    await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
    for (let i = 0; i < 300; i++) {
      const body = Array.from({ length: 1 + (i % 4) }, (_, k) => `  part ${k}\n`).join(
        "",
      );
      file.write(`ours ${c} record ${i} begin\n${body}ours ${c} record ${i} end\n`);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  });
  await Promise.all([...raw, ...ours]);
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  const rawNext = [0, 0, 0, 0];
  const oursNext = [0, 0, 0, 0];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    let m = /^raw (\d) line (\d+) (r*)$/.exec(line);
    if (m) {
      const c = Number(m[1]);
      const i = Number(m[2]);
      assert.equal(i, rawNext[c], `raw client ${c} in order`);
      assert.equal(m[3]!.length, i % 50, "whole raw line");
      rawNext[c] = i + 1;
      continue;
    }
    m = /^ours (\d) record (\d+) begin$/.exec(line);
    assert.ok(m, `unexpected line ${JSON.stringify(line)}`);
    const c = Number(m[1]);
    const i = Number(m[2]);
    assert.equal(i, oursNext[c], `our client ${c} in order`);
    for (let p = 0; p < 1 + (i % 4); p++) assert.equal(lines[++k], `  part ${p}`);
    assert.equal(lines[++k], `ours ${c} record ${i} end`, "record whole");
    oursNext[c] = i + 1;
  }
  assert.deepEqual(rawNext, [500, 500, 500, 500]);
  assert.deepEqual(oursNext, [300, 300, 300, 300]);
});

/** A server that speaks only 0.x, as the Python offlog does. */
function zeroXServer(
  socketPath: string,
  log: string[],
): { done: Promise<void>; close(): void } {
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const conns = new Set<Deno.UnixConn>();
  const serve = async (conn: Deno.UnixConn) => {
    const buffer = new Uint8Array(65536);
    let held = new Uint8Array(0);
    let file: Deno.FsFile | null = null;
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        let data = buffer.slice(0, n);
        if (file === null) {
          const joined = new Uint8Array(held.length + data.length);
          joined.set(held);
          joined.set(data, held.length);
          const nul = joined.indexOf(0);
          if (nul === -1) {
            held = joined;
            continue;
          }
          const path = new TextDecoder().decode(joined.subarray(0, nul));
          log.push(path);
          if (!path.startsWith("/")) {
            await writeAll(conn, encoder.encode("ValueError: not an absolute path\0"));
            return;
          }
          file = await Deno.open(path, { append: true, create: true });
          await writeAll(conn, encoder.encode("OK\0"));
          data = joined.subarray(nul + 1);
        }
        await file.write(data);
      }
      if (file !== null) await writeAll(conn, encoder.encode("BYE\0"));
    } finally {
      file?.close();
      conn.close();
      conns.delete(conn);
    }
  };
  const done = (async () => {
    const sessions: Promise<void>[] = [];
    try {
      for await (const conn of listener) {
        conns.add(conn);
        sessions.push(serve(conn));
      }
    } catch {
      // closed
    }
    await Promise.allSettled(sessions);
  })();
  return { done, close: () => listener.close() };
}

Deno.test("ProxyFile falls back to the 0.x protocol against a 0.x server", async () => {
  const dir = await Deno.makeTempDir();
  const log: string[] = [];
  const server = zeroXServer(`${dir}/py.sock`, log);
  try {
    const file = await ProxyFile.open(`${dir}/a.log`, { socketPath: `${dir}/py.sock` });
    assert.equal(file.protocol, "0.x");
    file.write("via ");
    file.write(encoder.encode("a 0.x server\n"));
    await file.flush();
    await file.close();
    assert.equal(await Deno.readTextFile(`${dir}/a.log`), "via a 0.x server\n");
    assert.deepEqual(log, ["offlog/1", `${dir}/a.log`]);
  } finally {
    server.close();
    await server.done;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProxyFile speaks offlog/1 to our server", async () => {
  await using server = await startServer();
  await using file = await ProxyFile.open(`${server.dir}/v1.log`, {
    socketPath: server.socketPath,
  });
  assert.equal(file.protocol, "offlog/1");
});
