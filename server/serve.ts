/**
 * {@linkcode serve}: runs an offlog server on a Unix socket.
 *
 * @module
 */

import { DEFAULT_SOCKET_PATH } from "../protocol/mod.ts";
import type { ServeOptions } from "./serve_options.ts";

export type { ServeOptions } from "./serve_options.ts";
import { ServerLog } from "./_server_log.ts";
import { FileTable } from "./file_table.ts";
import type { FileOptions, SharedFile } from "./shared_file.ts";
import { DEFAULT_ROTATE_CHECK_MS, Rotation } from "./rotation.ts";
import { startBuiltinRotation } from "./_builtin_rotation.ts";
import { Session, type SessionContext } from "./session.ts";
import { ServerStats } from "./stats.ts";
import { startPeriodic } from "./_periodic.ts";
import { Access } from "./access.ts";
import { Notifier } from "./notify.ts";
import { describeScope } from "./scope.ts";
import { listen, listenWithMode, scratchPath } from "./_listen.ts";
import { Budget, DEFAULT_MAX_BUFFERED_BYTES } from "./budget.ts";
import { BufferPool } from "./buffer_pool.ts";
import { logText } from "./_log_text.ts";
import {
  DEFAULT_OPENING_TIMEOUT_MS,
  defaultMaxClients,
  RateLimitedLog,
} from "./_limits.ts";
import { encodeMessage, formatError } from "../protocol/mod.ts";

