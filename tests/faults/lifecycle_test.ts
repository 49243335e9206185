import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;
const MOD = new URL("../mod.ts", import.meta.url).href;
const STAMP = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (INFO|WARNING)\] /;

Deno.test("server logs each event in the seed's form, to stdout and to --logfile", async () => {
  const logDir = await Deno.makeTempDir();
  const logFile = `${logDir}/offlog.log`;
  try {
    await using server = await startServer({ args: ["-l", logFile] });
    const path = `${server.dir}/a.log`;
    const a = await ProxyFile.open(path, { socketPath: server.socketPath });
    const b = await ProxyFile.open(path, { socketPath: server.socketPath });
    a.write("a\n");
    b.write("b\n");
    await a.close();
    await b.close();
    await server.waitFor(`Closed ${path}`);
    const status = await server.stop("SIGTERM");
    assert.equal(status.code, 0);
    const lines = server.stdout().trimEnd().split("\n");
    for (const line of lines) assert.match(line, STAMP);
    const text = lines.map((line) => line.replace(STAMP, "")).join("\n");
    for (
      const expected of [
        "This is offlog server",
        `Listening on socket ${server.socketPath}`,
        "Client 0 connected",
        `Client 0 access confirmed for ${path}`,
        `New client 0 (total: 1) for ${path}`,
        `New client 1 (total: 2) for ${path}`,
        "Client 0 disconnected",
        `Client 0 done (remaining: 1) with ${path}`,
        `Client 1 done (remaining: 0) with ${path}`,
        `Closed ${path}`,
        "Shutting down",
        "Exiting",
      ]
    ) {
      assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
    }
    assert.equal(await Deno.readTextFile(logFile), server.stdout());
    assert.equal((await Deno.readTextFile(path)).split("\n").sort().join(""), "ab");
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("SIGTERM with data in flight: exit 0, socket removed, clients told, nothing sent lost", async () => {
  await using server = await startServer();
  const path = `${server.dir}/a.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  const line = (i: number) => `record ${i} ${"x".repeat(80)}\n`;
  let i = 0;
  for (; i < 50_000; i++) file.write(line(i));
  await file.flush();
  const confirmed = i;
  for (; i < 300_000; i++) file.write(line(i));
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  await assert.rejects(Deno.lstat(server.socketPath), Deno.errors.NotFound);
  let thrown: unknown;
  try {
    for (let k = 0; k < 100 && thrown === undefined; k++) {
      file.write("after\n");
      await new Promise((r) => setTimeout(r, 10));
    }
    await file.close();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof Error, "the client is told");
  assert.match(thrown.message, /offlog server exited/);
  await file.close().catch(() => {});
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "", "the file ends with a whole record");
  assert.ok(lines.length >= confirmed, `${lines.length} < ${confirmed} confirmed`);
  lines.forEach((text, k) => assert.equal(text + "\n", line(k)));
  assert.match(server.stdout(), /Exiting/);
});

Deno.test("a write error (/dev/full) reaches that file's client; other clients carry on", async () => {
  // Deno needs --allow-all to open a device file; the server, --allow-devices.
  await using server = await startServer({
    permissions: () => ["--allow-all"],
    args: ["--allow-devices"],
  });
  const full = await ProxyFile.open("/dev/full", { socketPath: server.socketPath });
  const fine = await ProxyFile.open(`${server.dir}/fine.log`, {
    socketPath: server.socketPath,
  });
  full.write("lost\n");
  fine.write("kept\n");
  await assert.rejects(full.flush(), /No space left on device/);
  assert.throws(() => full.write("more\n"), /No space left on device/);
  await full.close();
  fine.write("still\n");
  await fine.close();
  assert.equal(await Deno.readTextFile(`${server.dir}/fine.log`), "kept\nstill\n");
  await server.waitFor("write failed");
});

Deno.test("a program that ends without close() still gets every record into the file", async () => {
  await using server = await startServer();
  const path = `${server.dir}/ends.log`;
  const script = `${server.dir}/ends.ts`;
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const file = await ProxyFile.open(${JSON.stringify(path)}, { socketPath: ${
      JSON.stringify(server.socketPath)
    } });
for (let i = 0; i < 20000; i++) file.write("line " + i + "\\n");
`,
  );
  const started = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read=${server.socketPath}`,
      `--allow-write=${server.socketPath}`,
      `--allow-net=unix:${server.socketPath}`,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  assert.ok(performance.now() - started < 10_000, "exits promptly");
  await server.waitFor(`Closed ${path}`);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines.length, 20000);
  lines.forEach((text, i) => assert.equal(text, `line ${i}`));
});

Deno.test("server CLI: --help, --version, and bad arguments exit 2 with usage on stderr", async () => {
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "--allow-read", "--allow-write", SERVER, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(decode(help.stdout), /--socket-file SOCKET_FILE/);
  const version = await run("--version");
  assert.equal(version.code, 0);
  assert.match(decode(version.stdout), /^offlog \d+\.\d+\.\d+\n$/);
  const unknown = await run("--bogus");
  assert.equal(unknown.code, 2);
  assert.match(decode(unknown.stderr), /^usage: offlog/);
  const missing = await run("-s");
  assert.equal(missing.code, 2);
  assert.match(decode(missing.stderr), /^usage: offlog/);
});

Deno.test("ProxyFile.open() resolves a relative path against the working directory", async () => {
  await using server = await startServer();
  const script = `${server.dir}/relative.ts`;
  await Deno.mkdir(`${server.dir}/work`);
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
await using file = await ProxyFile.open("sub/../rel.log", { socketPath: Deno.args[0] });
console.log(file.path);
file.write("relative\\n");
`,
  );
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, server.socketPath],
    cwd: `${server.dir}/work`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  assert.equal(
    new TextDecoder().decode(result.stdout).trim(),
    `${server.dir}/work/rel.log`,
  );
  assert.equal(await Deno.readTextFile(`${server.dir}/work/rel.log`), "relative\n");
});
