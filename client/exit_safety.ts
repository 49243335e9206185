/**
 * Exit safety: records written to a `ProxyFile`, a `LocalFile` or a
 * `Logger` reach the file however the program ends, as long as it ends in a way that
 * runs JavaScript.
 *
 * While at least one file is open, offlog listens to the process (once, however many
 * files are open; the listeners go away when the last file closes):
 *
 * - **The main module ends** without `close()`: when the event loop runs dry, every
 *   open file is flushed (the server confirms it wrote everything), then the process
 *   exits as it would have. offlog cancels `beforeunload` meanwhile, since Deno exits
 *   after the event unless a listener cancels it.
 * - **An uncaught error** (a `throw` at top level, an unhandled rejection, a `throw`
 *   in a callback): the error is printed as Deno prints it, every open file is
 *   flushed, and the process exits with code 1. An error that your own
 *   `unhandledrejection` or `error` listener handles with `preventDefault()` is left
 *   alone.
 * - **SIGINT, SIGTERM or SIGHUP**: every open file is flushed, then the process exits
 *   with 130, 143 or 129, the codes of a process the signal killed. A second signal exits at
 *   once. Programs with a shutdown handler of their own turn this off with
 *   {@linkcode setExitHandling} and flush in their handler.
 * - **`Deno.exit()`** runs no asynchronous code, so what is still queued then cannot
 *   be sent: offlog prints to stderr how many bytes and records of which file are
 *   lost. Call `await flushAll()` before `Deno.exit()` to lose nothing.
 *
 * Waiting for the server is bounded by each file's `timeout` without progress, so a
 * server that is gone delays the exit by at most that long. A kill with SIGKILL, a
 * crash of Deno itself, or a signal while {@linkcode setExitHandling} has turned the
 * handling off loses what was queued.
 *
 * @module
 */

import { handleSignals, settleAll } from "./writer/registry.ts";

/**
 * Options of {@linkcode setExitHandling}.
 *
 * @example
 * ```ts
 * import type { ExitHandlingOptions } from "@offlog/offlog";
 * const options: ExitHandlingOptions = { handleSignals: false };
 * ```
 */
export interface ExitHandlingOptions {
  /**
   * Flush every open file on SIGINT, SIGTERM and SIGHUP, then exit with 130, 143 or
   * 129. Turn it
   * off when the program handles these signals itself; its handler should then
   * `await flushAll()` or close its files.
   * @default {true}
   */
  handleSignals?: boolean;
}

/**
 * Sets how offlog guards this process's exit. It applies to the whole process, to
 * the files open now and to those opened later. Options left out keep their value.
 *
 * @param options What to handle.
 * @returns The settings now in force.
 *
 * @example
 * ```ts
 * import { setExitHandling } from "@offlog/offlog";
 * // This program shuts down on SIGTERM by itself, and flushes on the way.
 * setExitHandling({ handleSignals: false });
 * const onTerm = () => {};
 * Deno.addSignalListener("SIGTERM", onTerm);
 * Deno.removeSignalListener("SIGTERM", onTerm);
 * setExitHandling({ handleSignals: true });
 * ```
 */
export function setExitHandling(
  options: ExitHandlingOptions,
): Required<ExitHandlingOptions> {
  if (options.handleSignals !== undefined) {
    if (typeof options.handleSignals !== "boolean") {
      throw new TypeError(
        `Cannot set exit handling: handleSignals must be a boolean, not ${typeof options
          .handleSignals}`,
      );
    }
  }
  return { handleSignals: handleSignals(options.handleSignals) };
}

/**
 * Waits until everything written so far to every open `ProxyFile`,
 * `LocalFile` and `Logger` is in its file. Use it before `Deno.exit()`,
 * which cannot wait.
 *
 * @returns A promise that resolves once every file is flushed.
 * @throws {AggregateError} Some files could not be flushed (their errors are in
 * `errors`); the others were flushed.
 *
 * @example
 * ```ts
 * import { flushAll, LocalFile } from "@offlog/offlog";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const file = await LocalFile.open(path);
 * file.write("before exit\n");
 * await flushAll();
 * assert.equal(await Deno.readTextFile(path), "before exit\n");
 * await file.close();
 * await Deno.remove(path);
 * ```
 */
export async function flushAll(): Promise<void> {
  const { count, failures } = await settleAll(false);
  if (failures.length === 0) return;
  const paths = failures.map(({ file }) => `"${file.path}"`).join(", ");
  throw new AggregateError(
    failures.map(({ reason }) => reason),
    `Cannot flush ${failures.length} of ${count} offlog files: ${paths}`,
  );
}
