/**
 * offlog: non-blocking file appends for Deno. An offlog server owns the files; your
 * program hands it bytes over a Unix socket and never waits for the disk.
 *
 * @example
 * ```ts
 * import { Logger, ProxyFile } from "@offlog/offlog";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 *
 * // A server in this process here; usually its own: deno task serve
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 *
 * await using file = await ProxyFile.open(`${dir}/app.log`, { socketPath });
 * file.write("appended by the server\n");
 * await file.flush();
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "appended by the server\n");
 *
 * await using logger = await Logger.open("my app", `${dir}/myapp.log`, { socketPath });
 * logger.info("Hello world, params are %s %d", "foo", 7);
 * await logger.flush();
 * const text = await Deno.readTextFile(`${dir}/myapp.log`);
 * assert.match(text, /my app INFO\] Hello world, params are foo 7\n$/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export {
  type FlushCallback,
  type FlushOptions,
  type OverflowPolicy,
  ProxyFile,
  type ProxyFileOptions,
} from "./client/proxy_file.ts";
export { LocalFile, type LocalFileOptions } from "./client/local_file.ts";
export { Logger } from "./client/logger.ts";
export { CRITICAL, DEBUG, ERROR, INFO, levelName, WARNING } from "./client/levels.ts";
export {
  OfflogConnectionError,
  OfflogProtocolError,
  OfflogServerError,
  QueueFullError,
} from "./client/errors.ts";
export type { ProtocolVersion } from "./protocol/opening.ts";
export {
  DEFAULT_SOCKET_PATH,
  DEFAULT_TIMEOUT_MS,
  MAX_RECORD_BYTES,
} from "./protocol/constants.ts";
export {
  type ExitHandlingOptions,
  flushAll,
  setExitHandling,
} from "./client/exit_safety.ts";
export type {
  LoggerFile,
  LoggerOptions,
  LogRecord,
  RecordFile,
} from "./client/logger_options.ts";
