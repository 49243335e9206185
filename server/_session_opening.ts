/**
 * A connection's opening, before it becomes a client of a file: the opening is read
 * (within `--opening-timeout`), the path checked and its file joined, or the client
 * refused; a stats request is answered here and ends the connection.
 *
 * @module
 */

import {
  formatError,
  NOT_ABSOLUTE,
  OK,
  OpeningReader,
  type ProtocolVersion,
  STATS_PREFIX,
} from "../protocol/mod.ts";
import { type ClientConn, MIN_READ } from "./_client_conn.ts";
import { type FileRefusal, refusalOf } from "./_describe_error.ts";
import { logText } from "./_log_text.ts";
import type { Owner } from "./_owner.ts";
import type { SessionContext } from "./session_context.ts";
import type { SharedFile } from "./shared_file.ts";

/** What the opening needs from its session, and tells it. */
export interface OpeningHost {
  /** The client's number in the log. */
  readonly id: number;
  /** Its connection. */
  readonly conn: ClientConn;
  /** The server's parts. */
  readonly context: SessionContext;
  /** The session, as its file's owner. */
  readonly owner: Owner;
  /** The file is joined (the session leaves it when it ends, refused or not). */
  joined(file: SharedFile, version: ProtocolVersion): void;
  /** The connection is a stats request, not a client of a file. */
  statsRequest(): void;
}

/**
 * Reads the opening and joins the client's file.
 *
 * @param host The session.
 * @returns The bytes read after the opening, to serve as records; `null` when the
 * connection ends here (refused, a stats request, timed out, or gone).
 */
export async function readOpening(host: OpeningHost): Promise<Uint8Array | null> {
  const timeout = host.context.openingTimeout ?? 0;
  const state = { timedOut: false };
  const timer = timeout > 0
    ? setTimeout(() => timeOut(host, state, timeout), timeout)
    : 0;
  try {
    return await read(host, state);
  } finally {
    clearTimeout(timer);
  }
}

/** The opening took too long: refuse and close, which ends the pending read. */
function timeOut(host: OpeningHost, state: { timedOut: boolean }, ms: number): void {
  if (host.conn.closed) return;
  state.timedOut = true;
  host.context.onRefused?.();
  host.context.log(
    `Client ${host.id} timed out before completing its opening (${ms} ms)`,
    true,
  );
  host.conn.send(
    formatError(
      "TimeoutError",
      `Opening not completed within ${ms} ms (--opening-timeout)`,
    ),
  );
  host.conn.sent().then(() => host.conn.close());
}

async function read(
  host: OpeningHost,
  state: { timedOut: boolean },
): Promise<Uint8Array | null> {
  const { conn, context } = host;
  const refuse = (refusal: FileRefusal | string, where: string) =>
    state.timedOut ? null : refuseClient(host, refusal, where);
  const reader = new OpeningReader();
  for (;;) {
    const chunk = await conn.read(MIN_READ);
    if (state.timedOut) return null;
    if (chunk === null) {
      context.log(`Client ${host.id} disconnected`);
      return null;
    }
    const result = reader.push(chunk);
    if (result.state === "more") continue;
    if (result.state === "stats") return answerStats(host);
    if (result.state === "refused") {
      return refuse(formatError(result.name, result.message), "");
    }
    let path: string;
    try {
      path = new TextDecoder("utf-8", { fatal: true }).decode(result.path);
    } catch {
      return refuse(formatError("ValueError", "path is not valid UTF-8"), "");
    }
    const named = ` for ${logText(path)}`;
    if (!path.startsWith("/")) {
      return refuse(formatError("ValueError", NOT_ABSOLUTE), named);
    }
    const access = await context.access?.(path) ?? { path };
    if (state.timedOut) return null;
    if ("refusal" in access) return refuse(access.refusal, named);
    let file: SharedFile;
    try {
      file = await context.files.acquire(access.path, host.owner);
    } catch (error) {
      return refuse(refusalOf(error, path, context.scope?.describe() ?? ""), named);
    }
    context.scope?.opened(access.path);
    host.joined(file, result.version);
    if (state.timedOut || host.owner.failed) return null;
    const real = access.path === path ? "" : ` (real path ${logText(access.path)})`;
    context.log(`Client ${host.id} access confirmed${named}${real}`);
    context.log(`New client ${host.id} (total: ${file.clients})${named}`);
    conn.send(OK);
    return result.rest;
  }
}

/**
 * A stats request: the figures as one message, then the connection closes. The
 * answer counts against the budget's share for replies, and a client that does not
 * read it within `--opening-timeout` is closed, so that unread answers cannot pile up.
 */
function answerStats(host: OpeningHost): null {
  const { conn, context } = host;
  host.statsRequest();
  context.onStatsRequest?.();
  const stats = context.stats;
  if (stats === undefined) {
    return refuseClient(host, formatError("ValueError", "stats are not available"), "");
  }
  context.log(`Client ${host.id} asked for stats`);
  if (!conn.sendLarge(STATS_PREFIX + JSON.stringify(stats()))) {
    return refuseClient(
      host,
      formatError(
        "MemoryError",
        `Stats refused: replies waiting for clients that do not read them fill their ` +
          `share of the server's memory budget (--max-buffered-bytes ` +
          `${context.budget.limit})`,
      ),
      "",
    );
  }
  const timeout = context.openingTimeout ?? 0;
  if (timeout > 0) {
    const timer = setTimeout(() => {
      context.log(
        `Client ${host.id} did not read its stats answer within ${timeout} ms ` +
          `(--opening-timeout): closed`,
        true,
      );
      conn.close();
    }, timeout);
    void conn.sent().then(() => clearTimeout(timer));
  }
  return null;
}

/** Refuses the client; advice for the operator (a flag to grant) goes to the log. */
function refuseClient(
  host: OpeningHost,
  refusal: FileRefusal | string,
  where: string,
): null {
  const wire = typeof refusal === "string" ? refusal : refusal.wire;
  const hint = typeof refusal === "string" || refusal.operatorHint === ""
    ? ""
    : ` (for the operator: ${refusal.operatorHint})`;
  host.context.onRefused?.();
  host.context.log(
    `Client ${host.id} access denied${where}: ${logText(wire)}${logText(hint)}`,
    true,
  );
  host.conn.send(wire);
  return null;
}
