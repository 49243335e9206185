/**
 * Error names on the wire. The 0.x server names errors after Python's exception
 * classes; these tables map them to and from Deno's error classes.
 *
 * @module
 */

/**
 * The error a server sends to every client when it shuts down.
 *
 * @example
 * ```ts
 * import { SERVER_EXITED } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SERVER_EXITED, "OSError: offlog server exited");
 * ```
 */
export const SERVER_EXITED = "OSError: offlog server exited";

/**
 * The refusal a 0.x server gives to a relative path, and so to the offlog/1 hello.
 *
 * @example
 * ```ts
 * import { NOT_ABSOLUTE } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(NOT_ABSOLUTE, "not an absolute path");
 * ```
 */
export const NOT_ABSOLUTE = "not an absolute path";

type DenoErrorClass = new (message?: string, options?: ErrorOptions) => Error;

const PYTHON_TO_DENO: ReadonlyArray<readonly [string, DenoErrorClass]> = [
  ["PermissionError", Deno.errors.PermissionDenied],
  ["FileNotFoundError", Deno.errors.NotFound],
  ["IsADirectoryError", Deno.errors.IsADirectory],
  ["NotADirectoryError", Deno.errors.NotADirectory],
  ["FileExistsError", Deno.errors.AlreadyExists],
  ["BrokenPipeError", Deno.errors.BrokenPipe],
  ["ConnectionResetError", Deno.errors.ConnectionReset],
  ["ConnectionRefusedError", Deno.errors.ConnectionRefused],
  ["TimeoutError", Deno.errors.TimedOut],
  ["InterruptedError", Deno.errors.Interrupted],
];

/**
 * The Python exception name for an error that opening or writing a file raised.
 * `NotCapable` (outside Deno's permission scope) is a `PermissionError`, as EACCES is.
 *
 * @param error What Deno threw.
 * @returns The name to send, `"OSError"` when nothing closer fits.
 *
 * @example
 * ```ts
 * import { pythonErrorName } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pythonErrorName(new Deno.errors.NotFound("gone")), "FileNotFoundError");
 * ```
 */
export function pythonErrorName(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) return "PermissionError";
  for (const [name, cls] of PYTHON_TO_DENO) if (error instanceof cls) return name;
  return "OSError";
}

/**
 * The Deno error class that fits a Python exception name, if one does.
 *
 * @param name The name the server sent, e.g. `"PermissionError"`.
 * @returns The class, or `undefined` for names such as `ValueError` and `OSError`.
 *
 * @example
 * ```ts
 * import { denoErrorClass } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(denoErrorClass("FileNotFoundError"), Deno.errors.NotFound);
 * assert.equal(denoErrorClass("ValueError"), undefined);
 * ```
 */
export function denoErrorClass(name: string): DenoErrorClass | undefined {
  for (const [python, cls] of PYTHON_TO_DENO) if (python === name) return cls;
  return undefined;
}
