// The server's reach: Deno's permission scope and --root, checked on the real path so
// that neither a symlink nor ".." leads out of it. Every case runs the real server and
// a client that has permissions on the socket only.

import assert from "node:assert/strict";
import { Access } from "../server/access.ts";
import { ProxyFile } from "../mod.ts";
import { readUntilClosed, scopedPermissions, startServer } from "./_server.ts";
import { writeAll } from "./_raw.ts";
import { SERVER, socketOnlyClient, spawn, tempDir } from "./_deploy.ts";

const encoder = new TextEncoder();
const WARNING_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (WARNING|ERROR)\] /;

/**
 * Lays out `<dir>/allowed` and `<dir>/outside` with symlinks that escape and one that
 * stays inside.
 */
async function layout(dir: string): Promise<{ allowed: string; outside: string }> {
  const allowed = `${dir}/allowed`;
  const outside = `${dir}/outside`;
  await Deno.mkdir(allowed);
  await Deno.mkdir(outside);
  await Deno.mkdir(`${allowed}/sub`);
  await Deno.writeTextFile(`${outside}/x.log`, "secret\n");
  await Deno.symlink(`${outside}/x.log`, `${allowed}/link.log`);
  await Deno.symlink(outside, `${allowed}/linkdir`);
  await Deno.symlink("../outside/created.log", `${allowed}/dangling.log`);
  await Deno.writeTextFile(`${allowed}/inner.log`, "");
  await Deno.symlink("inner.log", `${allowed}/inside.log`);
  await Deno.symlink("loop2", `${allowed}/loop1`);
  await Deno.symlink("loop1", `${allowed}/loop2`);
  return { allowed, outside };
}

/** The escapes every confined server must refuse. */
function escapes(allowed: string, outside: string): string[] {
  return [
    `${allowed}/link.log`, // symlink to a file outside
    `${allowed}/linkdir/new.log`, // through a symlinked directory, file not yet created
    `${allowed}/dangling.log`, // dangling symlink: opening would create the file outside
    `${allowed}/../outside.log`, // ".." out of the directory
    `${outside}/x.log`, // plainly outside
  ];
}

/** Checks that nothing outside was written or created. */
async function assertOutsideUntouched(dir: string, outside: string): Promise<void> {
  assert.equal(await Deno.readTextFile(`${outside}/x.log`), "secret\n");
  const names = [];
  for await (const entry of Deno.readDir(outside)) names.push(entry.name);
  assert.deepEqual(names, ["x.log"]);
  await assert.rejects(Deno.lstat(`${dir}/outside.log`), Deno.errors.NotFound);
}

