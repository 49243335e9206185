// Session (server/session.ts) on the raw wire: the opening and its refusals, offlog/1's
// ACKs and BYE, and what a 0.x client sees.

import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { readMessageTexts, readUntilClosed, startServer, waitUntil } from "./_server.ts";
import { writeAll } from "./_raw.ts";
import { concat } from "../protocol/mod.ts";
import { Session } from "../server/session.ts";
import { FileTable } from "../server/file_table.ts";
import { Budget } from "../server/budget.ts";

const encoder = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("server refuses each bad opening on the raw wire with the 0.x message and one NUL, then closes", async () => {
  await using server = await startServer();
  const dir = server.dir;
  const cases: [string, Uint8Array, string][] = [
    [
      "relative path",
      encoder.encode("relative.log\0data\n"),
      "ValueError: not an absolute path",
    ],
    [
      "more than PATH_MAX bytes without a NUL",
      encoder.encode("/" + "a".repeat(5000)),
      "ValueError: path longer than PATH_MAX",
    ],
    [
      "a directory",
      encoder.encode(`${dir}\0`),
      `IsADirectoryError: [Errno 21] Is a directory: '${dir}'`,
    ],
    [
      "a missing directory",
      encoder.encode(`${dir}/missing/x.log\0`),
      `FileNotFoundError: [Errno 2] No such file or directory: '${dir}/missing/x.log'`,
    ],
    [
      "invalid UTF-8",
      new Uint8Array([...encoder.encode(`${dir}/`), 0xff, 0xfe, 0x2e, 0x6c, 0]),
      "ValueError: path is not valid UTF-8",
    ],
  ];
  for (const [what, opening, expected] of cases) {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, opening);
      // No half-close: the server closes by itself after its refusal.
      const received = await readUntilClosed(conn);
      assert.equal(received.text, `${expected}\0`, what);
      assert.ok(received.closed, `the server closes the connection after ${what}`);
    } finally {
      conn.close();
    }
  }
  await server.waitFor("access denied");
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names, ["offlog.sock"], "no file was created");
  // The server goes on serving.
  await using file = await ProxyFile.open(`${dir}/ok.log`, {
    socketPath: server.socketPath,
  });
  file.write("still serving\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${dir}/ok.log`), "still serving\n");
});

Deno.test("server waits for a path of exactly PATH_MAX bytes and refuses the byte after it", async () => {
  await using server = await startServer();
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode("/" + "p".repeat(4095)));
    const buffer = new Uint8Array(4096);
    const read = conn.read(buffer);
    const early = await Promise.race([read, delay(300).then(() => "waiting" as const)]);
    assert.equal(early, "waiting", "4096 bytes without a NUL may still be a path");
    await writeAll(conn, encoder.encode("p"));
    const n = await read;
    assert.ok(n !== null);
    const rest = await readUntilClosed(conn);
    assert.equal(
      new TextDecoder().decode(buffer.subarray(0, n)) + rest.text,
      "ValueError: path longer than PATH_MAX\0",
    );
    assert.ok(rest.closed);
  } finally {
    conn.close();
  }
});

Deno.test("server acknowledges offlog/1 frames with cumulative ACKs, then says BYE once all is written", async () => {
  await using server = await startServer();
  const path = `${server.dir}/v1.log`;
  const frame = (text: string) => {
    const body = encoder.encode(text);
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  };
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`offlog/1\0${path}\0`));
    assert.deepEqual(await readMessageTexts(conn, 1), ["OK"]);
    const payloads = ["one\n", "two lines\nin one record\n", "", "three\n"];
    for (const payload of payloads) {
      await writeAll(conn, frame(payload));
      await delay(5);
    }
    await conn.closeWrite();
    const received = await readUntilClosed(conn);
    assert.ok(received.closed);
    const messages = received.text.split("\0");
    assert.equal(messages.pop(), "", "every message ends with NUL");
    assert.equal(messages.at(-1), "BYE");
    const acks = messages.slice(0, -1).map((m) => {
      const match = /^ACK (\d+)$/.exec(m);
      assert.ok(match, `only ACKs before BYE, got ${JSON.stringify(m)}`);
      return Number(match[1]);
    });
    const total = encoder.encode(payloads.join("")).length;
    assert.equal(acks.at(-1), total, "the last ACK counts every payload byte");
    assert.deepEqual(acks, [...acks].sort((x, y) => x - y), "ACKs only grow");
    assert.equal(await Deno.readTextFile(path), payloads.join(""));
  } finally {
    conn.close();
  }
});

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

Deno.test("Session serves a 0.x client in-process: OK, its lines written, BYE, its file closed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
    using client = await Deno.connect({ transport: "unix", path: `${dir}/s.sock` });
    const log: string[] = [];
    const files = new FileTable();
    const session = new Session(7, await listener.accept(), {
      files,
      budget: new Budget(),
      log: (message) => log.push(message),
    });
    await writeAll(client, encoder.encode(`${dir}/app.log\0one\ntwo\n`));
    await client.closeWrite();
    const received = await readUntilClosed(client);
    await session.done;
    assert.equal(received.text, "OK\0BYE\0");
    assert.equal(await Deno.readTextFile(`${dir}/app.log`), "one\ntwo\n");
    assert.ok(log.includes(`Closed ${dir}/app.log`), log.join("\n"));
    assert.equal(files.open.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
