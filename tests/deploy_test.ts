// Deployment: --socket-mode, a client with socket-only permissions, the systemd units
// under deploy/ run as written, deno task bundle and deno task compile.

import assert from "node:assert/strict";
import { compileArgs, localBaseBinary } from "../deploy/compile.ts";
import {
  deno,
  type Proc,
  ROOT,
  SERVER,
  socketOnlyClient,
  spawn,
  tempDir,
} from "./_deploy.ts";

/** Runs `command` with `args` under `umask`, through sh. */
function spawnWithUmask(umask: string, command: string, args: string[], env = {}): Proc {
  return spawn("sh", ["-c", `umask ${umask} && exec "$@"`, "sh", command, ...args], {
    env,
  });
}

/** The README's scoped flags for a server on `socket` serving files under `files`. */
function scopedFlags(socket: string, files: string): string[] {
  return [
    "--no-prompt",
    `--allow-read=${files},${socket},${socket}.tmp`,
    `--allow-write=${files},${socket},${socket}.tmp`,
    `--allow-net=unix:${socket},unix:${socket}.tmp`,
  ];
}

async function names(dir: string): Promise<string[]> {
  const found = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

async function mode(path: string): Promise<number> {
  return (await Deno.lstat(path)).mode! & 0o777;
}

/** Binds a stand-in for systemd's notification socket in a child process. */
async function notifyReceiver(path: string): Promise<Proc> {
  const proc = spawn(Deno.execPath(), [
    "run",
    "-q",
    "--unstable-net",
    `--allow-read=${path}`,
    `--allow-write=${path}`,
    `--allow-net=unix:${path}`,
    `${ROOT}/tests/fixtures/notify_receiver.ts`,
    path,
  ]);
  await proc.waitFor("bound");
  return proc;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("--socket-mode 0660 gives the socket file exactly that mode and leaves no temporary socket", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawnWithUmask("022", Deno.execPath(), [
    "run",
    "-q",
    ...scopedFlags(socket, tmp.path),
    SERVER,
    "-s",
    socket,
    "--socket-mode",
    "0660",
  ]);
  await server.waitFor("Listening on socket");
  assert.equal(await mode(socket), 0o660);
  assert.deepEqual(await names(tmp.path), ["offlog.sock"]);
  const lines = await socketOnlyClient(socket, [`${tmp.path}/a.log`]);
  assert.deepEqual(lines, [`OK ${tmp.path}/a.log`]);
  assert.equal((await server.stop()).code, 0);
  assert.deepEqual(await names(tmp.path), ["a.log"]);
});

Deno.test("--socket-mode refuses to start when the umask would leave the socket more open for a moment", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawnWithUmask("000", Deno.execPath(), [
    "run",
    "-q",
    ...scopedFlags(socket, tmp.path),
    SERVER,
    "-s",
    socket,
    "--socket-mode",
    "0600",
  ]);
  assert.equal((await server.exited()).code, 1);
  assert.match(
    server.stderr(),
    /Cannot create the socket with mode 0600: the umask made it 0777/,
  );
  assert.deepEqual(
    await names(tmp.path),
    [],
    "neither the socket nor its temporary name",
  );
});

Deno.test("--socket-mode replaces a stale socket file and leaves a live server's socket alone", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  const args = [
    "run",
    "-q",
    ...scopedFlags(socket, tmp.path),
    SERVER,
    "-s",
    socket,
    "--socket-mode",
    "0600",
  ];
  await using dead = spawn(Deno.execPath(), args);
  await dead.waitFor("Listening on socket");
  await dead.stop("SIGKILL"); // leaves its socket file behind
  assert.ok((await Deno.lstat(socket)).isSocket);

  await using server = spawn(Deno.execPath(), args);
  await server.waitFor("Listening on socket");
  assert.equal(await mode(socket), 0o600);

  await using second = spawn(Deno.execPath(), args);
  assert.equal((await second.exited()).code, 1);
  assert.ok(
    second.stderr().includes(`Another offlog server is listening on "${socket}"`),
  );
  assert.deepEqual(await names(tmp.path), ["offlog.sock"]);
  assert.equal(await mode(socket), 0o600);
  assert.equal((await server.stop()).code, 0);
  assert.ok(server.stderr().includes(`Replacing stale socket file ${socket}`));
});

Deno.test("--socket-mode with a value that is not an octal mode prints usage and exits 2", async () => {
  for (const bad of ["660x", "999", "01777", "rw-rw----"]) {
    const result = await deno(["run", "-q", SERVER, "--socket-mode", bad]);
    assert.equal(result.code, 2, bad);
    assert.ok(result.stderr.startsWith("usage: offlog"), result.stderr);
    assert.ok(result.stderr.includes(`Invalid --socket-mode "${bad}"`), result.stderr);
  }
});

Deno.test("without --socket-mode the socket file gets the umask's mode", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawnWithUmask("027", Deno.execPath(), [
    "run",
    "-q",
    ...scopedFlags(socket, tmp.path),
    SERVER,
    "-s",
    socket,
  ]);
  await server.waitFor("Listening on socket");
  assert.equal(await mode(socket), 0o750);
  assert.equal((await server.stop()).code, 0);
});

