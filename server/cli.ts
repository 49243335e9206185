/**
 * The `offlog` server's command line: flags as in the Python offlog, signals wired
 * to a clean shutdown.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_SOCKET_PATH } from "../protocol/mod.ts";
import { DEFAULT_ROTATE_CHECK_MS } from "./rotation.ts";
import { serve } from "./serve.ts";
import { parseSocketMode } from "./_listen.ts";
import { VERSION } from "./version.ts";
import { requestStats } from "./_stats_request.ts";
import { DEFAULT_OPENING_TIMEOUT_MS } from "./_limits.ts";
import { parseByteSize } from "./_byte_size.ts";
import { parseRotateFlags, type RotatePolicy } from "./rotate_policy.ts";
import { garbageCollector } from "./_collect_garbage.ts";

const USAGE = "usage: offlog [-h] [--version] [-n] [-s SOCKET_FILE] [-l LOGFILE] " +
  "[--root DIR] [--socket-mode MODE] [--rotate-size SIZE] " +
  "[--rotate-interval DURATION] [--rotate-keep N] [--rotate-compress] " +
  "[--rotate-check MS] [--tell-rotated] " +
  "[--max-clients N] [--opening-timeout MS] [--max-buffered-bytes N] " +
  "[--allow-hardlinks] [--allow-devices] [--stats-interval S] [--metrics-file PATH] " +
  "[--metrics-interval S] [--sync-interval MS] [--stats]";

const HELP = `${USAGE}

offlog file-append service

options:
  -h, --help            show this help message and exit
  --version             show the version and exit
  -n, --notify          Notify systemd when the server has started up and is
                        listening (READY=1 to $NOTIFY_SOCKET), and when it
                        shuts down (STOPPING=1). Needs Deno's --unstable-net
                        and --allow-env=NOTIFY_SOCKET: see README.
  -s SOCKET_FILE, --socket-file SOCKET_FILE
                        Path of the Unix socket the server binds to. Default:
                        ${DEFAULT_SOCKET_PATH}
  -l LOGFILE, --logfile LOGFILE
                        Path of the (optional) log file for the offlog server
                        itself.
  --root DIR            Open files for clients only under DIR (repeatable),
                        checked on the real path, symlinks and .. resolved.
  --socket-mode MODE    Mode of the socket file, octal, e.g. 0660; it never has
                        another mode at its path. Needs Deno's
                        --allow-net=unix:SOCKET_FILE.tmp too. Default: the
                        umask's.
  --rotate-size SIZE    Rotate each file once it holds SIZE bytes (at least 4K;
                        K, M or G), between two whole records: PATH becomes
                        PATH.1, PATH.1 becomes PATH.2, and so on. Clients
                        notice nothing. Default: off.
  --rotate-interval DURATION
                        Rotate each file that has data once it is DURATION old
                        (90s, 15m, 1h, 1d), counted from when the server
                        opened or last rotated it. Default: off.
  --rotate-keep N       Rotated files kept per file (PATH.1 to PATH.N); older
                        ones are removed. Default: 5, with --rotate-size or
                        --rotate-interval.
  --rotate-compress     Compress rotated files to PATH.N.gz in the background,
                        one at a time (written as .NAME.gz.tmp, then renamed).
  --rotate-check MS     How often to check whether an open file was moved or
                        deleted, and reopen it at its path. 0: never. Default:
                        ${DEFAULT_ROTATE_CHECK_MS}. SIGHUP reopens every file at once.
  --tell-rotated        Send ROTATED to 0.x clients too (offlog 0.3 clients only;
                        a 0.1 client takes it for an error).
  --max-clients N       Connections served at once; more are refused with
                        ConnectionRefusedError. Default: 4096, or half the
                        open-file limit if that is lower.
  --opening-timeout MS  Time a client has to send its opening and the server to
                        open its file; then it is refused. Default:
                        ${DEFAULT_OPENING_TIMEOUT_MS}.
  --max-buffered-bytes N
                        Memory for all clients' records not yet written and
                        records being received (at most half of it; a client
                        past that is refused). Bytes, or with K, M or G
                        (KiB, MiB, GiB). Default: 256M.
  --allow-hardlinks     Let a confined server (--root, or a scoped
                        --allow-write) open files with more than one hard link,
                        which it otherwise refuses.
  --allow-devices       Let clients open character devices (/dev/null,
                        /dev/full); only regular files otherwise.
  --stats-interval S    Write a stats line to the server's log every S seconds.
                        Default: off.
  --metrics-file PATH   Keep the server's figures in PATH in the Prometheus text
                        format (node_exporter's textfile collector), rewritten
                        atomically (PATH.tmp, then a rename).
  --metrics-interval S  Seconds between rewrites of --metrics-file. Default: 15.
  --sync-interval MS    Sync (fdatasync) every file that changed, every MS.
                        Default: off (clients ask with flush({ durable: true })).
  --stats               Ask the server running on SOCKET_FILE for its figures,
                        print them as one JSON object, and exit (1 when no
                        server answers). Needs only the socket's permissions.

Deno needs --allow-read and --allow-write on the files to serve and on the socket,
and --allow-net=unix:SOCKET_FILE for the socket.
`;

/**
 * Runs the server with command-line arguments until SIGINT or SIGTERM.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The exit code: 0 after a clean shutdown, 1 when the server could not
 * start, 2 for bad arguments.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 * const code = await main(["--version"]); // prints "offlog 0.1.0"
 * assert.equal(code, 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(args),
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        notify: { type: "boolean", short: "n" },
        "socket-file": { type: "string", short: "s", default: DEFAULT_SOCKET_PATH },
        logfile: { type: "string", short: "l" },
        "rotate-check": { type: "string" },
        "rotate-size": { type: "string" },
        "rotate-interval": { type: "string" },
        "rotate-keep": { type: "string" },
        "rotate-compress": { type: "boolean" },
        "tell-rotated": { type: "boolean" },
        root: { type: "string", multiple: true },
        "socket-mode": { type: "string" },
        "max-clients": { type: "string" },
        "opening-timeout": { type: "string" },
        "max-buffered-bytes": { type: "string" },
        "allow-hardlinks": { type: "boolean" },
        "allow-devices": { type: "boolean" },
        "stats-interval": { type: "string" },
        "metrics-file": { type: "string" },
        "metrics-interval": { type: "string" },
        "sync-interval": { type: "string" },
        stats: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`${USAGE}\nofflog: error: ${(error as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.version) {
    console.log(`offlog ${VERSION}`);
    return 0;
  }
  if (values.stats) {
    try {
      const snapshot = await requestStats(values["socket-file"], 5000);
      console.log(JSON.stringify(snapshot));
      return 0;
    } catch (error) {
      console.error(`offlog: error: ${(error as Error).message}`);
      return 1;
    }
  }
  const rotateCheckText = values["rotate-check"] ?? String(DEFAULT_ROTATE_CHECK_MS);
  const rotateCheck = Number(rotateCheckText);
  if (!/^[0-9]+$/.test(rotateCheckText) || !Number.isSafeInteger(rotateCheck)) {
    console.error(
      `${USAGE}\nofflog: error: --rotate-check takes a whole number of ms (0: never), ` +
        `not "${rotateCheckText}"`,
    );
    return 2;
  }
  const limits: {
    maxClients?: number;
    openingTimeout?: number;
    maxBufferedBytes?: number;
    statsInterval?: number;
    metricsInterval?: number;
    syncInterval?: number;
  } = {};
  let rotate: RotatePolicy | null = null;
  try {
    const numbers = [
      ["stats-interval", "statsInterval", 0],
      ["metrics-interval", "metricsInterval", 1],
      ["sync-interval", "syncInterval", 0],
    ] as const;
    for (const [flag, key, min] of numbers) {
      const text = values[flag];
      if (text !== undefined) limits[key] = wholeNumber(`--${flag}`, text, min);
    }
    if (values["max-clients"] !== undefined) {
      limits.maxClients = wholeNumber("--max-clients", values["max-clients"], 1);
    }
    if (values["opening-timeout"] !== undefined) {
      limits.openingTimeout = wholeNumber(
        "--opening-timeout",
        values["opening-timeout"],
        1,
      );
    }
    if (values["max-buffered-bytes"] !== undefined) {
      limits.maxBufferedBytes = parseBytes(values["max-buffered-bytes"]);
    }
    rotate = parseRotateFlags({
      size: values["rotate-size"],
      interval: values["rotate-interval"],
      keep: values["rotate-keep"],
      compress: values["rotate-compress"],
    });
  } catch (error) {
    console.error(`${USAGE}\nofflog: error: ${(error as Error).message}`);
    return 2;
  }
  let socketMode: number | undefined;
  try {
    if (values["socket-mode"] !== undefined) {
      socketMode = parseSocketMode(values["socket-mode"]);
    }
  } catch (error) {
    console.error(`${USAGE}\nofflog: error: ${(error as Error).message}`);
    return 2;
  }
  // The plain `deno run` has no gc(): without it a burst's memory stays until the
  // next write (see _collect_garbage.ts).
  const gc = garbageCollector();
  const controller = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => controller.abort();
  let onHangup: (() => void) | undefined;
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    const server = await serve({
      socketPath: values["socket-file"],
      logFile: values.logfile ?? null,
      signal: controller.signal,
      rotateCheck,
      tellRotated: values["tell-rotated"] ?? false,
      roots: values.root ?? [],
      notify: values.notify ?? false,
      allowHardlinks: values["allow-hardlinks"] ?? false,
      allowDevices: values["allow-devices"] ?? false,
      metricsFile: values["metrics-file"] ?? null,
      rotate,
      ...(gc === null ? {} : { collectGarbage: gc }),
      ...limits,
      ...(socketMode === undefined ? {} : { socketMode }),
    });
    onHangup = () => void server.reopen();
    Deno.addSignalListener("SIGHUP", onHangup);
    await server.finished;
    return 0;
  } catch (error) {
    console.error(`offlog: error: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    if (onHangup) Deno.removeSignalListener("SIGHUP", onHangup);
  }
}

/** Flags whose value is a number (or a mode), which a negative value must reach. */
const NUMERIC_FLAGS = new Set([
  "--rotate-check",
  "--max-clients",
  "--opening-timeout",
  "--max-buffered-bytes",
  "--stats-interval",
  "--metrics-interval",
  "--sync-interval",
  "--socket-mode",
  "--rotate-size",
  "--rotate-interval",
  "--rotate-keep",
]);

/**
 * `--max-clients -5` as `--max-clients=-5`: `parseArgs` takes a value that starts
 * with a dash for an option ("argument is ambiguous"), so a negative number would not
 * reach the flag's own check and message.
 */
function joinNegativeValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (NUMERIC_FLAGS.has(arg) && next !== undefined && /^-[0-9.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `${flag} takes a whole number of at least ${min}, not "${text}"`,
    );
  }
  return value;
}

/**
 * Parses a byte count: a whole number, optionally followed by K, M or G (KiB, MiB,
 * GiB).
 *
 * @param text The value, e.g. `256M`.
 * @returns The bytes.
 * @throws {RangeError} It is not such a count, or it is below 64 KiB.
 *
 * @example
 * ```ts
 * import { parseBytes } from "./cli.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseBytes("8M"), 8 * 1024 * 1024);
 * ```
 */
export function parseBytes(text: string): number {
  return parseByteSize("--max-buffered-bytes", text, 64 * 1024);
}
