/**
 * {@linkcode Access}: which files the server may open for its clients.
 *
 * Deno checks its permissions on a path as given. A symlink inside an allowed directory
 * that points outside it would therefore lead out of the scope, and so would a `..`
 * after a symlinked directory. This module resolves the real path of the file (or, for
 * a file not yet created, of its directory) and checks that resolved path against
 * Deno's write permission and against the server's `--root` directories. The server
 * then opens the resolved path, so what was checked is what is opened.
 *
 * @module
 */

import { FileRefusal, refusalOf } from "./_describe_error.ts";

/** Symlinks followed at most while resolving one path, as Linux's `MAXSYMLINKS`. */
const MAX_SYMLINKS = 40;

/** Directories named to a refused client at most, of those the server writes in. */
const MAX_NAMED_DIRS = 8;

/**
 * What {@linkcode Access.check} decided: the path to open, or the refusal to send.
 *
 * @example
 * ```ts
 * import type { AccessResult } from "./access.ts";
 * const ok: AccessResult = { path: "/var/log/app/a.log" };
 * ```
 */
export type AccessResult = { path: string } | { refusal: FileRefusal };

/**
 * What the server knows of its own scope, to tell a refused client: Deno does not
 * reveal the paths its permissions list.
 *
 * @example
 * ```ts
 * import type { ScopeNotes } from "./access.ts";
 * const notes: ScopeNotes = { describe: () => "it writes under /var/log/app", opened() {} };
 * ```
 */
export interface ScopeNotes {
  /** The directories the server is known to have, in words. */
  describe(): string;
  /** A file was opened for a client in `path`'s directory. */
  opened(path: string): void;
}

/**
 * The server's rule for which files clients may have it open.
 *
 * @example
 * ```ts
 * import { Access } from "./access.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const access = await Access.create([dir]);
 * assert.deepEqual(await access.check(`${dir}/a.log`), { path: `${dir}/a.log` });
 * assert.ok("refusal" in await access.check("/etc/passwd"));
 * await Deno.remove(dir);
 * ```
 */
export class Access implements ScopeNotes {
  /** The `--root` directories, as real paths; empty when there are none. */
  readonly roots: readonly string[];
  /**
   * Whether anything confines the server: Deno's `--allow-write` lists paths, or
   * there are roots. When nothing does, paths are opened as given.
   */
  readonly confined: boolean;
  /** Directories of files let through so far, known to be in Deno's scope. */
  #seen = new Set<string>();

  private constructor(roots: readonly string[], confined: boolean) {
    this.roots = roots;
    this.confined = confined;
  }

  /**
   * Resolves the roots and finds out whether Deno's write permission is scoped.
   *
   * @param roots Directories to confine the server to (`--root`); none for no limit
   * beyond Deno's permissions.
   * @returns The access rule.
   * @throws {TypeError} A root does not exist, is not a directory, or cannot be
   * resolved (for instance because Deno's `--allow-read` does not cover it).
   */
  static async create(roots: readonly string[] = []): Promise<Access> {
    const real: string[] = [];
    for (const root of roots) {
      let path: string;
      try {
        path = await Deno.realPath(root);
        if (!(await Deno.stat(path)).isDirectory) throw new Error("not a directory");
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new TypeError(`Cannot use --root "${root}": ${why}`, { cause: error });
      }
      if (!real.includes(path)) real.push(path);
    }
    const write = await Deno.permissions.query({ name: "write" });
    return new Access(real, real.length > 0 || write.state !== "granted");
  }

