/**
 * offlog for [LogTape](https://logtape.org/): a sink that sends LogTape's records to
 * an offlog server, so that logging never waits for the disk. A separate entry point,
 * so that the core `@offlog/offlog` does not depend on LogTape.
 *
 * @example
 * ```ts
 * import { configure, getLogger, reset } from "@logtape/logtape";
 * import { openOfflogSink } from "@offlog/offlog/logtape";
 * import { serve } from "@offlog/server";
 * import assert from "node:assert/strict";
 *
 * // A server in this process here; usually its own: deno task serve
 * const dir = await Deno.makeTempDir();
 * const socketPath = `${dir}/offlog.sock`;
 * await using server = await serve({ socketPath, quiet: true });
 *
 * await configure({
 *   sinks: { offlog: await openOfflogSink(`${dir}/app.log`, { socketPath }) },
 *   loggers: [{ category: "app", lowestLevel: "debug", sinks: ["offlog"] }],
 * });
 * getLogger("app").info("Hello {name}", { name: "world" });
 * await reset(); // flushes and closes the file
 * assert.match(await Deno.readTextFile(`${dir}/app.log`), /app: Hello "world"\n$/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export {
  getOfflogSink,
  type OfflogSink,
  type OfflogSinkOptions,
  openOfflogSink,
  type OpenOfflogSinkOptions,
} from "./client/logtape_sink.ts";
// LogTape's own types that the sink's signature uses. (`deno doc --lint` still finds
// private types inside LogTape's declarations; that is LogTape's, not ours.)
export type { Drainable, LogRecord, Sink, TextFormatter } from "@logtape/logtape";
