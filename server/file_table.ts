/**
 * {@linkcode FileTable}: which files are open, one handle per path.
 *
 * @module
 */

import { type AccessCheck, SharedFile } from "./shared_file.ts";

/**
 * The server's open files. Clients of one path share one handle, opened by the first
 * and closed when the last leaves.
 *
 * @example
 * ```ts
 * import { FileTable } from "./file_table.ts";
 * const path = await Deno.makeTempFile();
 * const table = new FileTable();
 * const a = await table.acquire(path);
 * const b = await table.acquire(path);
 * console.log(a === b, a.clients); // true 2
 * await table.release(a);
 * await table.release(b);
 * await Deno.remove(path);
 * ```
 */
export class FileTable {
  #files = new Map<string, Promise<SharedFile>>();
  #open = new Set<SharedFile>();
  #access: AccessCheck | null;

  /**
   * Makes an empty table.
   *
   * @param access Checks a path again before a file is reopened after rotation.
   */
  constructor(access: AccessCheck | null = null) {
    this.#access = access;
  }

  /** The files open now. */
  get open(): SharedFile[] {
    return [...this.#open];
  }

  /**
   * Opens `path`, or joins the handle already open for it.
   *
   * @param path An absolute path.
   * @returns The shared file, its client count raised by one.
   * @throws What opening the file throws.
   */
  async acquire(path: string): Promise<SharedFile> {
    for (;;) {
      let opening = this.#files.get(path);
      if (opening === undefined) {
        opening = SharedFile.open(path, this.#access);
        this.#files.set(path, opening);
        opening.catch(() => {
          if (this.#files.get(path) === opening) this.#files.delete(path);
        });
      }
      const file = await opening;
      if (file.closed) continue;
      this.#open.add(file);
      file.clients++;
      return file;
    }
  }

  /**
   * Leaves a file; the last client's leaving closes it.
   *
   * @param file The file from {@linkcode FileTable.acquire}.
   * @returns How many clients remain.
   */
  async release(file: SharedFile): Promise<number> {
    file.clients--;
    if (file.clients === 0) {
      this.#files.delete(file.path);
      this.#open.delete(file);
      await file.close();
    }
    return file.clients;
  }
}
