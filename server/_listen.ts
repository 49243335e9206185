// Listening on a Unix socket whose file gets an exact mode (`--socket-mode`).
//
// Deno cannot set a socket's mode when it binds it, and changing the umask needs
// unscoped --allow-sys. So the socket is bound under a temporary name beside the real
// one (`<socket>.tmp`, which needs its own --allow-net=unix:), given its mode with
// chmod, and renamed into place: at the real name it never has any other mode. If the
// umask left the temporary socket writable (so connectable) by anyone the mode does
// not allow, the server refuses to start and never accepts on it.

/**
 * The temporary name the server binds under before renaming, and sends systemd
 * notifications from.
 *
 * @param socketPath The server's socket.
 * @returns `<socketPath>.tmp`.
 */
export function scratchPath(socketPath: string): string {
  return `${socketPath}.tmp`;
}

/**
 * Parses a `--socket-mode` value: three or four octal digits, e.g. `0660`.
 *
 * @param text The value.
 * @returns The mode, at most `0o777`.
 * @throws {RangeError} It is not such a mode.
 */
export function parseSocketMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) {
    throw new RangeError(
      `Invalid --socket-mode "${text}": expected octal permission bits such as 0660`,
    );
  }
  return parseInt(text, 8);
}

/**
 * Listens on `path`, the socket file's mode from the umask. A socket file that no
 * live server answers on is replaced; a live one is not.
 *
 * @param path The socket path.
 * @param warn Logs a warning line.
 * @returns The listener.
 * @throws {Deno.errors.AddrInUse} A live server answers on `path`, or something
 * other than a socket is there.
 */
export async function listen(
  path: string,
  warn: (message: string) => void,
): Promise<Deno.UnixListener> {
  try {
    return Deno.listen({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  }
  if (await existingSocket(path)) {
    warn(`Replacing stale socket file ${path}`);
    await Deno.remove(path);
  }
  return Deno.listen({ transport: "unix", path });
}

/**
 * Listens on `path` with the socket file at exactly `mode`. A socket file that no
 * live server answers on is replaced; a live one is not.
 *
 * @param path The socket path.
 * @param mode Permission bits, e.g. `0o660`.
 * @param warn Logs a warning line.
 * @returns The listener.
 * @throws {Deno.errors.AddrInUse} A live server answers on `path`, or something
 * other than a socket is there.
 */
export async function listenWithMode(
  path: string,
  mode: number,
  warn: (message: string) => void,
): Promise<Deno.UnixListener> {
  const stale = await existingSocket(path);
  const scratch = scratchPath(path);
  if (await existingSocket(scratch)) await Deno.remove(scratch);
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path: scratch });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Deno.errors.NotCapable(
        `--socket-mode needs Deno's --allow-net=unix:${scratch} too (the socket is ` +
          `bound under that name, then renamed): ${error.message}`,
      );
    }
    throw error;
  }
  try {
    const created = (await Deno.lstat(scratch)).mode! & 0o777;
    const extra = created & 0o222 & ~mode;
    if (extra !== 0) {
      throw new Error(
        `Cannot create the socket with mode ${octal(mode)}: the umask made it ` +
          `${octal(created)} when bound, writable by more than asked before chmod; ` +
          `run the server with a stricter umask (e.g. UMask=0077 in its systemd unit)`,
      );
    }
    await Deno.chmod(scratch, mode);
    if (stale) warn(`Replacing stale socket file ${path}`);
    await Deno.rename(scratch, path);
    return listener;
  } catch (error) {
    listener.close();
    await Deno.remove(scratch).catch(() => {});
    throw error;
  }
}

/**
 * Whether a socket file that no server answers on is at `path`.
 *
 * @throws {Deno.errors.AddrInUse} A server answers there, or it is not a socket.
 */
async function existingSocket(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  if (!info.isSocket) {
    throw new Deno.errors.AddrInUse(
      `Cannot listen on "${path}": it exists and is not a socket`,
    );
  }
  let conn: Deno.UnixConn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
  }
  if (conn !== undefined) {
    conn.close();
    throw new Deno.errors.AddrInUse(`Another offlog server is listening on "${path}"`);
  }
  return true;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
