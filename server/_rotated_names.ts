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
