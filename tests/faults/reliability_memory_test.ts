// Bounded memory and never blocking: the client's queue bound and overflow policies,
// write() and the event loop while the server is stopped, the server's per-file
// backpressure, and 1,000 idle connections. See RELIABILITY.md.

import assert from "node:assert/strict";
import { ProxyFile, QueueFullError } from "../../mod.ts";
import { startServer, tempDir, waitUntil } from "../_server.ts";
import { readMessages, writeAll } from "../_raw.ts";
import {
  frame,
  IDLE,
  range,
  sleep,
  socketOnly,
  spawnLimited,
  startServerWithLimit,
  vmRssKiB,
} from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

/** Record `i` of the bounded-queue tests: 1 KiB, numbered. */
function kib(i: number): string {
  return `${String(i).padStart(6, "0")} ${"m".repeat(1016)}\n`;
}

/** The record numbers in a file of kib() records, checking each is whole. */
async function numbers(path: string): Promise<number[]> {
  const text = await Deno.readTextFile(path);
  assert.equal(text.length % 1024, 0, "whole records");
  const out: number[] = [];
  for (let at = 0; at < text.length; at += 1024) {
    const i = Number(text.slice(at, at + 6));
    assert.equal(text.slice(at, at + 1024), kib(i));
    out.push(i);
  }
  return out;
}

for (const overflow of ["drop-newest", "drop-oldest", "error"] as const) {
  Deno.test(`reliability: maxPendingBytes with overflow "${overflow}" bounds the queue while the server is SIGSTOPped; what is kept arrives`, async () => {
    await using server = await startServer();
    const path = `${server.dir}/${overflow}.log`;
    const MAX = 64 * 1024;
    const file = await ProxyFile.open(path, {
      socketPath: server.socketPath,
      maxPendingBytes: MAX,
      overflow,
    });
    const N = 4000; // 4 MB: far more than the socket buffers and the queue hold
    const thrown: number[] = [];
    let peak = 0;
    server.process.kill("SIGSTOP");
    try {
      for (let i = 0; i < N; i++) {
        const before = file.pendingRecords;
        try {
          file.write(kib(i));
        } catch (error) {
          assert.ok(error instanceof QueueFullError, String(error));
          assert.ok(error instanceof RangeError);
          assert.equal(error.maxPendingBytes, MAX);
          assert.ok(error.pendingSize + 1024 > MAX);
          assert.equal(file.pendingRecords, before, "a refused record is not queued");
          thrown.push(i);
        }
        peak = Math.max(peak, file.pendingSize);
        // Let the pump move what it can into the socket now and then.
        if (i % 64 === 63) await sleep(1);
      }
    } finally {
      server.process.kill("SIGCONT");
    }
    await file.flush();
    file.write(kib(N)); // once drained, the queue takes records again
    await file.close();
    const got = await numbers(path);
    assert.equal(got.at(-1), N);
    got.pop();
    // The queue never held more than the bound; the frame being written is a batch
    // taken from it, so what is pending stays within twice the bound.
    assert.ok(peak <= 2 * MAX, `pendingSize reached ${peak}`);
    const kept = got.length;
    if (overflow === "error") {
      assert.ok(thrown.length > 0, "QueueFullError thrown");
      assert.equal(file.droppedRecords, 0);
      // What was accepted is a prefix, and every later record was refused.
      assert.deepEqual(got, range(kept));
      assert.deepEqual(thrown, range(N).slice(kept));
    } else if (overflow === "drop-newest") {
      assert.deepEqual(thrown, []);
      assert.deepEqual(got, range(kept));
      assert.equal(file.droppedRecords, N - kept);
      assert.equal(file.droppedSize, (N - kept) * 1024);
    } else {
      assert.deepEqual(thrown, []);
      // The oldest records went to the socket before it filled; of the rest, the newest
      // were kept: a prefix and a suffix, the middle dropped and counted.
      let a = 0;
      while (got[a] === a) a++;
      assert.deepEqual(got.slice(a), range(N).slice(N - (kept - a)));
      assert.ok(kept - a > 0 && kept - a <= MAX / 1024, `${kept - a} newest kept`);
      assert.equal(file.droppedRecords, N - kept);
      assert.equal(file.droppedSize, (N - kept) * 1024);
    }
    console.log(
      `${overflow}: ${kept} of ${N} records kept, ${file.droppedRecords} dropped, ` +
        `${thrown.length} refused; pendingSize peaked at ${peak} (bound ${MAX})`,
    );
  });
}

