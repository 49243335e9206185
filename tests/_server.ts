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
  /** Extra environment variables for the server (the rest is inherited). */
  env?: Record<string, string>;
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
    env: { NO_COLOR: "1", ...options.env },
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

/** What a raw connection received before the server closed it. */
export interface Received {
  /** Every byte the server sent. */
  bytes: Uint8Array;
  /** The bytes as UTF-8 text (NULs kept). */
  text: string;
  /** True when the server closed the connection; false when `timeoutMs` ran out. */
  closed: boolean;
}

/**
 * Reads `conn` until the server closes it, or at most `timeoutMs`; the connection is
 * left open for the caller to close.
 */
export async function readUntilClosed(
  conn: Deno.UnixConn,
  timeoutMs = 5000,
): Promise<Received> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), timeoutMs);
  });
  try {
    for (;;) {
      const read = conn.read(buffer);
      const n = await Promise.race([read, expired]);
      if (n === "expired") {
        // The pending read settles once the caller closes the connection.
        read.catch(() => {});
        break;
      }
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(buffer.slice(0, n));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    closed = true;
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, text: new TextDecoder().decode(bytes), closed };
}

/** Reads from `conn` until `count` NUL-ended messages arrived; returns their texts. */
export async function readMessageTexts(
  conn: Deno.UnixConn,
  count: number,
  timeoutMs = 5000,
): Promise<string[]> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (text.split("\0").length - 1 < count) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = conn.read(buffer);
    const n = await Promise.race([
      read,
      new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (n === "expired") {
      read.catch(() => {});
      throw new Error(`Expected ${count} messages, got ${JSON.stringify(text)}`);
    }
    if (n === null) {
      throw new Error(`Closed after ${JSON.stringify(text)}; expected ${count} messages`);
    }
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text.split("\0").slice(0, count);
}

/** Polls `check` every 10 ms until it returns true; throws after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The log lines of a server's output, without their `[... offlog LEVEL] ` stamps. */
export function logMessages(output: string): string[] {
  return output.split("\n").filter((line) => line.length > 0).map((line) =>
    line.replace(/^\[[^\]]* offlog [A-Z]+\] /, "")
  );
}

/** A temporary directory (its real path) for a test, removed at dispose. */
export async function tempDir(
  prefix = "offlog_test_",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Permissions scoped to the server's directory: read, write and the socket. */
export function scopedPermissions(socketPath: string, dir: string): string[] {
  return [
    "--no-prompt",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-net=unix:${socketPath}`,
  ];
}