Deno.test("ProxyFile runs with --allow-read, --allow-write and --allow-net on the socket only", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    ...scopedFlags(socket, tmp.path),
    SERVER,
    "-s",
    socket,
  ]);
  await server.waitFor("Listening on socket");
  const path = `${tmp.path}/app.log`;
  assert.deepEqual(await socketOnlyClient(socket, [path]), [`OK ${path}`]);
  assert.equal(await Deno.readTextFile(path), `written to ${path}\n`);
  assert.equal((await server.stop()).code, 0);
});

/** The ExecStart= command of a unit file, its continuation lines joined. */
async function execStart(unit: string): Promise<string[]> {
  const text = (await Deno.readTextFile(`${ROOT}/deploy/${unit}`)).replaceAll(
    "\\\n",
    " ",
  );
  const line = text.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, `${unit} has ExecStart=`);
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

Deno.test("deploy/offlog.service and deploy/app.service run as written: READY=1, socket 0660, files under --root only", async () => {
  await using tmp = await tempDir();
  const run = `${tmp.path}/run/offlog`; // RuntimeDirectory=offlog
  const logs = `${tmp.path}/log/app`; // LogsDirectory=app
  const notify = `${tmp.path}/notify`;
  await Deno.mkdir(run, { recursive: true });
  await Deno.mkdir(logs, { recursive: true });
  const local = (word: string) =>
    word.replaceAll("/usr/bin/deno", Deno.execPath())
      .replaceAll("/opt/offlog/server.ts", SERVER)
      .replaceAll("/run/systemd/notify", notify)
      .replaceAll("/run/offlog", run)
      .replaceAll("/var/log/app", logs);
  const unit = await Deno.readTextFile(`${ROOT}/deploy/offlog.service`);
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^RuntimeDirectory=offlog$/m);
  const umask = /^UMask=(\d+)$/m.exec(unit)?.[1];
  assert.ok(umask, "offlog.service sets UMask=");
  const [command, ...args] = (await execStart("offlog.service")).map(local);

  await using systemd = await notifyReceiver(notify);
  await using server = spawnWithUmask(umask, command!, args, { NOTIFY_SOCKET: notify });
  await waitFor(() => systemd.stdout().includes("READY=1"), "READY=1");
  // The server logs this once the datagram's temporary socket is gone again.
  await waitFor(() => server.stdout().includes("Notified systemd"), "the server's log");
  const socket = `${run}/offlog.sock`;
  assert.equal(await mode(socket), 0o660);
  assert.deepEqual(await names(run), ["offlog.sock"]);

  // The dependent unit's client, with its permissions as written.
  const app = await execStart("app.service");
  const clientFlags = app.filter((word) => word.startsWith("--")).map(local);
  const { code, stdout, stderr } = await deno([
    "run",
    "-q",
    ...clientFlags,
    `${ROOT}/tests/fixtures/socket_client.ts`,
    socket,
    `${logs}/app.log`,
    `${tmp.path}/elsewhere.log`,
  ]);
  assert.equal(code, 0, stderr);
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines[0], `OK ${logs}/app.log`);
  assert.match(
    lines[1]!,
    /^PermissionDenied .*'.*elsewhere\.log' is outside the server's/,
  );
  assert.equal(
    await Deno.readTextFile(`${logs}/app.log`),
    `written to ${logs}/app.log\n`,
  );

  assert.equal((await server.stop()).code, 0, server.stderr());
  await waitFor(() => systemd.stdout().includes("STOPPING=1"), "STOPPING=1");
  await systemd.stop();
  assert.deepEqual(await names(run), []);
});

const systemdAnalyze = await (async () => {
  try {
    const { success } = await new Deno.Command("systemd-analyze", { args: ["--version"] })
      .output();
    return success;
  } catch {
    return false;
  }
})();
if (!systemdAnalyze) {
  console.log(
    "deploy_test: systemd-analyze is not installed: the unit files are not verified",
  );
}

Deno.test({
  name: "deploy/*.service pass systemd-analyze verify (skipped without systemd-analyze)",
  ignore: !systemdAnalyze,
  async fn() {
    await using tmp = await tempDir();
    const paths = [];
    for (const unit of ["offlog.service", "app.service"]) {
      const text = await Deno.readTextFile(`${ROOT}/deploy/${unit}`);
      // verify wants the executable to exist: point it at this deno.
      await Deno.writeTextFile(
        `${tmp.path}/${unit}`,
        text.replaceAll("/usr/bin/deno", Deno.execPath()),
      );
      paths.push(`${tmp.path}/${unit}`);
    }
    const result = await new Deno.Command("systemd-analyze", {
      args: ["verify", ...paths],
    })
      .output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.ok(result.success, stderr);
    assert.equal(stderr.trim(), "", "no warnings");
  },
});