Deno.test("reliability: while the server is SIGSTOPped, write() never blocks and the event loop keeps turning", async () => {
  await using server = await startServer();
  const path = `${server.dir}/stopped.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const line = (i: number) => `${String(i).padStart(9, "0")} ${"s".repeat(89)}\n`;
  let longest = 0;
  let lag = 0;
  let i = 0;
  server.process.kill("SIGSTOP");
  try {
    // 200 lines every millisecond for a second, as a busy program would.
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 5);
      last = now;
    }, 5);
    const writer = setInterval(() => {
      for (let k = 0; k < 200; k++) {
        const text = line(i++);
        const started = performance.now();
        file.write(text);
        longest = Math.max(longest, performance.now() - started);
      }
    }, 1);
    await sleep(1000);
    clearInterval(writer);
    clearInterval(ticker);
    assert.ok(file.pendingSize > 4 * MiB, `only ${file.pendingSize} queued`);
  } finally {
    server.process.kill("SIGCONT");
    await file.close();
  }
  const size = (await Deno.stat(path)).size;
  assert.equal(size, i * 100, "everything written while the server was stopped arrived");
  const text = await Deno.readTextFile(path);
  assert.equal(text.slice(0, 100), line(0));
  assert.equal(text.slice(-100), line(i - 1));
  console.log(
    `server stopped 1 s, ${i} writes (${(i / 1e4).toFixed(1)} MB): longest write() ` +
      `${longest.toFixed(3)} ms, event-loop lag ${lag.toFixed(1)} ms over a 5 ms timer`,
  );
  // Bounds far above what is measured, below what blocking on the socket would take.
  assert.ok(longest < 100, `a write() took ${longest} ms`);
  assert.ok(lag < 250, `the event loop stalled ${lag} ms`);
});

/**
 * A pseudo-terminal whose master nobody reads until asked: a python3 child opens it
 * (raw, so bytes pass unchanged), prints the slave's path, keeps the slave open too (so
 * the pty outlives the server's descriptor), waits for a line on its stdin, then copies
 * from the master to its stdout until it has copied `expected` bytes (or EOF/EIO).
 */
const STALLING_PTY = `
import os, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
os.write(1, (os.ttyname(slave) + "\\n").encode())
sys.stdin.buffer.readline()
expected = int(sys.argv[1])
copied = 0
while copied < expected:
    try:
        data = os.read(master, 1 << 16)
    except OSError:
        break
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
    copied += len(data)
`;

Deno.test("reliability: a file whose writes stall (a pty nobody reads) stops the server reading its clients; memory stays bounded and others are served", async () => {
  // A FIFO is refused now (not a regular file); a pty slave is a character device,
  // which the server opens with --allow-devices, and Deno with --allow-all.
  await using server = await startServer({
    permissions: () => ["--allow-all"],
    args: ["--allow-devices"],
  });
  const payload = encoder.encode(
    range(MiB / 64).map((k) => `${String(k).padStart(8, "0")} ${"f".repeat(54)}\n`)
      .join(""),
  );
  const TOTAL = 160; // frames of 1 MiB: 160 MiB, well past the 64 MiB limit
  const child = new Deno.Command("python3", {
    args: ["-c", STALLING_PTY, String(TOTAL * payload.length)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const childIn = child.stdin.getWriter();
  const childOut = child.stdout.getReader();
  let conn: Deno.UnixConn | undefined;
  try {
    // The slave's path, on the first line; bytes after it are the pty's data.
    let head: Uint8Array = new Uint8Array(0);
    while (!head.includes(0x0a)) {
      const { value, done } = await childOut.read();
      assert.ok(!done, "python3 printed the pty's path");
      head = new Uint8Array([...head, ...value]);
    }
    const newline = head.indexOf(0x0a);
    const pty = new TextDecoder().decode(head.subarray(0, newline));
    assert.match(pty, /^\/dev\/pts\/\d+$/);
    assert.equal(head.length, newline + 1, "nothing read from the pty yet");
    conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    await writeAll(conn, encoder.encode(`offlog/1\0${pty}\0`));
    const ok = new Uint8Array(3);
    await conn.read(ok);
    assert.equal(new TextDecoder().decode(ok), "OK\0");
    const baseline = await vmRssKiB(server.process.pid);
    // 1 MiB frames of numbered lines, sent as fast as the server takes them.
    const oneFrame = frame(payload);
    let sent = 0;
    const writer = conn;
    const sending = (async () => {
      for (; sent < TOTAL; sent++) await writeAll(writer, oneFrame);
      await writer.closeWrite();
    })();
    // Wait until the sender stalls: the server stopped reading.
    let stalled = -1;
    for (let last = -1; stalled < 0;) {
      await sleep(500);
      if (sent === last) stalled = sent;
      last = sent;
      assert.ok(sent < TOTAL, "the server read everything: no backpressure");
    }
    const held = await vmRssKiB(server.process.pid);
    // Another client, on another file, is served while this file is stuck.
    const other = `${server.dir}/other.log`;
    const started = performance.now();
    {
      await using file = await ProxyFile.open(other, { socketPath: server.socketPath });
      file.write("served\n");
      await file.flush();
    }
    const otherMs = performance.now() - started;
    assert.equal(await Deno.readTextFile(other), "served\n");
    // Now drain the pty: everything arrives, in order.
    await childIn.write(encoder.encode("go\n"));
    let received = 0;
    let mismatches = 0;
    let offset = 0; // within the payload
    for (;;) {
      const { value, done } = await childOut.read();
      if (done) break; // python3 copied the expected count (or the pty ended)
      for (let k = 0; k < value.length; k++) {
        if (value[k] !== payload[offset]) mismatches++;
        offset = (offset + 1) % payload.length;
      }
      received += value.length;
    }
    await sending;
    const messages = await readMessages(conn);
    assert.deepEqual(messages.slice(-2), [`ACK ${TOTAL * payload.length}`, "BYE"]);
    assert.equal(received, TOTAL * payload.length);
    assert.equal(mismatches, 0);
    assert.equal((await child.status).code, 0);
    const grewMiB = (held - baseline) / 1024;
    console.log(
      `stalled file: the sender stopped after ${stalled} MiB; server VmRSS ` +
        `${(baseline / 1024).toFixed(1)} -> ${(held / 1024).toFixed(1)} MiB ` +
        `(+${grewMiB.toFixed(1)}); another file served in ${otherMs.toFixed(0)} ms; ` +
        `${TOTAL} MiB arrived whole once read`,
    );
    assert.ok(stalled <= 64 + 16, `the server took ${stalled} MiB before stopping`);
    assert.ok(grewMiB < 64 + 96, `the server grew by ${grewMiB} MiB`);
  } finally {
    conn?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await childIn.close().catch(() => {});
    await childOut.cancel().catch(() => {});
    await child.status;
  }
});

Deno.test("reliability: 1,000 idle connections are held in bounded memory; a new client is served and every idle one still works", async () => {
  await using dir = await tempDir("offlog_idle_");
  await using server = await startServerWithLimit(dir.path, 4096);
  const baseline = await vmRssKiB(server.process.pid);
  const COUNT = 1000;
  const idle = spawnLimited(4096, [
    "run",
    "-q",
    ...socketOnly(server.socketPath),
    IDLE,
    server.socketPath,
    dir.path,
    String(COUNT),
  ]);
  const stdin = idle.process.stdin.getWriter();
  try {
    await waitUntil(
      () => idle.output.stdout().includes(`held ${COUNT}`),
      `${COUNT} connections held: ${idle.output.stderr()}`,
      30_000,
    );
    await sleep(200);
    const held = await vmRssKiB(server.process.pid);
    const started = performance.now();
    {
      await using file = await ProxyFile.open(`${dir.path}/new.log`, {
        socketPath: server.socketPath,
      });
      file.write("served\n");
      await file.flush();
    }
    const newMs = performance.now() - started;
    await stdin.write(encoder.encode("go\n"));
    await waitUntil(
      () => idle.output.stdout().includes("done"),
      "every idle client done",
    );
    const lines = new Set<string>();
    for (const k of range(10)) {
      for (
        const line of (await Deno.readTextFile(`${dir.path}/idle${k}.log`)).split("\n")
      ) {
        if (line !== "") lines.add(`${k} ${line}`);
      }
    }
    assert.equal(lines.size, COUNT);
    for (const i of range(COUNT)) {
      assert.ok(lines.has(`${i % 10} idle ${i}`), `line ${i}`);
    }
    const perConn = (held - baseline) / COUNT;
    console.log(
      `${COUNT} idle connections (half offlog/1, half 0.x): server VmRSS ` +
        `${(baseline / 1024).toFixed(1)} -> ${(held / 1024).toFixed(1)} MiB ` +
        `(${perConn.toFixed(1)} KiB each); a new client served in ${newMs.toFixed(0)} ms`,
    );
    assert.ok(perConn < 64, `${perConn} KiB per idle connection`);
  } finally {
    await stdin.close().catch(() => {});
    try {
      idle.process.kill("SIGKILL");
    } catch {
      // exited already
    }
    await idle.process.status;
    await idle.output.done;
  }
});

Deno.test("reliability: clients holding unfinished 16 MiB frames: the server holds each (no global bound), serves others, and writes none of them", async () => {
  await using server = await startServer();
  const baseline = await vmRssKiB(server.process.pid);
  const CONNS = 4;
  const conns: Deno.UnixConn[] = [];
  try {
    const chunk = new Uint8Array(MiB).fill(0x68); // "h"
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 16 * MiB);
    for (let c = 0; c < CONNS; c++) {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      conns.push(conn);
      await writeAll(conn, encoder.encode(`offlog/1\0${server.dir}/held${c}.log\0`));
      await writeAll(conn, header);
      for (let k = 0; k < 15; k++) await writeAll(conn, chunk);
    }
    await sleep(300);
    const held = await vmRssKiB(server.process.pid);
    {
      await using file = await ProxyFile.open(`${server.dir}/other.log`, {
        socketPath: server.socketPath,
      });
      file.write("served\n");
      await file.flush();
    }
    const grewMiB = (held - baseline) / 1024;
    console.log(
      `${CONNS} clients holding 15 MiB of an unfinished frame each: server VmRSS ` +
        `+${grewMiB.toFixed(1)} MiB (${(grewMiB / CONNS).toFixed(1)} MiB each)`,
    );
    // Each connection holds what it sent of its frame, up to MAX_RECORD_BYTES.
    assert.ok(grewMiB < CONNS * 32, `grew by ${grewMiB} MiB`);
  } finally {
    for (const conn of conns) conn.close();
  }
  for (let c = 0; c < CONNS; c++) {
    await server.waitFor(`Closed ${server.dir}/held${c}.log`);
    assert.equal((await Deno.stat(`${server.dir}/held${c}.log`)).size, 0);
  }
});
