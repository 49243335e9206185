// Test helper: runs a fixture script as a child Deno process with narrow permissions,
// lets the test wait for what it prints, and collects its exit.

import { collectOutput } from "./_output.ts";

/** A running child process. */
export interface Child {
  process: Deno.ChildProcess;
  /** Everything printed to stdout so far. */
  stdout(): string;
  /** Everything printed to stderr so far. */
  stderr(): string;
  /** Waits until stdout contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Writes a line to the child's stdin. */
  send(line: string): Promise<void>;
  /** Waits for the exit, with all output read; kills the child after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<ChildResult>;
}

/** How a child ended. */
export interface ChildResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** Runs `script` (a path) with `args` and Deno permission `flags`. */
export function spawnChild(script: string, args: string[], flags: string[]): Child {
  const started = performance.now();
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...flags, script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = collectOutput(process);
  const collecting = output.done;
  const stdin = process.stdin.getWriter();
  let result: Promise<ChildResult> | null = null;
  return {
    process,
    stdout: () => output.stdout(),
    stderr: () => output.stderr(),
    async waitFor(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.stdout().includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(
            `Child did not print "${text}"; stdout:\n${output.stdout()}\nstderr:\n${output.stderr()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async send(line) {
      await stdin.write(new TextEncoder().encode(line + "\n"));
    },
    exited(timeoutMs = 30_000) {
      return result ??= (async () => {
        const timer = setTimeout(() => process.kill("SIGKILL"), timeoutMs);
        const status = await process.status;
        const ms = performance.now() - started;
        clearTimeout(timer);
        await stdin.close().catch(() => {});
        await collecting;
        return {
          code: status.code,
          signal: status.signal,
          stdout: output.stdout(),
          stderr: output.stderr(),
          ms,
        };
      })();
    },
  };
}
