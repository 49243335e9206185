// Reliability under load: many clients of both protocols on one file, and the server
// stopped (SIGTERM, SIGKILL, a restart) while 16 clients stream. See RELIABILITY.md.

import assert from "node:assert/strict";
import { startServer } from "../_server.ts";
import { readMessages, writeAll } from "../_raw.ts";
import {
  checkRecords,
  confirmedCounts,
  cutRecord,
  range,
  rawLine,
  record,
  sleep,
  spawnWriter,
} from "../fixtures/reliability_lib.ts";

const encoder = new TextEncoder();

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 0.x client as the Python one: path, NUL, then `lines` in pieces cut at random
 * points (mid-line, mid-character), with pauses; half-close; expects OK and BYE.
 */
async function rawClient(
  socketPath: string,
  path: string,
  r: number,
  lines: number,
): Promise<void> {
  const next = random(1000 + r);
  const bytes = encoder.encode(range(lines).map((j) => rawLine(r, j)).join(""));
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await writeAll(conn, encoder.encode(`${path}\0`));
    for (let offset = 0; offset < bytes.length;) {
      const size = 1 + Math.floor(next() * 3000);
      await writeAll(conn, bytes.subarray(offset, offset + size));
      offset += size;
      if (next() < 0.3) await sleep(1);
    }
    await conn.closeWrite();
    assert.deepEqual(await readMessages(conn), ["OK", "BYE"], `raw client ${r}`);
  } finally {
    conn.close();
  }
}

Deno.test("reliability: 8 client processes and 4 raw 0.x clients on one file: every record and line whole, each client's in order", async () => {
  await using server = await startServer();
  const path = `${server.dir}/shared.log`;
  const RECORDS = 600;
  const LINES = 3000;
  const writers = range(8).map((c) =>
    spawnWriter(server.socketPath, {
      path,
      clients: [c],
      count: RECORDS,
      burst: 10,
      pauseMs: 2,
      flush: false,
    })
  );
  // Start the raw clients once the writers are connected, so that all write at once.
  await Promise.all(writers.map((w, c) => w.waitFor(`open ${c}`)));
  await Promise.all(range(4).map((r) => rawClient(server.socketPath, path, r, LINES)));
  for (const writer of writers) {
    const result = await writer.exited();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^done$/m);
  }
  await server.waitFor(`Closed ${path}`);
  const text = await Deno.readTextFile(path);
  const census = checkRecords(text);
  assert.deepEqual(census.torn, []);
  for (const c of range(8)) assert.deepEqual(census.records.get(c), range(RECORDS));
  for (const r of range(4)) assert.deepEqual(census.lines.get(r), range(LINES));
  // Nothing else in the file: its size is exactly what was written.
  let expected = 0;
  for (const c of range(8)) {
    for (const i of range(RECORDS)) expected += encoder.encode(record(c, i)).length;
  }
  for (const r of range(4)) {
    for (const j of range(LINES)) expected += rawLine(r, j).length;
  }
  assert.equal(encoder.encode(text).length, expected);
  // The writers did write at once: the file goes back and forth between them.
  assert.ok(census.switches > 50, `only ${census.switches} switches between writers`);
  console.log(
    `checked ${8 * RECORDS} records (${(expected / 1e6).toFixed(1)} MB) and ` +
      `${4 * LINES} raw lines, ${census.switches} switches between writers`,
  );
});

