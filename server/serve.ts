/**
 * {@linkcode serve}: runs an offlog server on a Unix socket.
 *
 * @module
 */

import { DEFAULT_SOCKET_PATH } from "../protocol/mod.ts";
import { INFO, WARNING } from "../client/levels.ts";
import { Logger } from "../client/logger.ts";
import { FileTable } from "./file_table.ts";
import { DEFAULT_ROTATE_CHECK_MS, Rotation } from "./rotation.ts";
import { Session } from "./session.ts";
import { Access } from "./access.ts";
import { Notifier } from "./notify.ts";
import { describeScope } from "./scope.ts";
import { listen, listenWithMode, scratchPath } from "./_listen.ts";

/**
 * Options of {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./serve.ts";
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
  /** Aborting it shuts the server down, as {@linkcode OfflogServer.close} does. */
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
}

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import { serve } from "./serve.ts";
 * await using server = await serve({ socketPath: "/tmp/test.sock" });
 * console.log(server.socketPath);
 * ```
 */
export interface OfflogServer extends AsyncDisposable {
  /** The socket it listens on. */
  readonly socketPath: string;
  /** Resolves once the server has shut down and written everything. */
  readonly finished: Promise<void>;
  /**
   * Shuts down: stops accepting, removes the socket file, tells every client
   * `OSError: offlog server exited`, writes what they sent, closes the files.
   * Safe to call twice.
   */
  close(): Promise<void>;
  /** Reopens every open file at its path, as SIGHUP does. */
  reopen(): Promise<void>;
}

/**
 * Starts an offlog server. A socket file left by a dead server is replaced; a socket
 * on which a live server answers is not.
 *
 * @param options Where to listen and log, and a signal to stop.
 * @returns The running server, once it listens.
 * @throws {Deno.errors.AddrInUse} Another server is listening on the socket.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await serve({ socketPath: `${dir}/offlog.sock`, quiet: true });
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<OfflogServer> {
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const quiet = options.quiet ?? false;
  const log = await Logger.open("offlog", options.logFile ?? null, {
    localFile: true,
    stdoutLevel: quiet ? null : INFO,
    stderrLevel: quiet ? null : WARNING,
  });
  let listener: Deno.UnixListener;
  let access: Access;
  let notifier: Notifier | null = null;
  try {
    log.info("This is offlog server");
    access = await Access.create(options.roots ?? []);
    for (const line of await describeScope(access.roots)) {
      log.log(line.warning ? WARNING : INFO, line.text);
    }
    if (options.notify) {
      notifier = await Notifier.create(scratchPath(socketPath));
      if (notifier === null) log.info("NOTIFY_SOCKET is not set: not notifying systemd");
    }
  } catch (error) {
    log.error("Cannot start: %s", error instanceof Error ? error.message : error);
    await log.close();
    throw error;
  }
  try {
    listener = options.socketMode === undefined
      ? await listen(socketPath, (m) => log.warning(m))
      : await listenWithMode(socketPath, options.socketMode, (m) => log.warning(m));
  } catch (error) {
    log.error("Cannot listen on socket %s: %s", socketPath, error);
    await log.close();
    throw error;
  }
  log.info("Listening on socket %s", socketPath);

  const context = {
    files: new FileTable((path) => access.check(path)),
    log: (message: string, warning = false) => log.log(warning ? WARNING : INFO, message),
    access: (path: string) => access.check(path),
  };
  const sessions = new Set<Session>();
  const rotation = new Rotation(
    context.files,
    options.rotateCheck ?? DEFAULT_ROTATE_CHECK_MS,
    (file, why, error) => {
      if (error !== undefined) {
        log.warning("Could not reopen %s (%s): %s", file.path, why, error);
        return;
      }
      log.info("Reopened %s (%s)", file.path, why);
      for (const session of sessions) {
        if (session.file === file) session.rotated(options.tellRotated ?? false);
      }
    },
  );
  let stopping = false;
  const accepting = (async () => {
    let id = 0;
    try {
      for await (const conn of listener) {
        log.info("Client %d connected", id);
        const session = new Session(id++, conn, context);
        sessions.add(session);
        const forget = () => sessions.delete(session);
        session.done.then(forget, forget);
      }
    } catch (error) {
      if (!stopping) log.error("Stopped accepting clients: %s", error);
    }
  })();

  const finished = Promise.withResolvers<void>();
  let closing: Promise<void> | null = null;
  const stop = async () => {
    stopping = true;
    rotation.stop();
    log.info("Shutting down");
    await notifier?.send("STOPPING=1\nSTATUS=Shutting down").catch((error) => {
      log.warning("Could not notify systemd (%s): %s", notifier?.target, String(error));
    });
    listener.close();
    await accepting;
    await removeSocket(socketPath);
    for (const session of sessions) session.shutdown();
    const grace = setTimeout(() => {
      for (const session of sessions) session.abort();
    }, options.shutdownGrace ?? 2000);
    while (sessions.size > 0) await Promise.all([...sessions].map((s) => s.done));
    clearTimeout(grace);
    log.info("Exiting");
    await log.close();
    finished.resolve();
  };
  const close = () => closing ??= stop();
  const onAbort = () => void close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  finished.promise.then(() => options.signal?.removeEventListener("abort", onAbort));
  if (options.signal?.aborted) void close();
  if (notifier !== null) {
    try {
      await notifier.send(`READY=1\nSTATUS=Listening on socket ${socketPath}`);
      log.info("Notified systemd (%s): READY=1", notifier.target);
    } catch (error) {
      log.error("Cannot notify systemd (%s): %s", notifier.target, String(error));
      await close();
      throw error;
    }
  }

  return {
    socketPath,
    finished: finished.promise,
    close,
    reopen: () => rotation.reopenAll("reopen requested"),
    [Symbol.asyncDispose]: close,
  };
}

async function removeSocket(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSocket) await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
