// Compatibility with offlog 0.x (../shared/offlog-0x-wire.md): 0.x clients, written
// here with plain sockets, against our server; and our ProxyFile against a 0.x-style
// server, written here with Deno.listen, that speaks only what the Python server does.

import assert from "node:assert/strict";
import { OfflogServerError, ProxyFile } from "../mod.ts";
import {
  readMessageTexts,
  readUntilClosed,
  startServer,
  tempDir,
  waitUntil,
} from "./_server.ts";
import { writeAll } from "./_raw.ts";

const encoder = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------
// 0.x clients against our server

Deno.test("server answers a 0.x client with exactly OK and BYE, after writing every byte, NULs included", async () => {
  await using server = await startServer();
  const path = `${server.dir}/0x.log`;
  const data = new Uint8Array(3 * 256 + 5);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256; // NULs, 0xff, anything
  data[data.length - 1] = 0x41; // no newline at the end
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    // The path, its NUL and data in one write, then more data, all before OK is read.
    await writeAll(conn, concat([encoder.encode(`${path}\0`), data.subarray(0, 100)]));
    await writeAll(conn, data.subarray(100, 500));
    await delay(5);
    await writeAll(conn, data.subarray(500));
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.equal(received.text, "OK\0BYE\0", "no ACK nor anything else for a 0.x client");
    assert.ok(received.closed);
    // BYE came after the data was written.
    assert.deepEqual(await Deno.readFile(path), data);
  } finally {
    conn.close();
  }
});

Deno.test("server keeps every line whole when 8 0.x clients write lines to one file at once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/lines.log`;
  const perClient = 300;
  const line = (c: number, i: number) => {
    // Mostly short lines; every 50th about 100 KiB, longer than any one read.
    const size = i % 50 === 17 ? 100 * 1024 : 10 + ((i * 37 + c * 11) % 200);
    const head = `0x ${c} ${i} ${size} `;
    return head + "l".repeat(Math.max(0, size - head.length)) + "\n";
  };
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      const text = Array.from({ length: perClient }, (_, i) => line(c, i)).join("");
      const bytes = encoder.encode(`${path}\0${text}`);
      // Pieces of odd sizes cut lines anywhere, with pauses between some of them.
      const piece = 1000 + c * 997;
      for (let offset = 0, k = 0; offset < bytes.length; offset += piece, k++) {
        await writeAll(conn, bytes.subarray(offset, offset + piece));
        if (k % 5 === 0) await delay(0);
      }
      await conn.closeWrite();
      assert.equal((await readUntilClosed(conn)).text, "OK\0BYE\0");
    } finally {
      conn.close();
    }
  }));
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  const next = new Array<number>(8).fill(0);
  for (const text of lines) {
    const m = /^0x (\d) (\d+) (\d+) l*$/.exec(text);
    assert.ok(m, `a whole line: ${JSON.stringify(text.slice(0, 80))}`);
    const [c, i] = [Number(m[1]), Number(m[2])];
    assert.equal(i, next[c], `client ${c}'s lines in order`);
    assert.equal(text + "\n", line(c, i), `line ${c}/${i} whole`);
    next[c] = i + 1;
  }
  assert.deepEqual(next, new Array(8).fill(perClient));
});

Deno.test("server holds a 0.x client's unfinished line until its newline, and writes the last one at EOF", async () => {
  await using server = await startServer();
  const path = `${server.dir}/held.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`${path}\0first line\nsecond, unfin`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
    await waitUntil(
      async () => (await Deno.readTextFile(path)) === "first line\n",
      "the whole line is written",
    );
    // Another client's record lands while the unfinished line is held back.
    await using other = await ProxyFile.open(path, { socketPath: server.socketPath });
    other.write("other client\n");
    await other.flush();
    assert.equal(await Deno.readTextFile(path), "first line\nother client\n");
    await writeAll(conn, encoder.encode("ished\nthird without newline"));
    await waitUntil(
      async () => (await Deno.readTextFile(path)).endsWith("second, unfinished\n"),
      "the finished line is written",
    );
    await delay(50);
    assert.equal(
      await Deno.readTextFile(path),
      "first line\nother client\nsecond, unfinished\n",
      "the unfinished tail is still held",
    );
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.equal(received.text, "BYE\0");
    assert.equal(
      await Deno.readTextFile(path),
      "first line\nother client\nsecond, unfinished\nthird without newline",
    );
  } finally {
    conn.close();
  }
});

Deno.test("server tells a 0.x client 'OSError: offlog server exited' on SIGTERM, and writes what it sent", async () => {
  await using server = await startServer();
  const path = `${server.dir}/exited.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`${path}\0`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
    const sent = Array.from({ length: 2000 }, (_, i) => `0x line ${i}\n`).join("");
    await writeAll(conn, encoder.encode(sent));
    const status = server.stop("SIGTERM");
    assert.deepEqual(await readMessageTexts(conn, 1), ["OSError: offlog server exited"]);
    // As a Python client does on that error: stop sending.
    await conn.closeWrite();
    const rest = await readUntilClosed(conn);
    assert.equal(rest.text, "", "no BYE after the server said it exits");
    assert.ok(rest.closed);
    assert.equal((await status).code, 0);
    assert.equal(await Deno.readTextFile(path), sent);
  } finally {
    conn.close();
  }
});