/** Runs 16 streaming clients, 4 processes of 4, on `path`. */
function streamers(socketPath: string, path: string, settings: Record<string, unknown>) {
  return range(4).map((p) =>
    spawnWriter(socketPath, {
      path,
      clients: range(4).map((k) => p * 4 + k),
      burst: 40,
      pauseMs: 2,
      ...settings,
    })
  );
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test(
    `reliability: server ${signal}ed while 16 clients stream: every flush-confirmed record kept${
      signal === "SIGTERM" ? ", none torn" : ""
    }`,
    async () => {
      await using server = await startServer();
      const path = `${server.dir}/${signal}.log`;
      const children = streamers(server.socketPath, path, {});
      await Promise.all(
        children.map((child, p) => child.waitFor(`confirmed ${p * 4 + 3} `)),
      );
      await sleep(300);
      assert.equal((await server.stop(signal)).code, signal === "SIGTERM" ? 0 : 137);
      let output = "";
      for (const child of children) {
        const result = await child.exited();
        assert.equal(result.code, 0, result.stderr);
        output += result.stdout;
      }
      // Every client was told: the server's own message, or how much was not confirmed.
      for (const c of range(16)) {
        const told = signal === "SIGTERM"
          ? `OfflogServerError: offlog server exited`
          : `OfflogConnectionError: Lost the connection to the offlog server at "${server.socketPath}" for "${path}": \\d+ bytes not confirmed written`;
        assert.match(output, new RegExp(`^error ${c} ${told}$`, "m"));
      }
      const text = await Deno.readTextFile(path);
      const census = checkRecords(text);
      const confirmed = confirmedCounts(output);
      // SIGTERM: the server writes every whole frame it read. A SIGKILL can stop the
      // kernel in the middle of the server's last file write: then the file ends in the
      // beginning of a record that no flush() had confirmed.
      if (signal === "SIGTERM") assert.deepEqual(census.torn, []);
      else {
        assert.ok(census.torn.length <= 1, census.torn.join("\n"));
        for (const { offset, text: fragment } of census.fragments) {
          const cut = cutRecord(fragment);
          assert.ok(cut, `not a record cut short: ${census.torn[0]}`);
          assert.equal(offset + fragment.length, text.length, "torn, not at the end");
          assert.ok(cut.i >= (confirmed.get(cut.c) ?? 0), "a confirmed record is torn");
          assert.equal(census.records.get(cut.c)?.length ?? 0, cut.i, "the next record");
          console.log(
            `SIGKILL cut record ${cut.c}/${cut.i} short at the end of the file`,
          );
        }
      }
      let records = 0;
      for (const c of range(16)) {
        const got = census.records.get(c) ?? [];
        // In order, no gap, no duplicate; at least what flush() confirmed.
        assert.deepEqual(got, range(got.length), `client ${c}`);
        assert.ok(
          got.length >= (confirmed.get(c) ?? 0),
          `client ${c} lost confirmed records`,
        );
        assert.ok((confirmed.get(c) ?? 0) > 0, `client ${c} streamed`);
        records += got.length;
      }
      console.log(
        `${signal}: ${records} records from 16 clients checked, ${census.torn.length} torn`,
      );
    },
  );
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test(
    `reliability: server ${signal}ed and restarted while 16 reconnecting clients stream: ${
      signal === "SIGTERM" ? "nothing lost or duplicated" : "nothing confirmed lost"
    }`,
    async () => {
      const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "offlog_rel_" }));
      try {
        const path = `${dir}/restart.log`;
        const COUNT = 4000;
        const first = await startServer({ dir });
        const children = streamers(first.socketPath, path, {
          count: COUNT,
          reconnect: true,
          pauseMs: 5,
        });
        await Promise.all(
          children.map((child, p) => child.waitFor(`confirmed ${p * 4 + 3} `)),
        );
        await sleep(200);
        const status = await first.stop(signal);
        assert.equal(status.code, signal === "SIGTERM" ? 0 : 137);
        const atStop = confirmedCounts(children.map((child) => child.stdout()).join(""));
        await sleep(150); // the clients keep writing into their queues
        await using second = await startServer({ dir });
        let output = "";
        for (const child of children) {
          const result = await child.exited(60_000);
          assert.equal(result.code, 0, result.stderr);
          output += result.stdout;
        }
        assert.doesNotMatch(output, /^(error|close-error) /m);
        await second.waitFor(`Closed ${path}`);
        await first[Symbol.asyncDispose]();
        const census = checkRecords(await Deno.readTextFile(path));
        let duplicates = 0;
        for (const c of range(16)) {
          const got = census.records.get(c) ?? [];
          // Some records were still queued when the server went away.
          assert.ok((atStop.get(c) ?? 0) < COUNT, `client ${c} finished before the stop`);
          if (signal === "SIGTERM") {
            assert.deepEqual(got, range(COUNT), `client ${c}`);
            continue;
          }
          // After a kill -9, frames written but not acknowledged are sent again: each
          // record is there at least once; a repeat only goes back to resend.
          assert.deepEqual([...new Set(got)].sort((a, b) => a - b), range(COUNT));
          duplicates += got.length - COUNT;
        }
        if (signal === "SIGTERM") assert.deepEqual(census.torn, []);
        else {
          // A kill -9 can stop the server's last file write part-way: the beginning of
          // one record, which the client then sent again whole.
          assert.ok(census.torn.length <= 1, census.torn.join("\n"));
          for (const { text: fragment } of census.fragments) {
            assert.ok(cutRecord(fragment), `not a record cut short: ${census.torn[0]}`);
          }
        }
        console.log(
          `${signal} and restart: ${
            16 * COUNT
          } records checked; ${duplicates} sent twice; ` +
            `${census.torn.length} records cut short`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

Deno.test("reliability: server SIGTERMed while raw 0.x clients are in the middle of lines: every line written is whole", async () => {
  await using server = await startServer();
  const path = `${server.dir}/cut.log`;
  // Each line goes in two pieces with a pause between, so that when the server gives
  // up on the clients (its 2 s grace at shutdown) each is in the middle of a line.
  const lines = [0, 0, 0];
  const clients = range(3).map(async (r) => {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await writeAll(conn, encoder.encode(`${path}\0`));
      for (let j = 0;; j++) {
        const line = rawLine(r, j);
        await writeAll(conn, encoder.encode(line.slice(0, 7)));
        await sleep(1);
        await writeAll(conn, encoder.encode(line.slice(7)));
        lines[r] = j + 1;
      }
    } catch (error) {
      // The server closed the connection at the end of its grace period.
      if (
        !(error instanceof Deno.errors.BrokenPipe ||
          error instanceof Deno.errors.ConnectionReset)
      ) throw error;
    } finally {
      conn.close();
    }
  });
  await sleep(200);
  const sent = [...lines];
  assert.equal((await server.stop("SIGTERM")).code, 0);
  await Promise.all(clients);
  const census = checkRecords(await Deno.readTextFile(path));
  for (const r of range(3)) {
    const got = census.lines.get(r) ?? [];
    assert.deepEqual(got, range(got.length), `raw client ${r} in order`);
    // Everything sent before the SIGTERM is there (what is still in the socket when
    // the grace period ends is not read: the client is cut off, as by 0.x servers).
    assert.ok(got.length >= sent[r]!, `raw client ${r}: ${got.length} < ${sent[r]} sent`);
  }
  // A client cut off in the middle of a line has that part written, ended with a
  // newline, so nothing read is lost and no line runs on into another.
  assert.ok(census.torn.length <= 3, `${census.torn.length} cut lines`);
  for (const cut of census.torn) assert.match(cut, /bytes: "RAW \d [^"]*\\n"$/);
  const output = server.stdout() + server.stderr();
  assert.equal(
    output.split("cut off at shutdown in the middle of a line").length - 1,
    census.torn.length,
  );
});
