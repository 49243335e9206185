import assert from "node:assert/strict";
import { OfflogConnectionError, ProxyFile, QueueFullError } from "../../mod.ts";
import { startServer } from "../_server.ts";

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes numbered lines every millisecond until stopped. */
function stream(file: ProxyFile, from: number): { stop(): number } {
  let i = from;
  const timer = setInterval(() => {
    for (let k = 0; k < 200; k++) file.write(`line ${i++}\n`);
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return i;
    },
  };
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test(`ProxyFile with reconnect survives a server ${signal} and restart`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/a.log`;
      const first = await startServer({ dir });
      const file = await ProxyFile.open(path, {
        socketPath: first.socketPath,
        reconnect: true,
      });
      for (let k = 0; k < 10_000; k++) file.write(`line ${k}\n`);
      await file.flush();
      const writer = stream(file, 10_000);
      // ... keep writing while the server goes away and comes back.
      await new Promise((r) => setTimeout(r, 50));
      const status = await first.stop(signal);
      assert.equal(status.code, signal === "SIGTERM" ? 0 : 137);
      await until(() => !file.connected, "the client to notice");
      await new Promise((r) => setTimeout(r, 100));
      await using second = await startServer({ dir });
      await until(() => file.connected, "the client to reconnect");
      await new Promise((r) => setTimeout(r, 50));
      const written = writer.stop();
      await file.flush();
      await file.close();
      await first[Symbol.asyncDispose]();
      await second.waitFor(`Closed ${path}`);
      const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
      const seen = new Set(lines);
      for (let k = 0; k < written; k++) {
        assert.ok(seen.has(`line ${k}`), `line ${k} lost`);
      }
      if (signal === "SIGTERM") {
        // A graceful restart loses and duplicates nothing, and keeps the order.
        assert.equal(lines.length, written);
        lines.forEach((text, k) => assert.equal(text, `line ${k}`));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("ProxyFile without reconnect throws from the next write() once the server is gone", async () => {
  const server = await startServer();
  try {
    const file = await ProxyFile.open(`${server.dir}/a.log`, {
      socketPath: server.socketPath,
    });
    file.write("one\n");
    await file.flush();
    await server.stop("SIGKILL");
    await until(() => {
      try {
        file.write("more\n");
        return false;
      } catch (error) {
        assert.ok(error instanceof OfflogConnectionError);
        return true;
      }
    }, "write() to throw");
    await file.close();
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("maxPendingBytes bounds the queue while the server is stopped, by each overflow policy", async () => {
  await using server = await startServer();
  const open = (name: string, overflow: "error" | "drop-newest" | "drop-oldest") =>
    ProxyFile.open(`${server.dir}/${name}.log`, {
      socketPath: server.socketPath,
      maxPendingBytes: 1000,
      overflow,
    });
  const newest = await open("newest", "drop-newest");
  const oldest = await open("oldest", "drop-oldest");
  const error = await open("error", "error");
  server.process.kill("SIGSTOP");
  try {
    // 100 records of 100 bytes, in one burst: the pump cannot send during it.
    const record = (i: number) => `${String(i).padStart(3, "0")} ${"z".repeat(95)}\n`;
    for (let i = 0; i < 100; i++) newest.write(record(i));
    for (let i = 0; i < 100; i++) oldest.write(record(i));
    let thrown = 0;
    for (let i = 0; i < 100; i++) {
      try {
        error.write(record(i));
      } catch (e) {
        assert.ok(e instanceof QueueFullError);
        thrown++;
      }
    }
    assert.equal(newest.droppedRecords, 90);
    assert.equal(oldest.droppedRecords, 90);
    assert.equal(thrown, 90);
    assert.ok(newest.pendingSize <= 1000 && oldest.pendingSize <= 1000);
  } finally {
    server.process.kill("SIGCONT");
  }
  for (const file of [newest, oldest, error]) await file.close();
  const read = async (name: string) =>
    (await Deno.readTextFile(`${server.dir}/${name}.log`)).trimEnd().split("\n").map((
      l,
    ) => Number(l.slice(0, 3)));
  const first10 = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(await read("newest"), first10);
  assert.deepEqual(await read("error"), first10);
  assert.deepEqual(await read("oldest"), first10.map((i) => i + 90));
});

Deno.test("write() never blocks while the server is stopped", async () => {
  await using server = await startServer();
  const file = await ProxyFile.open(`${server.dir}/a.log`, {
    socketPath: server.socketPath,
  });
  server.process.kill("SIGSTOP");
  let longest = 0;
  let lag = 0;
  try {
    const line = "w".repeat(99) + "\n";
    let last = performance.now();
    const lagTimer = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 5);
      last = now;
    }, 5);
    // 100 MB in bursts: far more than the socket buffers hold.
    for (let burst = 0; burst < 100; burst++) {
      for (let i = 0; i < 10_000; i++) {
        const started = performance.now();
        file.write(line);
        longest = Math.max(longest, performance.now() - started);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    clearInterval(lagTimer);
    assert.ok(file.pendingSize > 50_000_000, `queued ${file.pendingSize}`);
  } finally {
    server.process.kill("SIGCONT");
  }
  await file.close();
  // Correctness, not timing: the calls did return while nothing could drain.
  console.log(
    `longest write(): ${longest.toFixed(3)} ms; event-loop lag: ${lag.toFixed(1)} ms`,
  );
  const size = (await Deno.stat(`${server.dir}/a.log`)).size;
  assert.equal(size, 100 * 10_000 * 100);
});