/**
 * A running server.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await using server = await serve({ socketPath: `${dir}/offlog.sock`, quiet: true });
 * assert.equal(server.socketPath, `${dir}/offlog.sock`);
 * await Deno.remove(dir, { recursive: true });
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
 * It changes nothing process-wide: no signal, `unhandledrejection` or `beforeunload`
 * listener. A program that embeds it decides what ends it, and closes the server
 * (or aborts `signal`) then; the `offlog` command wires SIGINT and SIGTERM to that.
 *
 * @param options Where to listen and log, and a signal to stop.
 * @returns The running server, once it listens.
 * @throws {Deno.errors.AddrInUse} Another server is listening on the socket.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const server = await serve({ socketPath: `${dir}/offlog.sock`, quiet: true });
 * assert.ok((await Deno.lstat(server.socketPath)).isSocket);
 * await server.close(); // and the socket is removed
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<OfflogServer> {
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const quiet = options.quiet ?? false;
  const log = await ServerLog.open(options.logFile ?? null, { quiet });
  let listener: Deno.UnixListener;
  let access: Access;
  let notifier: Notifier | null = null;
  try {
    log.info("This is offlog server");
    access = await Access.create(options.roots ?? []);
    for (
      const line of await describeScope(access.roots, options.roots ?? [], socketPath)
    ) {
      log.log(line.warning ? "WARNING" : "INFO", line.text);
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
    // The message alone: an Error given to %s would print its stack trace.
    log.error(
      "Cannot listen on socket %s: %s",
      socketPath,
      error instanceof Error ? error.message : error,
    );
    await log.close();
    throw error;
  }
  log.info("Listening on socket %s", socketPath);

  const openingTimeout = options.openingTimeout ?? DEFAULT_OPENING_TIMEOUT_MS;
  const maxClients = options.maxClients ?? await defaultMaxClients();
  const budgetLog = new RateLimitedLog((m) => log.warning(m));
  const budget = new Budget(
    options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    (m) => budgetLog.say(m),
  );
  const say = (message: string, warning = false) =>
    log.log(warning ? "WARNING" : "INFO", message);
  const pool = new BufferPool();
  const fileOptions: FileOptions = {
    pool,
    access: (path: string) => access.check(path),
    refuseHardlinks: access.confined && !(options.allowHardlinks ?? false),
    timeoutMs: openingTimeout,
    allowDevices: options.allowDevices ?? false,
    log: say,
  };
  const builtin = options.rotate
    ? startBuiltinRotation(options.rotate, () => context.files.open, say)
    : null;
  fileOptions.rotation = builtin?.files ?? null;
  const stats = new ServerStats();
  const sessions = new Set<Session>();
  const snapshot = () => {
    let clients = 0;
    for (const session of sessions) if (!session.isStatsRequest) clients++;
    return stats.snapshot(clients, context.files.paths());
  };
  const context: SessionContext = {
    files: new FileTable(fileOptions),
    pool,
    log: say,
    access: (path: string) => access.check(path),
    scope: access,
    budget,
    openingTimeout,
    stats: snapshot,
    onRefused: () => stats.refused(),
    onStatsRequest: () => stats.statsRequest(),
  };
  log.info(
    "Limits: --max-clients %d, --opening-timeout %d ms, --max-buffered-bytes %d%s",
    maxClients,
    openingTimeout,
    budget.limit,
    access.confined && !(options.allowHardlinks ?? false)
      ? ", hard-linked files refused (confined server)"
      : "",
  );
  const reopenFailures = new Map<string, string>();
  const onReopened = (file: SharedFile, why: string, error?: unknown) => {
    if (error !== undefined) {
      // Said once per file and error, not at every check.
      const text = String(error);
      if (reopenFailures.get(file.path) === text) return;
      reopenFailures.set(file.path, text);
      log.warning("Could not reopen %s (%s): %s", logText(file.path), why, logText(text));
      return;
    }
    reopenFailures.delete(file.path);
    log.info("Reopened %s (%s)", logText(file.path), why);
    for (const session of sessions) {
      if (session.file === file) session.rotated(options.tellRotated ?? false);
    }
  };
  fileOptions.onReopened = onReopened;
  const rotation = new Rotation(
    context.files,
    options.rotateCheck ?? DEFAULT_ROTATE_CHECK_MS,
    onReopened,
  );
  let stopping = false;
  const acceptErrors = new RateLimitedLog((m) => log.warning(m));
  const refusals = new RateLimitedLog((m) => log.warning(m));
  const accepting = (async () => {
    let id = 0;
    let backoff = 0;
    while (!stopping) {
      let conn: Deno.UnixConn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) break;
        // EMFILE and the like pass once descriptors are freed: wait, then go on.
        backoff = Math.min(Math.max(backoff * 2, 100), 1000);
        acceptErrors.say(`Cannot accept a client: ${error}; retrying in ${backoff} ms`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      stats.connected();
      if (sessions.size >= maxClients) {
        stats.refused();
        refusals.say(`Refused a client: too many clients (--max-clients ${maxClients})`);
        void refuse(
          conn,
          formatError(
            "ConnectionRefusedError",
            `Too many clients: the server serves at most ${maxClients} at once (--max-clients)`,
          ),
        );
        continue;
      }
      log.info("Client %d connected", id);
      const session = new Session(id++, conn, context);
      sessions.add(session);
      const forget = () => sessions.delete(session);
      session.done.then(forget, forget);
    }
  })();

  const periodic = await startPeriodic({
    snapshot,
    files: context.files,
    pool,
    log: say,
    statsInterval: options.statsInterval ?? 0,
    metricsFile: options.metricsFile ?? null,
    metricsInterval: options.metricsInterval ?? 15,
    syncInterval: options.syncInterval ?? 0,
    collectGarbage: options.collectGarbage,
  });

  const finished = Promise.withResolvers<void>();
  let closing: Promise<void> | null = null;
  const stop = async () => {
    stopping = true;
    rotation.stop();
    await periodic.stop();
    log.info("Shutting down");
    await notifier?.send("STOPPING=1\nSTATUS=Shutting down").catch((error) => {
      log.warning("Could not notify systemd (%s): %s", notifier?.target, String(error));
    });
    listener.close();
    await accepting;
    acceptErrors.flush();
    refusals.flush();
    budgetLog.flush();
    await removeSocket(socketPath);
    for (const session of sessions) session.shutdown();
    const grace = setTimeout(() => {
      for (const session of sessions) session.abort();
    }, options.shutdownGrace ?? 2000);
    while (sessions.size > 0) await Promise.all([...sessions].map((s) => s.done));
    clearTimeout(grace);
    await builtin?.stop();
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

/** Sends one refusal and closes, never waiting long on a client that does not read. */
async function refuse(conn: Deno.UnixConn, text: string): Promise<void> {
  const timer = setTimeout(() => conn.close(), 1000);
  try {
    await conn.write(encodeMessage(text));
  } catch {
    // gone already
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

async function removeSocket(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSocket) await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