/** The bundle task's arguments after `deno`, writing to `output`. */
async function bundleArgs(output: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const words = (config.tasks.bundle as string).split(/\s+/);
  assert.equal(words[0], "deno");
  assert.ok(words.includes("dist/offlog-server.js"));
  return words.slice(1).map((word) => word === "dist/offlog-server.js" ? output : word);
}

Deno.test("deno task bundle writes one file that deno run serves with the same flags", async () => {
  await using tmp = await tempDir();
  const bundle = `${tmp.path}/offlog-server.js`;
  const built = await deno(await bundleArgs(bundle), { cwd: ROOT });
  assert.equal(built.code, 0, built.stderr);
  const version = await deno(["run", "-q", bundle, "--version"]);
  assert.match(version.stdout, /^offlog \d+\.\d+\.\d+/);

  const files = `${tmp.path}/files`;
  await Deno.mkdir(files);
  await Deno.symlink(`${tmp.path}/secret.log`, `${files}/escape.log`);
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    ...scopedFlags(socket, files),
    bundle,
    "-s",
    socket,
    "--socket-mode",
    "0660",
  ]);
  await server.waitFor("Listening on socket");
  assert.equal(await mode(socket), 0o660);
  const lines = await socketOnlyClient(socket, [`${files}/a.log`, `${files}/escape.log`]);
  assert.equal(lines[0], `OK ${files}/a.log`);
  assert.match(lines[1]!, /^PermissionDenied .*outside the server's permission scope/);
  assert.equal((await server.stop()).code, 0);
  await assert.rejects(Deno.lstat(`${tmp.path}/secret.log`), Deno.errors.NotFound);
});

/** Splits compileArgs() into the permission flags and the arguments baked in. */
function bakedIn(args: string[]): { flags: string[]; argv: string[] } {
  const entry = args.indexOf(SERVER);
  assert.ok(entry > 0);
  const flags = args.slice(1, args.indexOf("--output"))
    .filter((flag) => flag !== "--exclude-unused-npm");
  return { flags, argv: args.slice(entry + 1) };
}

Deno.test("the permissions deno task compile bakes in let the server listen, notify and confine", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/run/offlog.sock`;
  const files = `${tmp.path}/files`;
  const notify = `${tmp.path}/notify.sock`;
  await Deno.mkdir(`${tmp.path}/run`);
  await Deno.mkdir(files);
  const { flags, argv } = bakedIn(
    compileArgs({ socket, roots: [files], notifySocket: notify }),
  );
  assert.deepEqual(argv, ["-s", socket, "--root", files]);

  await using systemd = await notifyReceiver(notify);
  await using server = spawnWithUmask("077", Deno.execPath(), [
    "run",
    "-q",
    ...flags,
    SERVER,
    ...argv,
    "--notify",
    "--socket-mode",
    "0660",
  ], { NOTIFY_SOCKET: notify });
  await waitFor(() => systemd.stdout().includes("READY=1"), "READY=1");
  assert.equal(await mode(socket), 0o660);
  const lines = await socketOnlyClient(socket, [`${files}/a.log`, `${tmp.path}/b.log`]);
  assert.equal(lines[0], `OK ${files}/a.log`);
  assert.match(lines[1]!, /^PermissionDenied /);
  assert.equal((await server.stop()).code, 0, server.stderr());
  await waitFor(() => systemd.stdout().includes("STOPPING=1"), "STOPPING=1");
  await systemd.stop();
});

const base = localBaseBinary();
if (base === null) {
  console.log(
    "deploy_test: skipping the compiled binary: deno compile needs Deno's runtime base " +
      "binary (denort), which cannot be downloaded here; set DENORT_BIN=/path/to/denort " +
      `(Deno ${Deno.version.deno}, ${Deno.build.target}) to build and run it`,
  );
}

Deno.test({
  name:
    "deno task compile builds an executable that serves with its baked-in permissions " +
    "(skipped without a denort base binary: set DENORT_BIN)",
  ignore: base === null,
  async fn() {
    await using tmp = await tempDir();
    const socket = `${tmp.path}/run/offlog.sock`;
    const files = `${tmp.path}/files`;
    const binary = `${tmp.path}/offlog-server`;
    await Deno.mkdir(`${tmp.path}/run`);
    await Deno.mkdir(files);
    const built = await deno(
      ["run", "--allow-env", "--allow-read", "--allow-run", `${ROOT}/deploy/compile.ts`],
      {
        cwd: ROOT,
        env: { OFFLOG_SOCKET: socket, OFFLOG_ROOTS: files, OFFLOG_OUTPUT: binary },
      },
    );
    assert.equal(built.code, 0, built.stderr);
    await using server = spawn(binary, []);
    await server.waitFor("Listening on socket");
    const lines = await socketOnlyClient(socket, [`${files}/a.log`, `${tmp.path}/b.log`]);
    assert.equal(lines[0], `OK ${files}/a.log`);
    assert.match(lines[1]!, /^PermissionDenied /);
    assert.equal((await server.stop()).code, 0, server.stderr());
  },
});
