// Test helpers for deployment tests: run any command (the server under `deno run`,
// a bundle, a compiled binary, a client fixture) as a child process with the
// environment given, collect its output, and end it cleanly.

import { collectOutput } from "./_output.ts";
import { tempDir as sharedTempDir } from "./_server.ts";

/** The repository root, as a path. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The server's entry point. */
export const SERVER: string = `${ROOT}/server.ts`;

/** A running child process. */
export interface Proc extends AsyncDisposable {
  process: Deno.ChildProcess;
  /** Everything printed to stdout so far. */
  stdout(): string;
  /** Everything printed to stderr so far. */
  stderr(): string;
  /** Waits until stdout contains `text`; fails early if the process exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (unless it has exited) and waits for the exit, output read. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Waits for the exit, with all output read; kills it after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  /** Extra environment variables (the rest is inherited). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** Starts `command` with `args`. */
export function spawn(command: string, args: string[], options: SpawnOptions = {}): Proc {
  const process = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  const output = collectOutput(process);
  const collecting = output.done;
  let done = false;
  const status = process.status.then(async (s) => {
    done = true;
    await collecting;
    return s;
  });
  const proc: Proc = {
    process,
    stdout: () => output.stdout(),
    stderr: () => output.stderr(),
    async waitFor(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.stdout().includes(text)) {
        if (done || Date.now() > deadline) {
          await Promise.race([status, new Promise((r) => setTimeout(r, 100))]);
          throw new Error(
            `${command} did not print "${text}"${done ? " (it exited)" : ""}; ` +
              `stdout:\n${output.stdout()}\nstderr:\n${output.stderr()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!done) {
        try {
          process.kill(signal);
        } catch {
          // exited already
        }
      }
      return await proc.exited();
    },
    async exited(timeoutMs = 30_000) {
      const timer = setTimeout(() => {
        try {
          process.kill("SIGKILL");
        } catch {
          // exited already
        }
      }, timeoutMs);
      try {
        return await status;
      } finally {
        clearTimeout(timer);
      }
    },
    async [Symbol.asyncDispose]() {
      await proc.stop("SIGKILL");
    },
  };
  return proc;
}

/** Runs `deno` with `args` to the end; returns the status and output. */
export async function deno(
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(Deno.execPath(), args, options);
  const status = await proc.exited(120_000);
  return { code: status.code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** The one temporary-directory helper (tests/_server.ts), with this file's prefix. */
export function tempDir(): Promise<AsyncDisposable & { path: string }> {
  return sharedTempDir("offlog_deploy_");
}

/**
 * Runs a client in a child process with only the socket permissions the README
 * gives it, opening each path; returns one line per path: `OK` or the error.
 */
export async function socketOnlyClient(
  socketPath: string,
  paths: string[],
): Promise<string[]> {
  const result = await deno([
    "run",
    "-q",
    "--no-prompt",
    `--allow-read=${socketPath}`,
    `--allow-write=${socketPath}`,
    `--allow-net=unix:${socketPath}`,
    `${ROOT}/tests/fixtures/socket_client.ts`,
    socketPath,
    ...paths,
  ]);
  if (result.code !== 0) {
    throw new Error(
      `The client exited with ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout.trimEnd().split("\n");
}
