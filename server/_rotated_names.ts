// The file operations of rotated files that a missing name does not fail: whether a
// name is taken, its inode, a removal, and a rename that never replaces a file.

/**
 * Whether `path` names anything (a dangling symlink too).
 *
 * @param path The name.
 * @returns `true` when taken.
 */
export async function exists(path: string): Promise<boolean> {
  return await lstatOrNull(path) !== null;
}

/**
 * The inode `path` names.
 *
 * @param path The name.
 * @returns The inode, or `null` when nothing is there.
 */
export async function inode(path: string): Promise<number | null> {
  return (await lstatOrNull(path))?.ino ?? null;
}

/**
 * Opens `path` for reading only if it is a regular file of its own: not a symlink
 * (whose target may lie outside the server's files) and not a FIFO (whose open would
 * block). The open is read-write, which never blocks on a FIFO swapped in after the
 * check, and the handle must be the file the check saw.
 *
 * @param path The name of a rotated file.
 * @returns The open file, or `null` when nothing, or something else, is there.
 */
export async function openRegular(path: string): Promise<Deno.FsFile | null> {
  const seen = await lstatOrNull(path);
  if (seen === null || !seen.isFile) return null;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    // Gone, or not writable (not one of ours): left alone.
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof Deno.errors.PermissionDenied) return null;
    throw error;
  }
  const info = await file.stat();
  if (info.isFile && info.ino === seen.ino && info.dev === seen.dev) return file;
  file.close();
  return null;
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Removes `path` if it is there.
 *
 * @param path The name.
 * @returns Whether something was removed.
 */
export async function removeIfThere(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Renames, but never over an existing file: rename(2) would replace it silently.
 *
 * @param from The name now.
 * @param to The new name, which must be free.
 * @throws {Deno.errors.AlreadyExists} `to` is taken.
 */
export async function renameFresh(from: string, to: string): Promise<void> {
  if (await exists(to)) {
    throw new Deno.errors.AlreadyExists(
      `Cannot rename "${from}" to "${to}": it exists, and is not overwritten`,
    );
  }
  await Deno.rename(from, to);
}
