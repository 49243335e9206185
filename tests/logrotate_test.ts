// Debian's logrotate in `create` mode with a `postrotate` that sends SIGHUP to the
// server, run again and again while clients write: every record is found once, whole,
// across the current and the rotated files.

import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer, tempDir, waitUntil } from "./_server.ts";
import { findTool, ignoreWithout, requireTool } from "./_tools.ts";

const LOGROTATE = findTool("logrotate");
const ignore = ignoreWithout(LOGROTATE, "logrotate", "logrotate_test.ts");

const WRITERS = 3;
const ROTATIONS = 5;
const RECORD = /^writer (\d+) record (\d+) (x*)$/;

/** Writes numbered records in small batches until `stop` is set; returns how many. */
async function writeUntil(
  file: ProxyFile,
  id: number,
  stop: { stopped: boolean },
): Promise<number> {
  let n = 0;
  while (!stop.stopped) {
    for (let k = 0; k < 50; k++, n++) {
      file.write(`writer ${id} record ${n} ${"x".repeat(n % 300)}\n`);
    }
    await file.flush();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return n;
}

async function size(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

Deno.test({
  name:
    "logrotate: five rotations in create mode with a SIGHUP postrotate lose no record",
  ignore,
  async fn() {
    const logrotate = requireTool(LOGROTATE, "logrotate");
    await using server = await startServer();
    const logDir = `${server.dir}/logs`;
    await Deno.mkdir(logDir, { mode: 0o755 });
    const path = `${logDir}/app.log`;
    const config = `${server.dir}/logrotate.conf`;
    await Deno.writeTextFile(
      config,
      `${logDir}/*.log {
  create 0640
  rotate 10
  missingok
  nocompress
  sharedscripts
  postrotate
    kill -HUP ${server.process.pid}
  endscript
}
`,
    );
    const files = await Promise.all(
      Array.from(
        { length: WRITERS },
        () => ProxyFile.open(path, { socketPath: server.socketPath }),
      ),
    );
    const stop = { stopped: false };
    const writing = files.map((file, id) => writeUntil(file, id, stop));
    let totals: number[];
    try {
      for (let rotation = 1; rotation <= ROTATIONS; rotation++) {
        // Rotate a file that clients are writing to.
        await waitUntil(async () => await size(path) > 20_000, `app.log grows`);
        const result = await new Deno.Command(logrotate, {
          args: ["-f", "-s", `${server.dir}/logrotate.state`, config],
          stdin: "null",
        }).output();
        const stderr = new TextDecoder().decode(result.stderr);
        assert.equal(result.code, 0, `logrotate: ${stderr}`);
        assert.ok((await Deno.stat(`${path}.${1}`)).size > 0, "app.log.1 has records");
        // The server reopened app.log on SIGHUP.
        await waitUntil(
          () => server.stdout().split("Reopened ").length - 1 >= rotation,
          `the server reopened app.log ${rotation} times`,
        );
      }
      await waitUntil(async () => await size(path) > 20_000, `app.log grows`);
    } finally {
      stop.stopped = true;
      totals = await Promise.all(writing);
      await Promise.all(files.map((file) => file.close()));
    }

    const seen = totals.map((total) => new Uint8Array(total));
    const names = [
      path,
      ...Array.from({ length: ROTATIONS }, (_, i) => `${path}.${i + 1}`),
    ];
    for (const name of names) {
      const text = await Deno.readTextFile(name);
      assert.ok(text.endsWith("\n"), `${name} ends with a whole record`);
      const lines = text.slice(0, -1).split("\n");
      for (const line of lines) {
        const match = RECORD.exec(line);
        const id = Number(match?.[1]);
        const n = Number(match?.[2]);
        if (match === null || match[3]!.length !== n % 300 || !(n < totals[id]!)) {
          assert.fail(`${name}: a torn or unknown record ${JSON.stringify(line)}`);
        }
        assert.equal(seen[id]![n], 0, `writer ${id} record ${n} is found twice`);
        seen[id]![n] = 1;
      }
    }
    seen.forEach((records, id) => {
      const missing = records.indexOf(0);
      assert.equal(missing, -1, `writer ${id} record ${missing} is missing`);
    });
    const rest = [...Deno.readDirSync(logDir)].map((entry) => entry.name).sort();
    assert.deepEqual(rest, names.map((name) => name.slice(logDir.length + 1)).sort());
  },
});

Deno.test({
  name:
    "logrotate: deploy/logrotate.conf parses, with this machine's user and a temp dir",
  ignore,
  async fn() {
    const logrotate = requireTool(LOGROTATE, "logrotate");
    await using dir = await tempDir();
    const deployed = await Deno.readTextFile(
      new URL("../deploy/logrotate.conf", import.meta.url),
    );
    assert.match(deployed, /^\s*create 0644 offlog offlog$/m);
    assert.doesNotMatch(deployed, /^\s*copytruncate/m);
    // The service's user does not exist here: root stands in for it.
    const config = deployed.replaceAll("/var/log/app", dir.path)
      .replace("create 0644 offlog offlog", "create 0644 root root");
    await Deno.writeTextFile(`${dir.path}/logrotate.conf`, config);
    await Deno.writeTextFile(`${dir.path}/app.log`, "a record\n");
    // -d: a dry run that prints what it would do.
    const result = await new Deno.Command(logrotate, {
      args: ["-d", "-f", "-s", `${dir.path}/state`, `${dir.path}/logrotate.conf`],
      stdin: "null",
    }).output();
    const output = new TextDecoder().decode(result.stderr) +
      new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 0, output);
    assert.doesNotMatch(output, /^error:/m);
    assert.match(
      output,
      new RegExp(`renaming ${dir.path}/app\\.log to ${dir.path}/app\\.log\\.1`),
    );
    assert.match(output, /running postrotate script/);
  },
});
