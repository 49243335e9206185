// The writers open in this process, and the process listeners that keep their records
// safe while any is open. exit_safety.ts documents the behaviour and exports the API.
// Every way out that still runs JavaScript ends each open writer with its own close():
// the same order as a program's close (wait until everything is confirmed, half-close,
// the server's goodbye), so an exit loses nothing that a close() would not.
//
// Listeners are installed when the first writer registers and removed when the last
// one's close() has settled:
// - "beforeunload", which Deno fires each time the event loop runs dry: cancel it and
//   close every writer. Cancelling is what keeps the process alive: Deno 2.9 exits
//   after an uncancelled "beforeunload" even when its listener started a timer or an
//   op (a timer armed in the listener never fires). The event comes again each time
//   the loop runs dry, and is cancelled for as long as a writer is open, so the
//   process ends only once every close() has settled (node:process's "beforeExit"
//   would keep the loop alive too, but loading node:process costs ~100 ms of CPU at
//   start in every program);
// - "unhandledrejection" and "error" on globalThis: prevent Deno's immediate exit,
//   print the error as Deno does, close every writer, exit with code 1;
// - SIGINT, SIGTERM and SIGHUP (unless turned off): close every writer, exit with 130,
//   143 or 129;
// - "unload", the only thing Deno.exit() runs, synchronously: no socket can be written
//   then, so it reports on stderr what is lost.

import { describeError } from "../errors.ts";
import { writeAllSync } from "../../common/write_all.ts";

/** An open writer, as the exit handling sees it. */
export interface Flushable {
  readonly path: string;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly pendingRecords: number;
  readonly pendingSize: number;
}

const open = new Set<Flushable>();
/** The signals handled, each with the exit code of a process it kills. */
const SIGNALS = [
  { signal: "SIGINT", listener: () => onSignal(130) },
  { signal: "SIGTERM", listener: () => onSignal(143) },
  { signal: "SIGHUP", listener: () => onSignal(129) },
] as const;
const LISTENERS: [string, EventListener][] = [
  ["beforeunload", onBeforeExit],
  [
    "unhandledrejection",
    (event) =>
      onFatal(event, (event as PromiseRejectionEvent).reason, "Uncaught (in promise)"),
  ],
  ["error", (event) => onFatal(event, (event as ErrorEvent).error, "Uncaught")],
  ["unload", onUnload],
];

let handling = true;
let installed = false;
let signalsInstalled = false;
/** Set once a fatal error or a signal is being handled: the process is ending. */
let exiting = false;
/** The close of every writer that a dry event loop started, while it runs. */
let closingAll: Promise<void> | null = null;
/** Errors already reported, so that a failed file is reported once. */
const reported = new WeakSet<object>();
const encoder = new TextEncoder();

/** Adds an open writer. */
export function register(file: Flushable): void {
  open.add(file);
  if (!installed) setListening(true);
}

/** Removes a writer whose close() has settled. */
export function unregister(file: Flushable): void {
  open.delete(file);
  if (open.size === 0 && installed) setListening(false);
}

/** Whether the process listeners are installed now (for tests). */
export function listening(): { process: boolean; signals: boolean } {
  return { process: installed, signals: signalsInstalled };
}

/** A writer whose flush or close failed, and why. */
export interface Failure {
  file: Flushable;
  reason: unknown;
}

/**
 * Flushes (or closes) every open writer; resolves, once all have settled, with how
 * many there were and the failures.
 */
export async function settleAll(
  close: boolean,
): Promise<{ count: number; failures: Failure[] }> {
  const files = [...open];
  const results = await Promise.allSettled(
    files.map((file) => close ? file.close() : file.flush()),
  );
  const failures: Failure[] = [];
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      failures.push({ file: files[i]!, reason: result.reason });
    }
  });
  return { count: files.length, failures };
}

/**
 * Sets whether SIGINT, SIGTERM and SIGHUP are handled, unless `value` is undefined;
 * applies at once if installed. Returns the setting in force.
 */
export function handleSignals(value?: boolean): boolean {
  if (value !== undefined) {
    handling = value;
    if (installed && value !== signalsInstalled) setSignals(value);
  }
  return handling;
}

/** Adds or removes the process listeners, and the signal listeners if handled. */
function setListening(on: boolean): void {
  installed = on;
  for (const [type, listener] of LISTENERS) {
    if (on) globalThis.addEventListener(type, listener);
    else globalThis.removeEventListener(type, listener);
  }
  if (on ? handling : signalsInstalled) setSignals(on);
}

function setSignals(on: boolean): void {
  for (const { signal, listener } of SIGNALS) {
    try {
      if (on) Deno.addSignalListener(signal, listener);
      else Deno.removeSignalListener(signal, listener);
    } catch {
      // Windows has no SIGTERM listener
    }
  }
  signalsInstalled = on;
}

function onBeforeExit(event: Event): void {
  if (open.size === 0) return;
  // Uncancelled, the process would end now, with what is unconfirmed still unwritten.
  event.preventDefault();
  if (exiting || closingAll !== null) return;
  closingAll = closeReporting().finally(() => closingAll = null);
}

function onSignal(code: number): void {
  // A second signal while flushing: stop waiting (unload reports what is lost).
  if (exiting) Deno.exit(code);
  exiting = true;
  void closeReporting().finally(() => Deno.exit(code));
}

/**
 * Takes over an uncaught error that would end the process: keeps Deno from exiting
 * at once, prints the error, flushes, exits with 1. An error that a listener handles
 * with `preventDefault()`, before or after this one, is left alone.
 */
function onFatal(event: Event, error: unknown, prefix: string): void {
  if (event.defaultPrevented) return;
  event.preventDefault();
  let handled = false;
  const prevent = event.preventDefault;
  Object.defineProperty(event, "preventDefault", {
    configurable: true,
    value: () => {
      handled = true;
      prevent.call(event);
    },
  });
  queueMicrotask(() => {
    if (handled) return;
    printUncaught(prefix, error);
    if (exiting) return;
    exiting = true;
    void closeReporting().finally(() => Deno.exit(1));
  });
}

/**
 * Closes every open writer; prints, once each, the errors of those that fail, and what
 * they could not write.
 */
async function closeReporting(): Promise<void> {
  for (const { file, reason } of (await settleAll(true)).failures) {
    const key = typeof reason === "object" && reason !== null ? reason : file;
    if (reported.has(key)) continue;
    reported.add(key);
    const message = reason instanceof Error ? reason.message : String(reason);
    printError(`offlog: cannot flush "${file.path}": ${message}\n`);
    reportLost(file, "");
  }
}

/** Deno.exit() runs only synchronous "unload" listeners: say what cannot be sent. */
function onUnload(): void {
  for (const file of open) reportLost(file, " (await flushAll() before Deno.exit())");
}

function reportLost(file: Flushable, advice: string): void {
  const records = file.pendingRecords;
  if (records === 0) return;
  printError(
    `offlog: lost ${file.pendingSize} bytes in ${records} records for ` +
      `"${file.path}": the process exited before they were written${advice}\n`,
  );
}

function printUncaught(prefix: string, error: unknown): void {
  const color = !Deno.noColor && Deno.stderr.isTerminal();
  const label = color ? "\x1b[1m\x1b[31merror\x1b[0m" : "error";
  printError(`${label}: ${prefix} ${describeError(error)}\n`);
}

function printError(text: string): void {
  try {
    writeAllSync(Deno.stderr, encoder.encode(text));
  } catch {
    // stderr is closed: nowhere left to report
  }
}
