/**
 * offlog for any program: appends each line of standard input to a file through an
 * offlog server, as `logger(1)` and `systemd-cat` do for syslog and the journal.
 *
 * ```sh
 * some-program 2>&1 | deno run --allow-read=/tmp/offlog.sock \
 *   --allow-write=/tmp/offlog.sock --allow-net=unix:/tmp/offlog.sock \
 *   jsr:@offlog/offlog/pipe /var/log/app/some-program.log
 * ```
 *
 * Each line is one record, so the lines of several programs piping into one file
 * never interleave within a line. The exit code is 0 once the server has written
 * everything, 1 when it refused the file or was lost (its error on stderr), 2 for bad
 * arguments.
 *
 * @example
 * Not run as a doc test: it reads this process's standard input, then exits.
 * ```ts ignore
 * import { main } from "@offlog/offlog/pipe";
 *
 * // With a server running: deno task serve. Reads this process's standard input.
 * const code = await main(["-s", "/tmp/offlog.sock", "/tmp/app.log"]);
 * Deno.exit(code);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DEFAULT_SOCKET_PATH,
  DEFAULT_TIMEOUT_MS,
  MAX_RECORD_BYTES,
  OfflogServerError,
  ProxyFile,
  type ProxyFileOptions,
} from "./mod.ts";
import { writeAllSync } from "./common/write_all.ts";

const USAGE = "usage: pipe.ts [-h] [-s SOCKET] [--timeout MS] [--reconnect] FILE";

const HELP = `${USAGE}

Appends each line of standard input to FILE through an offlog server, one record a
line, so lines from several programs writing to the same file never mix. An
unfinished last line is written too, ended with a newline. A line longer than
${MAX_RECORD_BYTES} bytes (the largest record) is split into records of at most that
size, at a UTF-8 character boundary; other programs' lines may land between its
pieces. Exits 0 once the server has written everything, 1 if the server refused
the file or was lost (its error is printed), 2 for bad arguments.

positional arguments:
  FILE                  The file to append to. An absolute path, or relative to the
                        working directory (then Deno needs --allow-read on it).

options:
  -h, --help            show this help message and exit
  -s SOCKET, --socket-file SOCKET
                        The offlog server's socket. Default: ${DEFAULT_SOCKET_PATH}
  --timeout MS          Milliseconds to wait for the server to open the file, and
                        without progress while writing. Default: ${DEFAULT_TIMEOUT_MS}
  --reconnect           Keep reading while the server is gone, reconnect, and
                        resend what it had not written: a server restart loses
                        nothing.

Deno needs only the socket: --allow-read=SOCKET --allow-write=SOCKET
--allow-net=unix:SOCKET.
`;

/** Bytes sent between two flushes: bounds what the pipe holds when stdin is fast. */
const FLUSH_EVERY_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;
const encoder = new TextEncoder();

/**
 * Runs the pipe: appends each line of `Deno.stdin` to the file that `args` name,
 * through an offlog server, and returns the exit code.
 *
 * @param args The command line: `[-s SOCKET] [--timeout MS] [--reconnect] FILE`, or
 * `--help`.
 * @returns 0 once the server has written every line; 1 when it refused the file or
 * was lost, or on another error (printed on stderr); 2 for bad arguments.
 *
 * @example
 * Not run as a doc test: it reads this process's standard input, then exits.
 * ```ts ignore
 * import { main } from "@offlog/offlog/pipe";
 *
 * // echo hello | deno run --allow-read=/tmp/offlog.sock --allow-write=/tmp/offlog.sock \
 * //   --allow-net=unix:/tmp/offlog.sock this_script.ts
 * Deno.exit(await main(["/tmp/app.log"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const parsed = parse(args);
  if (parsed.kind === "usage") {
    print(Deno.stderr, `${USAGE}\npipe.ts: error: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.kind === "help") {
    print(Deno.stdout, HELP);
    return 0;
  }
  let file: ProxyFile | null = null;
  const reader = Deno.stdin.readable.getReader();
  let code = 1;
  try {
    file = await ProxyFile.open(parsed.path, parsed.options);
    await send(reader, file);
    await file.close();
    code = 0;
  } catch (error) {
    print(Deno.stderr, `pipe.ts: ${describe(error)}\n`);
    await reader.cancel().catch(() => {});
  } finally {
    reader.releaseLock();
    // After a failure close() throws the same error again, or nothing is left to send.
    await file?.close().catch(() => {});
  }
  return code;
}

/** What the command line asks for. */
type Parsed =
  | { kind: "run"; path: string; options: ProxyFileOptions }
  | { kind: "help" }
  | { kind: "usage"; error: string };

