/**
 * {@linkcode describeScope}: the server's start-up account of where it may write,
 * from `Deno.permissions.query`, and of permissions it was granted but does not need.
 *
 * Deno does not reveal the paths listed in `--allow-write`; it answers only whether a
 * given path is covered. So the account says whether writing is scoped at all, and
 * checks the paths the server knows: its `--root` directories.
 *
 * @module
 */

/**
 * One line of the account, with whether it is a warning.
 *
 * @example
 * ```ts
 * import type { ScopeLine } from "./scope.ts";
 * const line: ScopeLine = { text: "Write scope: unrestricted", warning: false };
 * ```
 */
export interface ScopeLine {
  /** The log line. */
  text: string;
  /** Log it as a warning. */
  warning: boolean;
}

/** Permissions the server never uses, with the flag that grants each. */
const UNNEEDED: ReadonlyArray<readonly [Deno.PermissionDescriptor, string]> = [
  [{ name: "run" }, "--allow-run"],
  [{ name: "ffi" }, "--allow-ffi"],
  [{ name: "sys" }, "--allow-sys"],
  [{ name: "env" }, "--allow-env (unscoped)"],
];

/**
 * Describes the permission scope the server runs with.
 *
 * @param roots The `--root` directories, as real paths.
 * @param given The `--root` directories as given, to warn about symlinks among them.
 * @param socketPath The socket, to warn when its directory is reached by a symlink.
 * @returns The lines to log, in order.
 *
 * @example
 * ```ts
 * import { describeScope } from "./scope.ts";
 * import assert from "node:assert/strict";
 * const lines = await describeScope([]);
 * assert.match(lines.map((line) => line.text).join("\n"), /^Write scope: /);
 * ```
 */
export async function describeScope(
  roots: readonly string[],
  given: readonly string[] = [],
  socketPath?: string,
): Promise<ScopeLine[]> {
  const granted = async (descriptor: Deno.PermissionDescriptor) =>
    (await Deno.permissions.query(descriptor)).state === "granted";
  const lines: ScopeLine[] = [];
  const info = (text: string) => lines.push({ text, warning: false });
  const warn = (text: string) => lines.push({ text, warning: true });

  if (await granted({ name: "write" })) {
    info("Write scope: unrestricted (Deno's --allow-write lists no paths)");
  } else {
    info(
      "Write scope: only the paths Deno's --allow-write lists (Deno does not reveal " +
        "them); clients asking for files elsewhere get PermissionError",
    );
  }
  if (roots.length > 0) {
    info(`Write scope: confined to --root ${roots.join(", ")}`);
    for (const root of roots) {
      if (!(await granted({ name: "write", path: root }))) {
        warn(
          `Write scope: --root ${root} is outside Deno's --allow-write: files there are refused`,
        );
      }
    }
  } else {
    info("Write scope: no --root");
  }
  for (const root of given) {
    const real = await realPathOf(root);
    if (real !== null && real !== trimSlash(root)) {
      warn(
        `Write scope: --root ${root} is a symlink to ${real}; files are checked against ` +
          `${real}, so Deno's --allow-write must name ${real}, not the symlink`,
      );
    }
  }
  if (socketPath !== undefined) {
    const dir = socketPath.slice(0, socketPath.lastIndexOf("/")) || "/";
    const real = await realPathOf(dir);
    if (real !== null && real !== trimSlash(dir)) {
      warn(
        `The socket's directory ${dir} is a symlink to ${real}; permission flags and ` +
          `clients should name the real directory`,
      );
    }
  }
  const unneeded: string[] = [];
  for (const [descriptor, flag] of UNNEEDED) {
    if (await granted(descriptor)) unneeded.push(flag);
  }
  const net = await granted({ name: "net" });
  if (net) unneeded.push("--allow-net (unscoped)");
  if (unneeded.length > 0) {
    const note = net
      ? "; unscoped --allow-net is needed only for an abstract $NOTIFY_SOCKET"
      : "";
    warn(`Granted but not needed by offlog: ${unneeded.join(", ")}${note}`);
  }
  return lines;
}

async function realPathOf(path: string): Promise<string | null> {
  try {
    return await Deno.realPath(path);
  } catch {
    return null;
  }
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}
