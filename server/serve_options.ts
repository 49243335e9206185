/**
 * {@linkcode ServeOptions}: how `serve()` (serve.ts) runs a server.
 *
 * @module
 */

import type { RotatePolicy } from "./rotate_policy.ts";

/**
 * Options of `serve()` (serve.ts).
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./serve_options.ts";
 * const options: ServeOptions = { socketPath: "/run/offlog.sock", logFile: null };
 * ```
 */
export interface ServeOptions {
  /**
   * The socket to listen on.
   * @default {"/tmp/offlog.sock"}
   */
  socketPath?: string;
  /**
   * A file for the server's own log, besides stdout; `null` for none.
   * @default {null}
   */
  logFile?: string | null;
  /** Aborting it shuts the server down, as `OfflogServer.close()` does. */
  signal?: AbortSignal;
  /**
   * Print no log lines to stdout and stderr (the log file still gets them).
   * @default {false}
   */
  quiet?: boolean;
  /**
   * Milliseconds that clients get at shutdown to finish sending before their
   * connections are closed.
   * @default {2000}
   */
  shutdownGrace?: number;
  /**
   * Milliseconds between checks of whether an open file was moved or deleted (then it
   * is reopened at its path); 0 turns the checks off.
   * @default {5000}
   */
  rotateCheck?: number;
  /**
   * Built-in rotation of every file the server opens (`--rotate-size`,
   * `--rotate-interval`, `--rotate-keep`, `--rotate-compress`), from
   * `parseRotateFlags()` (rotate_policy.ts); `null`: none (rotate with logrotate and
   * SIGHUP, or `rotateCheck`, instead).
   * @default {null}
   */
  rotate?: RotatePolicy | null;
  /**
   * Send `ROTATED` to 0.x clients too (only offlog 0.3 clients understand it).
   * @default {false}
   */
  tellRotated?: boolean;
  /**
   * Directories clients' files must be in (`--root`), checked on the real path with
   * symlinks and `..` resolved, on top of Deno's own permission scope, which is
   * checked the same way. Empty: only Deno's permissions confine the server.
   * @default {[]}
   */
  roots?: readonly string[];
  /**
   * Permission bits of the socket file, e.g. `0o660`; it never has any other mode at
   * its path. Needs Deno's `--allow-net=unix:<socket>.tmp` too. Unset: the umask's.
   */
  socketMode?: number;
  /**
   * Send `READY=1` to systemd's `$NOTIFY_SOCKET` once listening, and `STOPPING=1` at
   * shutdown. Needs Deno's `--unstable-net`: see `notify.ts`.
   * @default {false}
   */
  notify?: boolean;
  /**
   * Connections served at once at most (opened or still opening); one more is sent
   * `ConnectionRefusedError` and closed.
   * @default {4096, or half the process's open-file limit if that is lower}
   */
  maxClients?: number;
  /**
   * Milliseconds a client has to complete its opening (and the server to open its
   * file); then it is refused and closed. Once open, a client may idle for ever.
   * @default {10000}
   */
  openingTimeout?: number;
  /**
   * Bytes the server holds for all clients at most: records read and not yet
   * written, and records being received (those at most half of it: a client whose
   * unfinished record would pass that is refused).
   * @default {268435456}
   */
  maxBufferedBytes?: number;
  /**
   * Let a confined server (`roots`, or Deno's `--allow-write` scoped to paths) open
   * files with more than one hard link, which it otherwise refuses: a hard link
   * inside the scope can lead to a file outside it.
   * @default {false}
   */
  allowHardlinks?: boolean;
  /**
   * Let clients open character devices such as `/dev/null` or `/dev/full`, which are
   * refused otherwise, as FIFOs, sockets and block devices always are. A device whose
   * open or writes can block (a terminal) stalls the clients of that path.
   * @default {false}
   */
  allowDevices?: boolean;
  /**
   * Seconds between stats lines in the server's log; 0: none.
   * @default {0}
   */
  statsInterval?: number;
  /**
   * A file to keep the figures in, in the Prometheus text format (for
   * node_exporter's textfile collector), rewritten atomically; `null`: none.
   * @default {null}
   */
  metricsFile?: string | null;
  /**
   * Seconds between rewrites of `metricsFile`.
   * @default {15}
   */
  metricsInterval?: number;
  /**
   * Milliseconds between syncs (`fdatasync`) of every file that changed; 0: none
   * (clients ask with a durable flush).
   * @default {0}
   */
  syncInterval?: number;
  /**
   * Collects garbage at once: called once a burst is over (no byte moved for 2 s),
   * after the buffer pool is emptied, so that the burst's memory goes back to the
   * system instead of waiting for the next allocation. The `offlog` command passes
   * V8's `gc()`, exposed at run time.
   * @default {globalThis.gc, when Deno runs with --v8-flags=--expose-gc}
   */
  collectGarbage?: () => void;
}
