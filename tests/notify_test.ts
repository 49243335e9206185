// systemd readiness: --notify sends READY=1 to $NOTIFY_SOCKET once the socket listens
// and STOPPING=1 at shutdown. A child process binds the datagram socket that stands in
// for systemd's; the server runs with exactly the flags the README gives.

import assert from "node:assert/strict";
import { Notifier } from "../server/notify.ts";
import { type Proc, ROOT, SERVER, spawn, tempDir } from "./_deploy.ts";

/** Binds a datagram socket at `path` in a child process; its stdout has one JSON string per datagram. */
async function receiver(path: string): Promise<Proc> {
  const abstract = path.startsWith("@");
  const proc = spawn(Deno.execPath(), [
    "run",
    "-q",
    "--unstable-net",
    abstract ? "--allow-read" : `--allow-read=${path}`,
    abstract ? "--allow-write" : `--allow-write=${path}`,
    abstract ? "--allow-net" : `--allow-net=unix:${path}`,
    `${ROOT}/tests/fixtures/notify_receiver.ts`,
    path,
  ]);
  await proc.waitFor("bound");
  return proc;
}

function datagrams(proc: Proc): string[] {
  return proc.stdout().split("\n").slice(1).filter((line) => line !== "").map((line) =>
    JSON.parse(line) as string
  );
}

/** The README's flags for --notify, for a socket and a notification socket. */
function notifyFlags(socket: string, notify: string, files: string): string[] {
  return [
    "--no-prompt",
    "--unstable-net",
    `--allow-read=${files},${socket},${socket}.tmp`,
    `--allow-write=${files},${socket},${socket}.tmp,${notify}`,
    `--allow-net=unix:${socket},unix:${socket}.tmp,unix:${notify}`,
    "--allow-env=NOTIFY_SOCKET",
  ];
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("serve({ notify }) sends READY=1 once listening and STOPPING=1 on SIGTERM", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  const notify = `${tmp.path}/notify.sock`;
  await Deno.mkdir(`${tmp.path}/files`);
  await using systemd = await receiver(notify);
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    ...notifyFlags(socket, notify, `${tmp.path}/files`),
    SERVER,
    "-s",
    socket,
    "--notify",
  ], { env: { NOTIFY_SOCKET: notify } });

  await waitUntil(() => datagrams(systemd).length >= 1, "READY=1");
  // READY=1 arrives only once the socket listens.
  assert.ok((await Deno.lstat(socket)).isSocket);
  assert.deepEqual(datagrams(systemd), [`READY=1\nSTATUS=Listening on socket ${socket}`]);
  await server.waitFor("Notified systemd");
  assert.match(server.stdout(), /Notified systemd \(.*notify\.sock\): READY=1/);

  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0, server.stderr());
  await waitUntil(() => datagrams(systemd).length >= 2, "STOPPING=1");
  assert.deepEqual(datagrams(systemd)[1], "STOPPING=1\nSTATUS=Shutting down");
  await assert.rejects(Deno.lstat(`${socket}.tmp`), Deno.errors.NotFound);
  await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound);
  await systemd.stop();
});

Deno.test("serve({ notify }) without --unstable-net stops at start, naming the flag", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  const notify = `${tmp.path}/notify.sock`;
  const flags = notifyFlags(socket, notify, tmp.path).filter((f) =>
    f !== "--unstable-net"
  );
  await using server = spawn(
    Deno.execPath(),
    ["run", "-q", ...flags, SERVER, "-s", socket, "--notify"],
    { env: { NOTIFY_SOCKET: notify } },
  );
  assert.equal((await server.exited()).code, 1);
  assert.ok(
    server.stderr().includes("--notify needs Deno's --unstable-net"),
    server.stderr(),
  );
  await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound);
});

Deno.test("serve({ notify }) without net permission on the notification socket names the missing flag", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  const notify = `${tmp.path}/notify.sock`;
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    "--unstable-net",
    "--allow-env=NOTIFY_SOCKET",
    `--allow-read=${tmp.path}`,
    `--allow-write=${tmp.path}`,
    `--allow-net=unix:${socket}`,
    SERVER,
    "-s",
    socket,
    "--notify",
  ], { env: { NOTIFY_SOCKET: notify } });
  assert.equal((await server.exited()).code, 1);
  assert.ok(
    server.stderr().includes(
      `--notify needs Deno's --allow-net=unix:${socket}.tmp,unix:${notify}`,
    ),
    server.stderr(),
  );
});

Deno.test("serve({ notify }) with NOTIFY_SOCKET unset serves and says it does not notify", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    ...notifyFlags(socket, `${tmp.path}/notify.sock`, tmp.path),
    SERVER,
    "-s",
    socket,
    "--notify",
  ], { env: { NOTIFY_SOCKET: "" } });
  await server.waitFor("Listening on socket");
  assert.ok(server.stdout().includes("NOTIFY_SOCKET is not set: not notifying systemd"));
  assert.equal((await server.stop()).code, 0);
});

Deno.test("serve({ notify }) reaches an abstract $NOTIFY_SOCKET (@name) with unscoped --allow-net", async () => {
  await using tmp = await tempDir();
  const socket = `${tmp.path}/offlog.sock`;
  const notify = `@offlog-test-${crypto.randomUUID()}`;
  await using systemd = await receiver(notify);
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    "--no-prompt",
    "--unstable-net",
    `--allow-read=${tmp.path}`,
    `--allow-write=${tmp.path}`,
    "--allow-net",
    "--allow-env=NOTIFY_SOCKET",
    SERVER,
    "-s",
    socket,
    "--notify",
  ], { env: { NOTIFY_SOCKET: notify } });
  await waitUntil(() => datagrams(systemd).length >= 1, "READY=1");
  assert.equal(datagrams(systemd)[0], `READY=1\nSTATUS=Listening on socket ${socket}`);
  assert.equal((await server.stop()).code, 0);
  await waitUntil(() => datagrams(systemd).length >= 2, "STOPPING=1");
  await systemd.stop();
  const names = [];
  for await (const entry of Deno.readDir(tmp.path)) names.push(entry.name);
  assert.deepEqual(names, []);
});

Deno.test("Notifier.create() is null without $NOTIFY_SOCKET, and names the missing --unstable-net with it", async () => {
  const saved = Deno.env.get("NOTIFY_SOCKET");
  try {
    Deno.env.delete("NOTIFY_SOCKET");
    assert.equal(await Notifier.create("/tmp/offlog-notify-test.sock.tmp"), null);
    Deno.env.set("NOTIFY_SOCKET", "/run/systemd/notify");
    await assert.rejects(
      Notifier.create("/tmp/offlog-notify-test.sock.tmp"),
      /--notify needs Deno's --unstable-net/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete("NOTIFY_SOCKET");
    else Deno.env.set("NOTIFY_SOCKET", saved);
  }
});
