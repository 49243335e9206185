/**
 * {@linkcode ServerStats}: what the server is doing, for `--stats`, `--metrics-file` and
 * `--stats-interval`.
 *
 * @module
 */

import type { PathFigures } from "./file_table.ts";

/**
 * One open file in a stats snapshot.
 *
 * @example
 * ```ts
 * import type { FileStats } from "./stats.ts";
 * const file: FileStats = {
 *   path: "/var/log/app/a.log", open: true, clients: 2, bytesWritten: 1024,
 *   backlogBytes: 0, writeErrors: 0, reopens: 1, syncs: 0,
 *   rotations: 0, currentBytes: 1024,
 * };
 * ```
 */
export interface FileStats {
  /** The path as opened (the real path on a confined server). */
  path: string;
  /** Whether a file is open for it now (it has clients). */
  open: boolean;
  /** Clients writing to it now. */
  clients: number;
  /** Bytes appended to this path since the server started. */
  bytesWritten: number;
  /** Bytes read from its clients and not yet written. */
  backlogBytes: number;
  /** Failed writes and syncs since the server started. */
  writeErrors: number;
  /** Reopens after rotation since the server started. */
  reopens: number;
  /** `fdatasync` calls since the server started. */
  syncs: number;
  /** Rotations by the server itself since it started (`--rotate-size`, ...). */
  rotations: number;
  /** Bytes in the file now at the path (since its last rotation); 0 when not open. */
  currentBytes: number;
}

/**
 * A snapshot of the server, as `server.ts --stats` prints it.
 *
 * @example
 * ```ts
 * import type { StatsSnapshot } from "./stats.ts";
 * const snapshot: StatsSnapshot = {
 *   uptimeMs: 1000, clients: 0, connectionsTotal: 0, refusedTotal: 0, files: [],
 * };
 * ```
 */
export interface StatsSnapshot {
  /** Milliseconds since the server started. */
  uptimeMs: number;
  /** Connections open now (stats requests not counted). */
  clients: number;
  /** Connections accepted since the start (stats requests not counted). */
  connectionsTotal: number;
  /** Connections refused since the start: too many clients, bad openings, limits. */
  refusedTotal: number;
  /**
   * Every path counted since the start: those open now, and closed ones (kept within
   * the bound of 4,096 counted paths).
   */
  files: FileStats[];
}

/**
 * The server's counters.
 *
 * @example
 * ```ts
 * import { ServerStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const stats = new ServerStats();
 * stats.connected();
 * stats.refused();
 * const snapshot = stats.snapshot(1, []);
 * assert.equal(snapshot.connectionsTotal, 1);
 * assert.equal(snapshot.refusedTotal, 1);
 * ```
 */
export class ServerStats {
  #started = performance.now();
  #connections = 0;
  #refused = 0;

  /** A client connected. */
  connected(): void {
    this.#connections++;
  }

  /** A connection turned out to be a stats request: not counted as a client. */
  statsRequest(): void {
    this.#connections--;
  }

  /** A client was refused. */
  refused(): void {
    this.#refused++;
  }

  /**
   * The figures now.
   *
   * @param clients Connections open now.
   * @param paths The counted paths (`FileTable.paths()`).
   * @returns The snapshot.
   */
  snapshot(clients: number, paths: readonly PathFigures[]): StatsSnapshot {
    return {
      uptimeMs: Math.round(performance.now() - this.#started),
      clients,
      connectionsTotal: this.#connections,
      refusedTotal: this.#refused,
      files: paths.map(({ path, counters, file }) => ({
        path,
        open: file !== null,
        clients: file?.clients ?? 0,
        bytesWritten: counters.bytesWritten,
        backlogBytes: file?.backlog ?? 0,
        writeErrors: counters.writeErrors,
        reopens: counters.reopens,
        syncs: counters.syncs,
        rotations: counters.rotations,
        currentBytes: file?.size ?? 0,
      })),
    };
  }
}

/**
 * A snapshot in the Prometheus text format, for node_exporter's textfile collector.
 *
 * @param snapshot The figures.
 * @returns The text, metric names starting with `offlog_`, one series per file.
 *
 * @example
 * ```ts
 * import { prometheusText } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const text = prometheusText({
 *   uptimeMs: 1500, clients: 1, connectionsTotal: 3, refusedTotal: 0, files: [],
 * });
 * assert.match(text, /^offlog_uptime_seconds 1\.5$/m);
 * ```
 */
export function prometheusText(snapshot: StatsSnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, values: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...values);
  };
  metric("offlog_uptime_seconds", "gauge", "Seconds since the server started.", [
    `offlog_uptime_seconds ${snapshot.uptimeMs / 1000}`,
  ]);
  metric("offlog_clients", "gauge", "Connections open now.", [
    `offlog_clients ${snapshot.clients}`,
  ]);
  metric("offlog_connections_total", "counter", "Connections accepted.", [
    `offlog_connections_total ${snapshot.connectionsTotal}`,
  ]);
  metric("offlog_refused_total", "counter", "Connections refused.", [
    `offlog_refused_total ${snapshot.refusedTotal}`,
  ]);
  const perFile: [Exclude<keyof FileStats, "path">, string, string, string][] = [
    ["open", "offlog_file_open", "gauge", "1 while the file is open, 0 once closed."],
    ["clients", "offlog_file_clients", "gauge", "Clients writing to the file."],
    [
      "bytesWritten",
      "offlog_file_bytes_written_total",
      "counter",
      "Bytes appended to the file.",
    ],
    [
      "backlogBytes",
      "offlog_file_backlog_bytes",
      "gauge",
      "Bytes received and not yet written.",
    ],
    [
      "writeErrors",
      "offlog_file_write_errors_total",
      "counter",
      "Failed writes and syncs.",
    ],
    ["reopens", "offlog_file_reopens_total", "counter", "Reopens after rotation."],
    ["syncs", "offlog_file_syncs_total", "counter", "fdatasync calls."],
    [
      "rotations",
      "offlog_file_rotations_total",
      "counter",
      "Rotations by the server itself.",
    ],
    [
      "currentBytes",
      "offlog_file_current_bytes",
      "gauge",
      "Bytes in the file now at the path.",
    ],
  ];
  for (const [key, name, type, help] of perFile) {
    metric(
      name,
      type,
      help,
      snapshot.files.map((file) =>
        `${name}{path="${labelValue(file.path)}"} ${Number(file[key])}`
      ),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * One line for the server's own log, as rsyslog's impstats writes one.
 *
 * @param snapshot The figures.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { statsLine } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const line = statsLine({
 *   uptimeMs: 0, clients: 2, connectionsTotal: 5, refusedTotal: 1, files: [],
 * });
 * assert.equal(line, "Stats: clients=2 connections=5 refused=1 files=0 written=0 backlog=0 errors=0");
 * ```
 */
export function statsLine(snapshot: StatsSnapshot): string {
  let open = 0;
  let written = 0;
  let backlog = 0;
  let errors = 0;
  for (const file of snapshot.files) {
    if (file.open) open++;
    written += file.bytesWritten;
    backlog += file.backlogBytes;
    errors += file.writeErrors;
  }
  return `Stats: clients=${snapshot.clients} connections=${snapshot.connectionsTotal} ` +
    `refused=${snapshot.refusedTotal} files=${open} ` +
    `written=${written} backlog=${backlog} errors=${errors}`;
}

/** A label value as the text format wants it: backslash, quote and newline escaped. */
function labelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
