/**
 * offlog for [LogTape](https://logtape.org/): a sink that sends LogTape's records to
 * an offlog server, so that logging never waits for the disk. A separate entry point,
 * so that the core `@offlog/offlog` does not depend on LogTape.
 *
 * @example
 * ```ts ignore
 * import { configure, getLogger } from "@logtape/logtape";
 * import { openOfflogSink } from "@offlog/offlog/logtape";
 *
 * // With a server running: deno task serve
 * await configure({
 *   sinks: { offlog: await openOfflogSink("/tmp/app.log") },
 *   loggers: [{ category: "app", lowestLevel: "debug", sinks: ["offlog"] }],
 * });
 * getLogger("app").info("Hello {name}", { name: "world" });
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
