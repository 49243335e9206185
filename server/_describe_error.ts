// Errors from opening or writing a file, worded as the 0.x server words them, kept as
// typed errors: the wire text is made from their parts when sent, never parsed back.

import { formatError, pythonErrorName } from "../protocol/mod.ts";

/**
 * A refusal for a client: the 0.x error name and message it is sent as
 * (`<pythonName>: <message>`), and, for the server's log only, advice for the
 * operator (which flag would allow it), which the client is not sent.
 */
export class FileRefusal extends Error {
  /** The 0.x error name, e.g. `PermissionError`. */
  readonly pythonName: string;
  /** Advice for the server's operator, logged but not sent; `""` when none. */
  readonly operatorHint: string;

  constructor(
    pythonName: string,
    message: string,
    options?: ErrorOptions & { operatorHint?: string },
  ) {
    super(message, options);
    this.name = "FileRefusal";
    this.pythonName = pythonName;
    this.operatorHint = options?.operatorHint ?? "";
  }

  /** The `<PythonName>: <message>` text for the client. */
  get wire(): string {
    return formatError(this.pythonName, this.message);
  }
}

/**
 * The refusal a file system error makes: `<PythonName>: [Errno N] <reason>: '<path>'`,
 * e.g. `IsADirectoryError: [Errno 21] Is a directory: '/tmp'`. A path outside Deno's
 * permission scope is a `PermissionError` that says so, and names the directories
 * the server is known to have; Deno's own advice ("run again with the
 * --allow-write flag") is for the operator and goes to the log only.
 *
 * @param error What opening or writing threw.
 * @param path The path, as the client named it.
 * @param scope The directories the server is known to write in, for the client.
 */
export function refusalOf(error: unknown, path: string, scope = ""): FileRefusal {
  if (error instanceof FileRefusal) return error;
  const name = pythonErrorName(error);
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotCapable) {
    return new FileRefusal(
      name,
      `Permission denied: '${path}' is outside the server's permission scope` +
        (scope === "" ? "" : ` (${scope})`),
      { cause: error, operatorHint: `Deno: ${text}` },
    );
  }
  const os = /^(.*?) \(os error (\d+)\)/.exec(text);
  return new FileRefusal(
    name,
    os ? `[Errno ${os[2]}] ${os[1]}: '${path}'` : `${text}: '${path}'`,
    { cause: error },
  );
}
