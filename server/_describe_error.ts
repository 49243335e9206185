// Errors from opening or writing a file, worded as the 0.x server words them.

import { formatError, pythonErrorName } from "../protocol/mod.ts";

/**
 * A refusal worded in full by the server itself (not a file system error): the text
 * sent to the client as it is, e.g. `OSError: [Errno 22] Not a regular file: ...`.
 */
export class FileRefusal extends Error {
  /** The `<PythonName>: <message>` text for the client. */
  readonly wire: string;

  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileRefusal";
    this.wire = formatError(name, message);
  }
}

/**
 * `<PythonName>: [Errno N] <reason>: '<path>'`, e.g.
 * `IsADirectoryError: [Errno 21] Is a directory: '/tmp'`. A path outside Deno's
 * permission scope is a `PermissionError` that says so.
 */
export function describeFsError(error: unknown, path: string): string {
  if (error instanceof FileRefusal) return error.wire;
  const name = pythonErrorName(error);
  if (error instanceof Deno.errors.NotCapable) {
    return formatError(
      name,
      `Permission denied: '${path}' is outside the server's permission scope (${error.message})`,
    );
  }
  const text = error instanceof Error ? error.message : String(error);
  const os = /^(.*?) \(os error (\d+)\)/.exec(text);
  return formatError(
    name,
    os ? `[Errno ${os[2]}] ${os[1]}: '${path}'` : `${text}: '${path}'`,
  );
}
