// Opening a client's file for appending without ever blocking on it.
//
// open(2) of a FIFO for writing blocks until a reader appears, in one of Deno's few
// blocking threads: a handful of such requests would stall every file operation of the
// server. Deno.open takes no O_NONBLOCK, but Linux never blocks opening a FIFO for
// reading and writing (O_RDWR), so the file is opened read-write, after a stat that
// refuses anything but a regular file, and the opened handle's type is checked again
// (the path may have been swapped in between). If the file may be written but not read
// (EACCES on O_RDWR), it is opened write-only; then a FIFO swapped in between the stat
// and the open could still block, and the deadline below abandons that open.

import { FileRefusal } from "./_describe_error.ts";

/** How {@linkcode openAppend} opens and what it refuses. */
export interface OpenRules {
  /** Refuse a file with more than one hard link (a confined server does). */
  refuseHardlinks: boolean;
  /** Milliseconds an open may take before it is abandoned and refused. */
  timeoutMs: number;
  /** Open character devices too (`/dev/null`, `/dev/full`): `--allow-devices`. */
  allowDevices?: boolean;
}

/**
 * Opens `path` for appending, creating it if needed; only a regular file.
 *
 * @param path The real path to open.
 * @param rules What to refuse, and the deadline.
 * @returns The open file.
 * @throws {FileRefusal} Not a regular file, hard-linked, or the open took too long.
 * @throws What `Deno.open` throws.
 */
export async function openAppend(path: string, rules: OpenRules): Promise<Deno.FsFile> {
  try {
    refuseKind(await Deno.stat(path), path, rules);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const file = await withDeadline(open(path), path, rules.timeoutMs);
  try {
    const info = await file.stat();
    refuseKind(info, path, rules);
    if (rules.refuseHardlinks && info.isFile && (info.nlink ?? 1) > 1) {
      throw new FileRefusal(
        "PermissionError",
        `Permission denied: '${path}' has ${info.nlink} hard links; a confined server ` +
          `does not open hard-linked files, since a link can lead outside its scope ` +
          `(start it with --allow-hardlinks to allow them)`,
      );
    }
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

async function open(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true, append: true, create: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    return await Deno.open(path, { append: true, create: true });
  }
}

function refuseKind(info: Deno.FileInfo, path: string, rules: OpenRules): void {
  if (info.isFile || (info.isCharDevice && rules.allowDevices)) return;
  const kind = info.isDirectory
    ? null
    : info.isFifo
    ? "a FIFO (named pipe)"
    : info.isSocket
    ? "a socket"
    : info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : "not a regular file";
  // A directory fails in open() as IsADirectoryError, as in the 0.x server.
  if (kind === null) return;
  throw new FileRefusal(
    "OSError",
    `[Errno 22] Not a regular file: '${path}' is ${kind}; offlog appends only to ` +
      `regular files${
        info.isCharDevice ? " (character devices with --allow-devices)" : ""
      }`,
  );
}

function withDeadline(
  opening: Promise<Deno.FsFile>,
  path: string,
  ms: number,
): Promise<Deno.FsFile> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // An open that completes after all is closed at once.
      opening.then((file) => file.close(), () => {});
      reject(
        new FileRefusal("TimeoutError", `Opening '${path}' took longer than ${ms} ms`),
      );
    }, ms);
  });
  return Promise.race([opening, late]).finally(() => clearTimeout(timer));
}