function parse(args: string[]): Parsed {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        "socket-file": { type: "string", short: "s" },
        timeout: { type: "string" },
        reconnect: { type: "boolean" },
      },
    }));
  } catch (error) {
    return {
      kind: "usage",
      error: error instanceof Error ? error.message : String(error),
    };
  }
  if (values.help) return { kind: "help" };
  if (positionals.length !== 1) {
    const error = positionals.length === 0
      ? "the following arguments are required: FILE"
      : `unrecognized arguments: ${positionals.slice(1).join(" ")}`;
    return { kind: "usage", error };
  }
  const options: ProxyFileOptions = {
    socketPath: values["socket-file"] ?? DEFAULT_SOCKET_PATH,
    reconnect: values.reconnect ?? false,
  };
  if (values.timeout !== undefined) {
    const timeout = Number(values.timeout);
    if (!/^[0-9]+$/.test(values.timeout) || !(timeout > 0)) {
      const error =
        `argument --timeout: invalid value: '${values.timeout}' (ms, a positive integer)`;
      return { kind: "usage", error };
    }
    options.timeout = timeout;
  }
  return { kind: "run", path: positionals[0]!, options };
}

/** Reads `reader` to its end and writes each line to `file` as one record. */
async function send(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  file: ProxyFile,
): Promise<void> {
  const lines = new LineSplitter(MAX_RECORD_BYTES);
  let unflushed = 0;
  let flushing: Promise<void> | null = null;
  // Returns what to wait for before the next record, or null: awaiting nothing keeps
  // a chunk's lines in one turn, so the pump sends them in one frame, not one each.
  const write = (record: Uint8Array): Promise<void> | null => {
    file.write(record);
    unflushed += record.length;
    if (unflushed < FLUSH_EVERY_BYTES) return null;
    // Two flushes in flight at most: the server keeps writing while we wait for the
    // one before, and stdin is read no faster than the server writes.
    unflushed = 0;
    const previous = flushing;
    flushing = file.flush();
    flushing.catch(() => {}); // awaited below or at the end
    return previous;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const record of lines.push(value)) {
      const wait = write(record);
      if (wait !== null) await wait;
    }
  }
  for (const record of lines.end()) {
    const wait = write(record);
    if (wait !== null) await wait;
  }
  await flushing;
}

/**
 * Cuts a byte stream into records of one line each, newline included, of at most
 * `max` bytes; a longer line becomes several records, cut at a UTF-8 character
 * boundary. It holds only the unfinished line.
 *
 * The chunks of a default reader of `Deno.stdin.readable` are fresh buffers (a byte
 * stream with `autoAllocateChunkSize` allocates one for each read), so records that
 * fit in one chunk are views of it, queued without a copy.
 */
class LineSplitter {
  #max: number;
  #parts: Uint8Array[] = [];
  #size = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** The records that `chunk` completes. */
  *push(chunk: Uint8Array): Generator<Uint8Array> {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      let piece = chunk.subarray(start, end);
      start = end;
      while (this.#size + piece.length > this.#max) {
        const room = this.#max - this.#size;
        this.#add(piece.subarray(0, room));
        piece = piece.subarray(room);
        yield this.#cutFull();
      }
      if (newline === -1) {
        this.#add(piece);
      } else if (this.#size === 0) {
        yield piece;
      } else {
        this.#add(piece);
        yield this.#take();
      }
    }
  }

  /** The unfinished last line, ended with a newline. */
  *end(): Generator<Uint8Array> {
    if (this.#size === 0) return;
    if (this.#size < this.#max) {
      this.#add(Uint8Array.of(NEWLINE));
      yield this.#take();
    } else {
      yield this.#take();
      yield Uint8Array.of(NEWLINE);
    }
  }

  #add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#parts.push(piece);
    this.#size += piece.length;
  }

  #take(): Uint8Array {
    const parts = this.#parts;
    const whole = parts.length === 1 ? parts[0]! : new Uint8Array(this.#size);
    if (parts.length > 1) {
      let offset = 0;
      for (const part of parts) {
        whole.set(part, offset);
        offset += part.length;
      }
    }
    this.#parts = [];
    this.#size = 0;
    return whole;
  }

  /** A record of the held `max` bytes, less the start of a character cut in two. */
  #cutFull(): Uint8Array {
    const whole = this.#take();
    // Find the lead byte of the last character (past at most 3 continuation bytes,
    // 10xxxxxx); if that character does not end within the record, cut before it.
    let lead = whole.length - 1;
    while (lead > whole.length - 4 && lead > 0 && (whole[lead]! & 0xc0) === 0x80) lead--;
    const byte = whole[lead]!;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    const cut = lead > 0 && lead + length > whole.length ? lead : whole.length;
    this.#add(whole.subarray(cut));
    return whole.subarray(0, cut);
  }
}

/** The server's error as it named it, or the error's name and message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const server = error instanceof OfflogServerError
    ? error
    : error.cause instanceof OfflogServerError
    ? error.cause
    : null;
  if (server !== null) return `${server.serverName}: ${server.message}`;
  return `${error.name}: ${error.message}`;
}

function print(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  writeAllSync(stream, encoder.encode(text));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