// ---------------------------------------------------------------------------------
// Our client against a 0.x-style server

interface ZeroXOptions {
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

interface ZeroXServer extends AsyncDisposable {
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
function zeroXServer(socketPath: string, options: ZeroXOptions = {}): ZeroXServer {
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

Deno.test("ProxyFile falls back to 0.x against a 0.x-style server: data arrives and close() waits for BYE", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/fallback.log`;
  await using server = zeroXServer(socketPath, { byeDelayMs: 300 });
  const file = await ProxyFile.open(path, { socketPath });
  assert.equal(file.protocol, "0.x");
  assert.deepEqual(server.openings, ["offlog/1", path], "tried offlog/1, then fell back");
  file.write("text, ");
  file.write(encoder.encode("bytes\n"));
  for (let i = 0; i < 1000; i++) file.write(`line ${i}\n`);
  await file.flush();
  const started = performance.now();
  await file.close();
  const closed = performance.now();
  assert.equal(server.byes.length, 1, "the server said BYE");
  assert.ok(closed >= server.byes[0]!, "close() resolved after BYE");
  assert.ok(
    closed - started >= 250,
    `close() did not wait for BYE (${closed - started} ms)`,
  );
  const expected = "text, bytes\n" +
    Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
  assert.equal(
    await Deno.readTextFile(path),
    expected,
    "raw 0.x bytes: no frame headers",
  );
  assert.throws(() => file.write("late\n"), Deno.errors.BadResource);
});

Deno.test("ProxyFile.open() against a 0.x-style server rejects its refusal as the Deno error that fits", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/refused.log`;
  const message = `[Errno 13] Permission denied: '${path}'`;
  {
    await using server = zeroXServer(socketPath, {
      refuse: `PermissionError: ${message}`,
    });
    await assert.rejects(ProxyFile.open(path, { socketPath }), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.PermissionDenied, String(error));
      assert.equal(error.message, message);
      assert.ok(error.cause instanceof OfflogServerError);
      assert.equal(error.cause.serverName, "PermissionError");
      return true;
    });
    assert.deepEqual(server.openings, ["offlog/1", path]);
  }
  {
    // A name with no Deno class: the server's error itself.
    await using _server = zeroXServer(socketPath, { refuse: "SomeCustomError: nope" });
    await assert.rejects(ProxyFile.open(path, { socketPath }), (error: unknown) => {
      assert.ok(error instanceof OfflogServerError, String(error));
      assert.equal(error.serverName, "SomeCustomError");
      assert.equal(error.message, "nope");
      return true;
    });
  }
});

Deno.test("ProxyFile.write() against a 0.x-style server throws 'offlog server exited' once the server says so", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/exits.log`;
  await using _server = zeroXServer(socketPath, { exitOnData: true });
  const file = await ProxyFile.open(path, { socketPath });
  assert.equal(file.protocol, "0.x");
  file.write("first\n");
  let thrown: unknown;
  await waitUntil(() => {
    try {
      file.write("more\n");
      return false;
    } catch (error) {
      thrown = error;
      return true;
    }
  }, "write() throws");
  assert.ok(thrown instanceof OfflogServerError, String(thrown));
  assert.equal(thrown.serverName, "OSError");
  assert.equal(thrown.message, "offlog server exited");
  await file.close();
  assert.ok((await Deno.readTextFile(path)).startsWith("first\n"));
});

Deno.test("ProxyFile.close() against a 0.x-style server that never says BYE rejects with TimedOut", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  await using _server = zeroXServer(socketPath, { noBye: true });
  const file = await ProxyFile.open(`${dir.path}/nobye.log`, {
    socketPath,
    timeout: 300,
  });
  file.write("sent\n");
  const started = performance.now();
  await assert.rejects(file.close(), Deno.errors.TimedOut);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 3000, `close() gave up after ${elapsed} ms`);
  assert.equal(await Deno.readTextFile(`${dir.path}/nobye.log`), "sent\n");
});

Deno.test("ProxyFile against a 0.3-style server calls onRotated for ROTATED and goes on writing", async () => {
  await using dir = await tempDir();
  const socketPath = `${dir.path}/0x.sock`;
  const path = `${dir.path}/rotated.log`;
  await using _server = zeroXServer(socketPath, { afterOk: ["ROTATED"] });
  let rotated = 0;
  const file = await ProxyFile.open(path, { socketPath, onRotated: () => rotated++ });
  await waitUntil(() => rotated === 1, "onRotated is called");
  file.write("after rotation\n");
  await file.close();
  assert.equal(await Deno.readTextFile(path), "after rotation\n");
});
