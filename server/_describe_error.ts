// Errors from opening or writing a file, worded as the 0.x server words them.

import { formatError, pythonErrorName } from "../protocol/mod.ts";

/**
 * `<PythonName>: [Errno N] <reason>: '<path>'`, e.g.
 * `IsADirectoryError: [Errno 21] Is a directory: '/tmp'`. A path outside Deno's
 * permission scope is a `PermissionError` that says so.
 */
export function describeFsError(error: unknown, path: string): string {
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
