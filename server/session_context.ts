/**
 * {@linkcode SessionContext}: what a `Session` needs from its server.
 *
 * @module
 */

import type { FileTable } from "./file_table.ts";
import type { AccessResult, ScopeNotes } from "./access.ts";
import type { Budget } from "./budget.ts";
import type { BufferSource } from "../protocol/mod.ts";
import type { StatsSnapshot } from "./stats.ts";

/**
 * What a session needs from its server.
 *
 * @example
 * ```ts
 * import type { SessionContext } from "./session_context.ts";
 * import { FileTable } from "./file_table.ts";
 * import { Budget } from "./budget.ts";
 * const context: SessionContext = {
 *   files: new FileTable(),
 *   budget: new Budget(),
 *   log: console.log,
 * };
 * ```
 */
export interface SessionContext {
  /** The open files. */
  files: FileTable;
  /** Writes one line of the server's log at INFO (or WARNING). */
  log: (message: string, warning?: boolean) => void;
  /**
   * Decides whether a client may have a path opened, and which path to open (see
   * `access.ts`); without it, paths are opened as given.
   */
  access?: (path: string) => Promise<AccessResult>;
  /** What the server knows of its scope, for refused clients (the `Access`). */
  scope?: ScopeNotes;
  /** The memory bound shared by all clients: every byte held for them counts. */
  budget: Budget;
  /** Where readers get buffers for records that span reads (the server's pool). */
  pool?: BufferSource;
  /**
   * Milliseconds the client has to complete its opening; 0 or unset: no limit.
   * @default {0}
   */
  openingTimeout?: number;
  /** The server's figures, for a stats request; none: stats are refused. */
  stats?: () => StatsSnapshot;
  /** Told when a client is refused, and when a connection was a stats request. */
  onRefused?: () => void;
  onStatsRequest?: () => void;
}