Deno.test("Access.check() refuses paths outside Deno's --allow-write scope, symlink and .. escapes included", async () => {
  await using tmp = await tempDir();
  const { allowed, outside } = await layout(tmp.path);
  await using server = await startServer({
    dir: tmp.path,
    permissions: (socket) => [
      "--no-prompt",
      `--allow-read=${allowed},${socket}`,
      `--allow-write=${allowed},${socket}`,
      `--allow-net=unix:${socket}`,
    ],
  });
  assert.match(server.stdout(), /Write scope: only the paths Deno's --allow-write lists/);

  const refused = escapes(allowed, outside);
  const lines = await socketOnlyClient(server.socketPath, refused);
  for (const [i, path] of refused.entries()) {
    assert.ok(
      lines[i]!.startsWith(`PermissionDenied ${path}: Permission denied: '${path}'`),
      lines[i],
    );
    await server.waitFor(`access denied for ${path}: PermissionError:`);
  }
  assert.match(
    lines[0]!,
    /\(real path '.*\/outside\/x\.log'\) is outside the server's permission scope/,
  );
  await assertOutsideUntouched(tmp.path, outside);
});

Deno.test("Access.check() lets in-scope paths through: new files and symlinks that stay inside", async () => {
  await using tmp = await tempDir();
  const { allowed } = await layout(tmp.path);
  await using server = await startServer({
    dir: tmp.path,
    permissions: (socket) => [
      "--no-prompt",
      `--allow-read=${allowed},${socket}`,
      `--allow-write=${allowed},${socket}`,
      `--allow-net=unix:${socket}`,
    ],
  });
  const paths = [
    `${allowed}/new.log`,
    `${allowed}/inside.log`,
    `${allowed}/sub/../new2.log`,
  ];
  const lines = await socketOnlyClient(server.socketPath, paths);
  assert.deepEqual(lines, paths.map((path) => `OK ${path}`));
  assert.equal(await Deno.readTextFile(`${allowed}/new.log`), `written to ${paths[0]}\n`);
  assert.equal(
    await Deno.readTextFile(`${allowed}/inner.log`),
    `written to ${paths[1]}\n`,
  );
  assert.equal(
    await Deno.readTextFile(`${allowed}/new2.log`),
    `written to ${paths[2]}\n`,
  );
  await server.waitFor(
    `access confirmed for ${paths[1]} (real path ${allowed}/inner.log)`,
  );
});

Deno.test("--root confines a server that has full permissions, on the real path", async () => {
  await using tmp = await tempDir();
  const { allowed, outside } = await layout(tmp.path);
  await using server = await startServer({ dir: tmp.path, args: ["--root", allowed] });
  assert.match(server.stdout(), /Write scope: unrestricted/);
  assert.ok(server.stdout().includes(`Write scope: confined to --root ${allowed}`));

  const refused = escapes(allowed, outside);
  const lines = await socketOnlyClient(server.socketPath, [
    ...refused,
    `${allowed}/loop1`,
    `${allowed}/new.log`,
    `${allowed}/inside.log`,
  ]);
  for (const [i, path] of refused.entries()) {
    assert.ok(
      lines[i]!.startsWith(`PermissionDenied ${path}: Permission denied: '${path}'`) &&
        lines[i]!.endsWith(`is outside the server's --root directories (${allowed})`),
      lines[i],
    );
  }
  assert.match(
    lines[refused.length]!,
    /^OfflogServerError .*Too many levels of symbolic links/,
  );
  assert.equal(lines[refused.length + 1], `OK ${allowed}/new.log`);
  assert.equal(lines[refused.length + 2], `OK ${allowed}/inside.log`);
  await assertOutsideUntouched(tmp.path, outside);
});

Deno.test("--root that does not exist stops the server at start, naming it", async () => {
  await using tmp = await tempDir();
  const missing = `${tmp.path}/missing`;
  const socket = `${tmp.path}/offlog.sock`;
  await using server = spawn(Deno.execPath(), [
    "run",
    "-q",
    "--allow-read",
    "--allow-write",
    `--allow-net=unix:${socket}`,
    SERVER,
    "-s",
    socket,
    "--root",
    missing,
  ]);
  const status = await server.exited();
  assert.equal(status.code, 1);
  assert.ok(server.stderr().includes(`offlog: error: Cannot use --root "${missing}"`));
  const names = [];
  for await (const entry of Deno.readDir(tmp.path)) names.push(entry.name);
  assert.deepEqual(names, [], "no socket left behind");
});

Deno.test("serve() logs its write scope at start and warns of permissions it does not need", async () => {
  await using tmp = await tempDir();
  await using server = await startServer({
    dir: tmp.path,
    permissions: (socket) => [
      "--no-prompt",
      `--allow-read=${tmp.path}`,
      `--allow-write=${tmp.path}`,
      `--allow-net=unix:${socket}`,
      "--allow-run",
    ],
    args: ["--root", tmp.path],
  });
  await server.stop();
  assert.match(server.stdout(), /Write scope: only the paths Deno's --allow-write lists/);
  assert.ok(server.stdout().includes(`Write scope: confined to --root ${tmp.path}`));
  assert.match(server.stderr(), /Granted but not needed by offlog: --allow-run\n/);
});

// A reopen after rotation (--rotate-check, SIGHUP) goes through the same access check.
Deno.test({
  name: "a symlink planted at a rotated path does not lead the reopen out of the scope",
  async fn() {
    await using tmp = await tempDir();
    const { allowed, outside } = await layout(tmp.path);
    await using server = await startServer({
      dir: tmp.path,
      permissions: (socket) => [
        "--no-prompt",
        `--allow-read=${allowed},${socket}`,
        `--allow-write=${allowed},${socket}`,
        `--allow-net=unix:${socket}`,
      ],
      args: ["--rotate-check", "50"],
    });
    const { ProxyFile } = await import("../mod.ts");
    await using file = await ProxyFile.open(`${allowed}/a.log`, {
      socketPath: server.socketPath,
    });
    file.write("one\n");
    await file.flush();
    await Deno.rename(`${allowed}/a.log`, `${allowed}/a.log.1`);
    await Deno.symlink(`${outside}/x.log`, `${allowed}/a.log`);
    await new Promise((r) => setTimeout(r, 300));
    file.write("two\n");
    await file.flush();
    await file.close();
    await assertOutsideUntouched(tmp.path, outside);
  },
});

Deno.test("server refuses a path outside its --allow-write scope as PermissionError and logs access denied", async () => {
  await using outside = await tempDir();
  await using server = await startServer({ permissions: scopedPermissions });
  const refused = `${outside.path}/x.log`;
  const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(conn, encoder.encode(`${refused}\0data\n`));
    const received = await readUntilClosed(conn);
    assert.ok(received.closed);
    assert.ok(
      received.text.startsWith(`PermissionError: Permission denied: '${refused}'`),
      received.text,
    );
    assert.equal(
      received.text.indexOf("\0"),
      received.text.length - 1,
      "one NUL, at the end",
    );
  } finally {
    conn.close();
  }
  await server.waitFor(
    `access denied for ${refused}: PermissionError: Permission denied`,
  );
  assert.match(server.stderr(), WARNING_LINE, "a refusal is logged as a warning");
  const names = [];
  for await (const entry of Deno.readDir(outside.path)) names.push(entry.name);
  assert.deepEqual(names, [], "nothing created outside the scope");
  // Inside the scope the same server works.
  await using file = await ProxyFile.open(`${server.dir}/in.log`, {
    socketPath: server.socketPath,
  });
  file.write("in scope\n");
  await file.flush();
  assert.equal(await Deno.readTextFile(`${server.dir}/in.log`), "in scope\n");
});

Deno.test("Access.check() refuses a path outside --root with a typed refusal naming the roots, and advice for the operator apart", async () => {
  await using tmp = await tempDir();
  await Deno.mkdir(`${tmp.path}/in`);
  const access = await Access.create([`${tmp.path}/in`]);
  const root = await Deno.realPath(`${tmp.path}/in`);
  assert.deepEqual(await access.check(`${root}/a.log`), { path: `${root}/a.log` });
  const verdict = await access.check(`${tmp.path}/out.log`);
  assert.ok("refusal" in verdict);
  assert.equal(verdict.refusal.pythonName, "PermissionError");
  assert.equal(
    verdict.refusal.wire,
    `PermissionError: Permission denied: '${tmp.path}/out.log' is outside the ` +
      `server's --root directories (${root})`,
  );
  assert.match(verdict.refusal.operatorHint, /^add --root /);
});

Deno.test("a client refused outside Deno's scope is told the path is outside the server's scope and which directories it has; the log names the flag for the operator", async () => {
  await using tmp = await tempDir();
  const { allowed, outside } = await layout(tmp.path);
  {
    await using server = await startServer({
      dir: tmp.path,
      permissions: (socket) => [
        "--no-prompt",
        "--allow-read",
        `--allow-write=${allowed},${socket}`,
        `--allow-net=unix:${socket}`,
      ],
    });
    const lines = await socketOnlyClient(server.socketPath, [
      `${allowed}/first.log`,
      `${outside}/new.log`,
    ]);
    assert.equal(lines[0], `OK ${allowed}/first.log`);
    assert.ok(
      lines[1]!.endsWith(
        `'${outside}/new.log' is outside the server's permission scope (it writes ` +
          `under ${allowed}, among the directories its operator granted)`,
      ),
      lines[1],
    );
    assert.ok(!lines[1]!.includes("--allow"), "no advice for the operator");
    await server.waitFor(
      `(for the operator: Deno's --allow-read and --allow-write would need ${outside} ` +
        `(e.g. --allow-write=${outside}) to allow it)`,
    );
  }
  {
    // Reading scoped, writing not: Deno's own refusal of the path.
    await using server = await startServer({
      dir: tmp.path,
      socketName: "second.sock",
      permissions: (socket) => [
        "--no-prompt",
        `--allow-read=${allowed},${socket}`,
        "--allow-write",
        `--allow-net=unix:${socket}`,
      ],
    });
    const [first, line] = await socketOnlyClient(server.socketPath, [
      `${allowed}/first.log`,
      `${outside}/x.log`,
    ]);
    assert.equal(first, `OK ${allowed}/first.log`);
    assert.equal(
      line,
      `PermissionDenied ${outside}/x.log: Permission denied: '${outside}/x.log' is ` +
        `outside the server's permission scope (it writes under ${allowed}, among the ` +
        `directories its operator granted)`,
    );
    assert.ok(!line!.includes("run again"), line);
    await server.waitFor("run again with the --allow-read flag)");
  }
  await assertOutsideUntouched(tmp.path, outside);
});
