// Child processes for bench/e2e.ts: the server, the writers and the raw-limit pair,
// each a `deno run` of a file in this repository, tracked so that none outlives a run.

import type { WriterTimes } from "./_client.ts";

const here = (file: string) => new URL(file, import.meta.url).pathname;
const SERVER = here("../server.ts");
const CLIENT = here("./_client.ts");
/** bench/_raw.ts, the raw-limit listener and sender. */
export const RAW: string = here("./_raw.ts");
/** bench/_bare.ts, the bare relay and sender of the "built lines" ceiling. */
export const BARE: string = here("./_bare.ts");

/** How {@linkcode spawn} wires a child's standard streams. */
export interface SpawnOptions {
  /** Pipe a line to its stdin with {@linkcode Child.go}. */
  stdin?: boolean;
  /** Discard its stdout. */
  quiet?: boolean;
  /** The program to run instead of `deno` (e.g. "python3"). */
  command?: string;
  /** Environment variables beside `NO_COLOR=1`. */
  env?: Record<string, string>;
}

/** A child process whose stdout is read line by line. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly name: string;
  #lines: ReadableStreamDefaultReader<string> | null = null;
  #buffered: string[] = [];
  #rest = "";
  #stderr = "";
  #stderrDone: Promise<void>;

  constructor(name: string, args: string[], options: SpawnOptions = {}) {
    this.name = name;
    const process = new Deno.Command(options.command ?? Deno.execPath(), {
      args,
      stdin: options.stdin ? "piped" : "null",
      // A server logs a line per client: unread, a pipe would fill and stall it.
      stdout: options.quiet ? "null" : "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    this.process = process;
    this.#lines = options.quiet
      ? null
      : process.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderrDone = (async () => {
      for await (const text of process.stderr.pipeThrough(new TextDecoderStream())) {
        if (this.#stderr.length < 100_000) this.#stderr += text;
      }
    })();
  }

  /** The next line of stdout; throws if the child ends first. */
  async line(): Promise<string> {
    if (this.#lines === null) throw new Error(`${this.name} has no stdout`);
    while (this.#buffered.length === 0) {
      const chunk = await this.#lines.read();
      if (chunk.done) {
        const status = await this.process.status;
        await this.#stderrDone;
        throw new Error(
          `${this.name} exited with ${status.code} before printing a line:\n${this.#stderr}`,
        );
      }
      const parts = (this.#rest + chunk.value).split("\n");
      this.#rest = parts.pop()!;
      this.#buffered.push(...parts);
    }
    return this.#buffered.shift()!;
  }

  /** Sends a line to its stdin and closes it. */
  async go(): Promise<void> {
    const writer = this.process.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  }

  /** Waits for the exit (sending `signal` first if given); throws on failure. */
  async finish(signal?: Deno.Signal): Promise<void> {
    if (signal !== undefined) {
      try {
        this.process.kill(signal);
      } catch {
        // exited already
      }
    }
    const status = await this.process.status;
    await this.#lines?.cancel().catch(() => {});
    await this.#stderrDone;
    if (!status.success && status.signal !== signal) {
      throw new Error(`${this.name} failed (${status.code}):\n${this.#stderr}`);
    }
  }

  /** Ends it at once, whatever its state; for cleanup. */
  async kill(): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // exited already
    }
    await this.process.status;
    await this.#lines?.cancel().catch(() => {});
    await this.#stderrDone.catch(() => {});
  }

  /** What it printed to stderr. */
  get stderr(): string {
    return this.#stderr;
  }
}

/** Every child still running, killed on the way out whatever happens. */
export const children = new Set<Child>();

/** Starts `deno` with `args` as a tracked child. */
export function spawn(name: string, args: string[], options: SpawnOptions = {}): Child {
  const child = new Child(name, args, options);
  children.add(child);
  child.process.status.then(() => children.delete(child));
  return child;
}

/** Waits until a connection to `path` succeeds; throws if `server` exits first. */
export async function waitForSocket(path: string, server: Child): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited = false;
  server.process.status.then(() => exited = true);
  for (;;) {
    try {
      const conn = await Deno.connect({ transport: "unix", path });
      conn.close();
      return;
    } catch (error) {
      if (exited || Date.now() > deadline) {
        throw new Error(`${server.name} does not listen on "${path}": ${error}`, {
          cause: server.stderr,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * Starts server.ts on `socketPath` (with `profile` flags for deno, `env`, and `args`
 * for the server) and waits for it.
 */
export async function startServer(
  socketPath: string,
  profile: string[] = [],
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Child> {
  const server = spawn("server", [
    "run",
    "-q",
    ...profile,
    "--allow-read",
    "--allow-write",
    `--allow-net=unix:${socketPath}`,
    SERVER,
    "-s",
    socketPath,
    // Writers warm up through the server on /dev/null, a character device.
    "--allow-devices",
    ...args,
  ], { quiet: true, env });
  await waitForSocket(socketPath, server);
  return server;
}

/**
 * Runs writers together: all get ready, then all start at once; `onGo` runs just
 * before the start, `onDone` once every writer has reported.
 */
export async function runWriters(
  specs: { args: string[]; name: string; options?: SpawnOptions }[],
  hooks: { onGo?: () => void; onDone?: () => void } = {},
): Promise<WriterTimes[]> {
  const writers = specs.map((spec) =>
    spawn(spec.name, spec.args, { ...spec.options, stdin: true })
  );
  for (const writer of writers) {
    const line = await writer.line();
    if (line !== "ready") throw new Error(`${writer.name} said "${line}"`);
  }
  hooks.onGo?.();
  await Promise.all(writers.map((writer) => writer.go()));
  const times: WriterTimes[] = [];
  for (const writer of writers) times.push(JSON.parse(await writer.line()));
  hooks.onDone?.();
  await Promise.all(writers.map((writer) => writer.finish()));
  return times;
}

/** The `deno` arguments of a bench/_client.ts writer. */
export function clientArgs(
  mode: string,
  socketPath: string,
  path: string,
  client: number,
  lines: number,
  profile: string[] = [],
): string[] {
  return [
    "run",
    "-q",
    ...profile,
    "--allow-read",
    "--allow-write",
    `--allow-net=unix:${socketPath}`,
    CLIENT,
    mode,
    socketPath,
    path,
    String(client),
    String(lines),
  ];
}
