// server/stats.ts and the operations around it: `server.ts --stats`, --metrics-file,
// --stats-interval, with the real server.
import assert from "node:assert/strict";
import { prometheusText, ServerStats, statsLine } from "../server/stats.ts";
import { ProxyFile } from "../mod.ts";
import { startServer, waitUntil } from "./_server.ts";
import { zeroXServer } from "./_fake_server.ts";
import type { StatsSnapshot } from "../server/stats.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

/** Runs `server.ts --stats` with only the socket's permissions. */
async function stats(socketPath: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--no-prompt",
      `--allow-read=${socketPath}`,
      `--allow-write=${socketPath}`,
      `--allow-net=unix:${socketPath}`,
      SERVER,
      "--stats",
      "-s",
      socketPath,
    ],
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("server.ts --stats prints one JSON object of the running server's figures, with socket permissions only", async () => {
  await using server = await startServer();
  const path = `${server.dir}/app.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("hello\n".repeat(10));
  await file.flush();
  // A refused client counts.
  await assert.rejects(ProxyFile.open(server.dir, { socketPath: server.socketPath }));
  const result = await stats(server.socketPath);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim().split("\n").length, 1, "one line");
  const snapshot = JSON.parse(result.stdout) as StatsSnapshot;
  assert.ok(snapshot.uptimeMs > 0);
  assert.equal(snapshot.clients, 1, "the ProxyFile; not the stats request itself");
  assert.equal(snapshot.connectionsTotal, 2, "the ProxyFile and the refused one");
  assert.ok(snapshot.refusedTotal >= 1);
  assert.deepEqual(snapshot.files, [{
    path,
    open: true,
    clients: 1,
    bytesWritten: 60,
    backlogBytes: 0,
    writeErrors: 0,
    reopens: 0,
    syncs: 0,
    rotations: 0,
    currentBytes: 60,
  }]);
});

Deno.test("bytesWritten counts a path since the server started, across a rotation", async () => {
  await using server = await startServer({ args: ["--rotate-check", "0"] });
  const path = `${server.dir}/rot.log`;
  await using file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("one\n");
  await file.flush();
  await Deno.rename(path, `${path}.1`);
  server.process.kill("SIGHUP");
  await server.waitFor("Reopened");
  file.write("two\n");
  await file.flush();
  const snapshot = JSON.parse((await stats(server.socketPath)).stdout) as StatsSnapshot;
  assert.equal(snapshot.files[0]!.bytesWritten, 8);
  assert.equal(snapshot.files[0]!.reopens, 1);
  assert.equal(snapshot.files[0]!.currentBytes, 4, "the new file's bytes");
  assert.equal(snapshot.files[0]!.rotations, 0, "logrotate's, not the server's");
});

Deno.test("server.ts --stats exits 1 with a clear message when no server answers, or a 0.x server refuses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const none = await stats(`${dir}/none.sock`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No offlog server answers on ".*none\.sock"/);
    await using _old = zeroXServer(`${dir}/old.sock`);
    const old = await stats(`${dir}/old.sock`);
    assert.equal(old.code, 1);
    assert.match(
      old.stderr,
      /does not answer stats requests \(an offlog 0\.x server\?\)/,
    );
    assert.match(old.stderr, /not an absolute path/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--metrics-file keeps the figures in the Prometheus text format, rewritten atomically", async () => {
  const dir = await Deno.makeTempDir();
  const metrics = `${dir}/offlog.prom`;
  try {
    await using real = await startServer({
      dir,
      args: ["--metrics-interval", "1", "--metrics-file", metrics],
    });
    const path = `${dir}/a "quoted"\nname.log`;
    await using file = await ProxyFile.open(path, { socketPath: real.socketPath });
    file.write("12345\n");
    await file.flush();
    await waitUntil(
      async () => {
        const text = await Deno.readTextFile(metrics).catch(() => "");
        return text.includes("offlog_file_bytes_written_total{");
      },
      "metrics with the file",
      5000,
    );
    const text = await Deno.readTextFile(metrics);
    assert.match(text, /^# TYPE offlog_connections_total counter$/m);
    assert.match(text, /^offlog_clients 1$/m);
    const escaped = `${dir}/a \\"quoted\\"\\nname.log`;
    assert.ok(
      text.includes(`offlog_file_bytes_written_total{path="${escaped}"} 6\n`),
      text,
    );
    for (const line of text.trimEnd().split("\n")) {
      assert.match(
        line,
        /^(# (HELP|TYPE) offlog_\w+ .+|offlog_\w+(\{path=".*"\})? [0-9.]+)$/,
      );
    }
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.ok(!names.includes("offlog.prom.tmp"), "no temporary file left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--stats-interval writes a stats line to the server's log", async () => {
  await using server = await startServer({ args: ["--stats-interval", "1"] });
  await server.waitFor("Stats: clients=0 connections=0 refused=0 files=0", 5000);
});

Deno.test("ServerStats.snapshot(), statsLine() and prometheusText() report the same figures", () => {
  const stats = new ServerStats();
  stats.connected();
  stats.connected();
  stats.statsRequest();
  stats.refused();
  const snapshot = stats.snapshot(1, []);
  assert.equal(snapshot.connectionsTotal, 1, "a stats request is not a connection");
  assert.equal(
    statsLine(snapshot),
    "Stats: clients=1 connections=1 refused=1 files=0 written=0 backlog=0 errors=0",
  );
  assert.match(prometheusText(snapshot), /^offlog_refused_total 1$/m);
});

Deno.test("per-path totals stay after a file's last client leaves: --stats, the stats line and the metrics say it is closed, its bytes kept", async () => {
  const dir = await Deno.makeTempDir();
  const metrics = `${dir}/offlog.prom`;
  try {
    await using server = await startServer({
      dir,
      args: [
        "--stats-interval",
        "1",
        "--metrics-interval",
        "1",
        "--metrics-file",
        metrics,
      ],
    });
    const path = `${dir}/six.log`;
    const file = await ProxyFile.open(path, { socketPath: server.socketPath });
    file.write("12345\n");
    await file.close();
    await server.waitFor(`Closed ${path}`);
    const snapshot = JSON.parse((await stats(server.socketPath)).stdout) as StatsSnapshot;
    assert.deepEqual(snapshot.files, [{
      path,
      open: false,
      clients: 0,
      bytesWritten: 6,
      backlogBytes: 0,
      writeErrors: 0,
      reopens: 0,
      syncs: 0,
      rotations: 0,
      currentBytes: 0,
    }]);
    await waitUntil(
      () =>
        /Stats: clients=0 connections=1 refused=0 files=0 written=6 /.test(
          server.stdout(),
        ),
      "a stats line with the closed file's bytes",
      5000,
    );
    await waitUntil(
      async () => {
        const text = await Deno.readTextFile(metrics).catch(() => "");
        return text.includes(`offlog_file_open{path="${path}"} 0\n`) &&
          text.includes(`offlog_file_bytes_written_total{path="${path}"} 6\n`);
      },
      "metrics keeping the closed file's counter, saying it is closed",
      5000,
    );
    // Opened again, its counter goes on from where it was.
    await using again = await ProxyFile.open(path, { socketPath: server.socketPath });
    again.write("7\n");
    await again.flush();
    const later = JSON.parse((await stats(server.socketPath)).stdout) as StatsSnapshot;
    assert.equal(later.files[0]!.bytesWritten, 8);
    assert.equal(later.files[0]!.open, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