  /**
   * Decides whether a client may have `path` opened, never throwing.
   *
   * @param path The absolute path the client asked for.
   * @returns `{ path }`, the path to open (the real path when the server is confined,
   * `path` itself otherwise), or `{ refusal }`, the `PermissionError` to send,
   * naming the path and the directories the server has, with the flag that would
   * allow it as advice for the operator's log.
   */
  async check(path: string): Promise<AccessResult> {
    if (!this.confined) return { path };
    let real: string;
    try {
      real = await resolveRealPath(path);
    } catch (error) {
      return { refusal: refusalOf(error, path, this.#scope()) };
    }
    const named = real === path ? `'${path}'` : `'${path}' (real path '${real}')`;
    if (this.roots.length > 0 && !this.roots.some((root) => isWithin(real, root))) {
      return {
        refusal: denied(
          `${named} is outside the server's --root directories (${
            this.roots.join(", ")
          })`,
          `add --root ${parent(real)} to allow it`,
        ),
      };
    }
    const { state } = await Deno.permissions.query({ name: "write", path: real });
    if (state !== "granted") {
      const grant = await symlinkedGrant(path);
      if (grant !== null) {
        return {
          refusal: denied(
            `${named} is outside the server's permission scope: the path leads through ` +
              `a symlink to '${real}'; Deno's --allow-write grants the symlink ` +
              `'${grant.link}', so grant the real directory '${grant.real}' instead`,
            `grant --allow-read and --allow-write on ${grant.real}`,
          ),
        };
      }
      return {
        refusal: denied(
          `${named} is outside the server's permission scope (${this.#scope()})`,
          `Deno's --allow-read and --allow-write would need ${parent(real)} ` +
            `(e.g. --allow-write=${parent(real)}) to allow it`,
        ),
      };
    }
    return { path: real };
  }

  /**
   * The directories the server is known to have, in words for a refused client. Deno
   * does not reveal the paths its `--allow-write` lists, so they are the `--root`
   * directories, or else the directories of files clients have opened.
   *
   * @returns E.g. `it writes under /var/log/app`.
   */
  describe(): string {
    return this.#scope();
  }

  /**
   * A file was opened for a client: its directory is one the server has.
   *
   * @param path The path opened.
   */
  opened(path: string): void {
    if (this.#seen.size < MAX_NAMED_DIRS) this.#seen.add(parent(path));
  }

  #scope(): string {
    if (this.roots.length > 0) return `it writes under ${this.roots.join(", ")}`;
    if (this.#seen.size > 0) {
      return `it writes under ${[...this.#seen].join(", ")}, among the directories ` +
        `its operator granted`;
    }
    return "only in the directories its operator granted";
  }
}

/**
 * The real path of `path`, every symlink and `..` resolved as the kernel would when
 * opening it: for a file that does not exist yet, the real path of its directory with
 * its name; a dangling symlink leads to where the file would be created.
 *
 * @param path An absolute path.
 * @returns The path without symlinks, `.` or `..`.
 * @throws {Deno.errors.NotFound} The file's directory does not exist.
 * @throws {Deno.errors.NotCapable} Deno's `--allow-read` does not cover a path on
 * the way.
 * @throws {Deno.errors.FilesystemLoop} More than 40 symlinks on the way.
 *
 * @example
 * ```ts
 * import { resolveRealPath } from "./access.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.symlink(`${dir}/target.log`, `${dir}/link.log`);
 * assert.equal(await resolveRealPath(`${dir}/link.log`), `${dir}/target.log`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolveRealPath(path: string): Promise<string> {
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    try {
      return await Deno.realPath(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash) || "/";
    const name = path.slice(slash + 1);
    let target: string | null = null;
    try {
      if ((await Deno.lstat(path)).isSymlink) target = await Deno.readLink(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (target !== null) {
      path = target.startsWith("/") ? target : `${dir}/${target}`;
      continue;
    }
    if (name === "" || name === "." || name === "..") {
      throw new Deno.errors.NotFound("No such file or directory (os error 2)");
    }
    const realDir = await Deno.realPath(dir);
    return realDir === "/" ? `/${name}` : `${realDir}/${name}`;
  }
  throw new Deno.errors.FilesystemLoop("Too many levels of symbolic links (os error 40)");
}

/**
 * The granted directory on the way to `path` that is a symlink to a directory that is
 * not granted, if there is one: Deno checks a grant as written, the server the real
 * path, so such a grant lets nothing in.
 */
async function symlinkedGrant(
  path: string,
): Promise<{ link: string; real: string } | null> {
  for (let dir = parent(path); dir !== "/"; dir = parent(dir)) {
    const granted = await Deno.permissions.query({ name: "write", path: dir });
    if (granted.state !== "granted") return null;
    let real: string;
    try {
      real = await Deno.realPath(dir);
    } catch {
      continue;
    }
    if (real === dir) continue;
    const reached = await Deno.permissions.query({ name: "write", path: real });
    if (reached.state !== "granted") return { link: dir, real };
  }
  return null;
}

function parent(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function isWithin(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(`${root}/`);
}

function denied(detail: string, operatorHint: string): FileRefusal {
  return new FileRefusal("PermissionError", `Permission denied: ${detail}`, {
    operatorHint,
  });
}
