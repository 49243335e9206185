// pipe.ts as operators run it: a child process with only the socket's permissions,
// standard input piped in, against the real server.

import assert from "node:assert/strict";
import { MAX_RECORD_BYTES } from "../mod.ts";
import { type RunningServer, startServer } from "./_server.ts";
import { collectOutput } from "./_output.ts";
import { findTool, ignoreWithout, requireTool } from "./_tools.ts";

const PIPE = new URL("../pipe.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const STRACE = findTool("strace");

interface PipeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running pipe.ts: feed its stdin, then wait for its exit. */
interface PipeProcess {
  process: Deno.ChildProcess;
  write(bytes: Uint8Array | string): Promise<void>;
  /** Closes stdin and waits for the exit, with all output read. */
  end(): Promise<PipeResult>;
}

/** Starts pipe.ts with `args`, granted read, write and net on `socketPath` only. */
function spawnPipe(socketPath: string, args: string[]): PipeProcess {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--no-prompt",
      `--allow-read=${socketPath}`,
      `--allow-write=${socketPath}`,
      `--allow-net=unix:${socketPath}`,
      PIPE,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = collectOutput(process);
  const stdin = process.stdin.getWriter();
  let ended: Promise<PipeResult> | null = null;
  return {
    process,
    async write(bytes) {
      await stdin.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
    },
    end() {
      return ended ??= (async () => {
        // The pipe may have exited already (an error): its stdin is then broken.
        await stdin.close().catch(() => {});
        const timer = setTimeout(() => process.kill("SIGKILL"), 30_000);
        const status = await process.status;
        clearTimeout(timer);
        await output.done;
        return { code: status.code, stdout: output.stdout(), stderr: output.stderr() };
      })();
    },
  };
}

/** Runs pipe.ts on `input` to its end. */
async function runPipe(
  socketPath: string,
  args: string[],
  input: string | Uint8Array = "",
): Promise<PipeResult> {
  const pipe = spawnPipe(socketPath, args);
  await pipe.write(input).catch(() => {});
  return await pipe.end();
}

function pipeArgs(server: RunningServer, ...rest: string[]): string[] {
  return ["-s", server.socketPath, ...rest];
}

/** Line `n` of writer `w`: its number, then a filler of a length that varies. */
function line(w: number, n: number): string {
  const size = n % 97 === 0 ? 50_000 + n : (n * 7919) % 300;
  return `w${w} n${n} ` + String.fromCharCode(97 + (n + w) % 26).repeat(size) + " end";
}

Deno.test("pipe.ts: lines from several processes piping into one file land whole and once", async () => {
  await using server = await startServer();
  const path = `${server.dir}/shared.log`;
  const WRITERS = 4;
  const LINES = 2000;
  const pipes = Array.from(
    { length: WRITERS },
    () => spawnPipe(server.socketPath, pipeArgs(server, path)),
  );
  // Each writer's input in chunks of odd sizes, so that reads split lines anywhere.
  const feeds = pipes.map(async (pipe, w) => {
    const text = encoder.encode(
      Array.from({ length: LINES }, (_, n) => line(w, n) + "\n").join(""),
    );
    let offset = 0;
    for (let i = 0; offset < text.length; i++) {
      const size = 1 + (i * 4099 + w * 131) % 20_000;
      await pipe.write(text.subarray(offset, offset + size));
      offset += size;
    }
  });
  await Promise.all(feeds);
  const results = await Promise.all(pipes.map((pipe) => pipe.end()));
  for (const result of results) assert.equal(result.code, 0, result.stderr);

  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "", "the file ends with a newline");
  assert.equal(lines.length, WRITERS * LINES);
  const expected = new Set<string>();
  for (let w = 0; w < WRITERS; w++) {
    for (let n = 0; n < LINES; n++) expected.add(line(w, n));
  }
  for (const found of lines) {
    if (!expected.delete(found)) {
      assert.fail(`a line that is torn or twice: ${JSON.stringify(found.slice(0, 80))}`);
    }
  }
  assert.equal(expected.size, 0);
});

Deno.test("pipe.ts: an unfinished last line is written, ended with a newline; exit 0", async () => {
  await using server = await startServer();
  const path = `${server.dir}/unfinished.log`;
  const result = await runPipe(
    server.socketPath,
    pipeArgs(server, path),
    "first\n\nthird, unfinished",
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.equal(await Deno.readTextFile(path), "first\n\nthird, unfinished\n");
});

Deno.test("pipe.ts: empty input creates the file and exits 0", async () => {
  await using server = await startServer();
  const path = `${server.dir}/empty.log`;
  const result = await runPipe(server.socketPath, pipeArgs(server, path));
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await Deno.readTextFile(path), "");
});

