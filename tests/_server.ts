// Test helper: runs the real server (server.ts) as a child process on a socket in a
// fresh temporary directory, and cleans both up.

import { collectOutput } from "./_output.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Deno permission flags; by default read and write everywhere, net on the socket. */
  permissions?: (socketPath: string, dir: string) => string[];
  /** Extra server arguments. */
  args?: string[];
  /** Use this directory instead of a new one (it is not removed). */
  dir?: string;
  /** Socket file name inside the directory. */
  socketName?: string;
  /** Wait for "Listening on socket" (default true). */
  waitListening?: boolean;
}

/** A server child process. */
export interface RunningServer extends AsyncDisposable {
  dir: string;
  socketPath: string;
  process: Deno.ChildProcess;
  /** Everything the server printed to stdout so far. */
  stdout(): string;
  /** Everything the server printed to stderr so far. */
  stderr(): string;
  /** Sends `signal` and waits for exit; returns the status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Waits until stdout contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** Default permissions: what `deno task serve` grants, on this socket. */
export function defaultPermissions(socketPath: string): string[] {
  return ["--allow-read", "--allow-write", `--allow-net=unix:${socketPath}`];
}

/** Starts the server and waits until it listens. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "offlog_test_" });
  const socketPath = `${dir}/${options.socketName ?? "offlog.sock"}`;
  const permissions = (options.permissions ?? defaultPermissions)(socketPath, dir);
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      ...permissions,
      SERVER,
      "-s",
      socketPath,
      ...(options.args ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = collectOutput(process);
  const collecting = output.done;
  let status: Promise<Deno.CommandStatus> | null = null;
  const exited = () => status ??= process.status.then(async (s) => (await collecting, s));
  const server: RunningServer = {
    dir,
    socketPath,
    process,
    stdout: () => output.stdout(),
    stderr: () => output.stderr(),
    async waitFor(text: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.stdout().includes(text) && !output.stderr().includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(
            `Server did not print "${text}"; stdout:\n${output.stdout()}\nstderr:\n${output.stderr()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // exited already
      }
      return await exited();
    },
    async [Symbol.asyncDispose]() {
      await server.stop("SIGKILL");
      if (ownDir) await Deno.remove(dir, { recursive: true });
    },
  };
  if (options.waitListening ?? true) {
    try {
      await Promise.race([
        server.waitFor("Listening on socket"),
        exited().then((s) => {
          throw new Error(
            `Server exited with ${s.code} before listening:\n${output.stdout()}\n${output.stderr()}`,
          );
        }),
      ]);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
  }
  return server;
}
