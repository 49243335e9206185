// `deno task serve` and README's `npx -y deno@2.9.6 task serve`, stopped the ways README
// documents: SIGTERM to `deno task serve`'s process (the task runner passes it on), and
// for npx, SIGTERM to the process group (as Ctrl-C and systemd do): npm exec runs the
// task through `sh -c`, which dies of a SIGTERM without passing it on, so a SIGTERM to
// the npx process alone would leave the task runner and the server behind.

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { collectOutput } from "./_output.ts";
import { tempDir, waitUntil } from "./_server.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A deno.json in `dir` whose serve task is ours, on a socket in `dir`. */
async function serveTaskIn(dir: string): Promise<string> {
  const socket = `${dir}/offlog.sock`;
  const task = denoJson.tasks.serve
    .replaceAll("/tmp/offlog.sock", socket)
    .replace(/ server\.ts$/, ` ${ROOT}server.ts -s ${socket}`);
  assert.ok(task.endsWith(`${ROOT}server.ts -s ${socket}`), task);
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ tasks: { serve: task } }),
  );
  return socket;
}

/** Processes whose command line names `text`. */
async function processesNaming(text: string): Promise<string[]> {
  const { stdout } = await new Deno.Command("ps", { args: ["-eo", "pid,args"] }).output();
  return new TextDecoder().decode(stdout).split("\n").filter((line) =>
    line.includes(text) && !line.includes(" ps -eo")
  );
}

/** Runs `command` in `dir` until the server listens, signals it, and checks it is gone. */
async function startAndStop(
  dir: string,
  command: string,
  args: string[],
  stop: (child: Deno.ChildProcess) => Promise<void>,
): Promise<void> {
  const socket = await serveTaskIn(dir);
  const child = new Deno.Command(command, {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = collectOutput(child);
  try {
    await waitUntil(
      () => output.stdout().includes("Listening on socket"),
      `the server to listen\n${output.stdout()}\n${output.stderr()}`,
      60_000,
    );
    await stop(child);
    await child.status;
    await output.done;
    await waitUntil(
      async () => (await processesNaming(socket)).length === 0,
      "exit",
      5000,
    );
  } finally {
    for (const line of await processesNaming(socket)) {
      Deno.kill(Number(line.trim().split(" ")[0]), "SIGKILL");
    }
    if (!(await child.status.then(() => true, () => true))) child.kill("SIGKILL");
  }
  assert.match(output.stdout(), /offlog INFO\] Exiting/, output.stdout());
  await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound, "the socket is removed");
}

Deno.test("deno task serve: SIGTERM to the task's process stops the server, which removes its socket", async () => {
  await using tmp = await tempDir();
  await startAndStop(tmp.path, Deno.execPath(), ["task", "serve"], async (child) => {
    child.kill("SIGTERM");
    await child.status;
  });
});

Deno.test({
  name:
    "npx -y deno@2.9.6 task serve: SIGTERM to its process group stops npx, the task runner and the server; no socket is left",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const found = await new Deno.Command("sh", {
      args: ["-c", "command -v npx && command -v setsid"],
    }).output();
    if (!found.success) {
      console.log("skipped: npx or setsid is not installed");
      return;
    }
    await using tmp = await tempDir();
    // setsid: npx leads a process group of its own, as a shell's job would.
    await startAndStop(
      tmp.path,
      "setsid",
      ["npx", "-y", "deno@2.9.6", "task", "serve"],
      async (child) => {
        Deno.kill(-child.pid, "SIGTERM");
        await child.status;
      },
    );
  },
});