Deno.test("pipe.ts: a line longer than MAX_RECORD_BYTES arrives whole, split into records", async () => {
  await using server = await startServer();
  const path = `${server.dir}/long.log`;
  // A two-byte character straddles the record limit: it must not be cut in two.
  const long = "x".repeat(MAX_RECORD_BYTES - 1) + "é" + "y".repeat(1000);
  const input = encoder.encode(`${long}\nshort\n`);
  const result = await runPipe(server.socketPath, pipeArgs(server, path), input);
  assert.equal(result.code, 0, result.stderr);
  const written = await Deno.readFile(path);
  assert.equal(written.length, input.length);
  assert.ok(written.every((byte, i) => byte === input[i]), "the bytes as piped in");
});

Deno.test("pipe.ts: a directory is refused: IsADirectoryError on stderr, exit 1", async () => {
  await using server = await startServer();
  const result = await runPipe(server.socketPath, pipeArgs(server, server.dir), "x\n");
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `pipe.ts: IsADirectoryError: [Errno 21] Is a directory: '${server.dir}'\n`,
  );
});

Deno.test("pipe.ts: no server on the socket: exit 1 naming the socket", async () => {
  await using server = await startServer();
  await server.stop();
  const result = await runPipe(
    server.socketPath,
    pipeArgs(server, `${server.dir}/x.log`),
    "x\n",
  );
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `^pipe\\.ts: OfflogConnectionError: Cannot connect to the offlog server at "${server.socketPath}"`,
    ),
  );
});

Deno.test("pipe.ts: a server lost mid-stream: exit 1 with the server's error", async () => {
  await using server = await startServer();
  const path = `${server.dir}/lost.log`;
  const pipe = spawnPipe(server.socketPath, pipeArgs(server, path));
  await pipe.write("before\n");
  const deadline = Date.now() + 15_000;
  while ((await Deno.readTextFile(path).catch(() => "")) !== "before\n") {
    assert.ok(Date.now() < deadline, "the first line reached the file");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal((await server.stop()).code, 0);
  // The pipe finds out at its next line, as a writer into a closed pipe does.
  await pipe.write("after\n").catch(() => {});
  const result = await pipe.end();
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "pipe.ts: OSError: offlog server exited\n");
});

Deno.test("pipe.ts: bad arguments exit 2 with the usage; --help exits 0", async () => {
  const missing = await runPipe("/nonexistent.sock", []);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^usage: pipe\.ts .*FILE\npipe\.ts: error: .*FILE/);
  for (const args of [["--bogus", "x"], ["a", "b"], ["--timeout", "soon", "x"]]) {
    const result = await runPipe("/nonexistent.sock", args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^usage: pipe\.ts/);
  }
  const help = await runPipe("/nonexistent.sock", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: pipe\.ts/);
  assert.match(help.stdout, new RegExp(`longer than\\s+${MAX_RECORD_BYTES} bytes`));
  assert.equal(help.stderr, "");
});

Deno.test({
  name:
    "pipe.ts sends the lines of what it reads together, not a frame (and a socket write) per line",
  ignore: ignoreWithout(STRACE, "strace", "pipe.ts's writes under strace"),
  async fn() {
    await using server = await startServer();
    const path = `${server.dir}/many.log`;
    const trace = `${server.dir}/pipe.trace`;
    const LINES = 20_000;
    const process = new Deno.Command(requireTool(STRACE, "strace"), {
      args: [
        "-f",
        "-e",
        "trace=write,writev,sendto,sendmsg",
        "-o",
        trace,
        Deno.execPath(),
        "run",
        "-q",
        `--allow-read=${server.socketPath}`,
        `--allow-write=${server.socketPath}`,
        `--allow-net=unix:${server.socketPath}`,
        PIPE,
        "-s",
        server.socketPath,
        path,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = collectOutput(process);
    const stdin = process.stdin.getWriter();
    await stdin.write(
      encoder.encode(Array.from({ length: LINES }, (_, n) => `line ${n}\n`).join("")),
    );
    await stdin.close();
    assert.equal((await process.status).code, 0, output.stderr());
    await output.done;
    assert.equal((await Deno.readTextFile(path)).split("\n").length - 1, LINES);
    const writes = (await Deno.readTextFile(trace)).split("\n")
      .filter((l) => /\b(write|writev|sendto|sendmsg)\(/.test(l)).length;
    // About 190 KB of input: a frame per read of stdin (16 writes here; 532 when each
    // line was awaited, which let the pump send a few dozen lines at a time).
    assert.ok(writes < LINES / 200, `${writes} writes for ${LINES} lines`);
  },
});
