/**
 * `deno task compile`: builds `dist/offlog-server`, one executable with the server's
 * Deno permissions baked in, scoped to one socket and the directories it may write.
 *
 * ```sh
 * deno task compile
 * OFFLOG_ROOTS=/var/log/app,/srv/logs OFFLOG_SOCKET=/run/offlog/offlog.sock deno task compile
 * DENORT_BIN=/path/to/denort deno task compile   # offline: a local runtime base binary
 * ```
 *
 * Environment (all optional):
 * - `OFFLOG_SOCKET`: the socket, baked in as `-s` (default `/run/offlog/offlog.sock`);
 * - `OFFLOG_ROOTS`: comma-separated directories for the files, baked in as `--root`
 *   and as the read and write scope (default `/var/log/app`);
 * - `OFFLOG_NOTIFY_SOCKET`: systemd's notification socket the binary may send to
 *   (default `/run/systemd/notify`);
 * - `OFFLOG_OUTPUT`: the executable to write (default `dist/offlog-server`);
 * - `DENORT_BIN`: read by `deno compile` itself: the Deno runtime base binary
 *   (`denort`) to build on, instead of downloading it from Deno's server.
 *
 * @module
 */

/**
 * What to bake into the executable.
 *
 * @example
 * ```ts
 * import type { CompileOptions } from "./compile.ts";
 * const options: CompileOptions = { socket: "/run/offlog/offlog.sock" };
 * ```
 */
export interface CompileOptions {
  /**
   * The socket.
   * @default {"/run/offlog/offlog.sock"}
   */
  socket?: string;
  /**
   * Directories the server may open files in.
   * @default {["/var/log/app"]}
   */
  roots?: string[];
  /**
   * systemd's notification socket.
   * @default {"/run/systemd/notify"}
   */
  notifySocket?: string;
  /**
   * The executable to write.
   * @default {"dist/offlog-server"}
   */
  output?: string;
}

const ENTRY = new URL("../server.ts", import.meta.url).pathname;

/**
 * The arguments of `deno compile` that build the server with its permissions baked in.
 *
 * @param options What to bake in.
 * @returns The arguments after `deno`.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * console.log(compileArgs({ socket: "/run/offlog/offlog.sock" }).join(" "));
 * ```
 */
export function compileArgs(options: CompileOptions = {}): string[] {
  const socket = options.socket ?? "/run/offlog/offlog.sock";
  const roots = options.roots ?? ["/var/log/app"];
  const notify = options.notifySocket ?? "/run/systemd/notify";
  const scratch = `${socket}.tmp`;
  return [
    "compile",
    "--no-prompt",
    "--exclude-unused-npm",
    "--unstable-net",
    `--allow-read=${[...roots, socket, scratch].join(",")}`,
    `--allow-write=${[...roots, socket, scratch, notify].join(",")}`,
    `--allow-net=${[socket, scratch, notify].map((p) => `unix:${p}`).join(",")}`,
    "--allow-env=NOTIFY_SOCKET",
    "--output",
    options.output ?? "dist/offlog-server",
    ENTRY,
    "-s",
    socket,
    ...roots.flatMap((root) => ["--root", root]),
  ];
}

/**
 * Where `deno compile` finds a runtime base binary without downloading one:
 * `$DENORT_BIN`, or the archive it cached after an earlier download.
 *
 * @returns The path, or `null` when there is none at hand.
 *
 * @example
 * ```ts ignore
 * import { localBaseBinary } from "./compile.ts";
 * console.log(localBaseBinary() ?? "deno compile will download denort");
 * ```
 */
export function localBaseBinary(): string | null {
  const candidates: string[] = [];
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) candidates.push(denort);
  const home = Deno.env.get("HOME");
  const dir = Deno.env.get("DENO_DIR") ?? (home ? `${home}/.cache/deno` : null);
  if (dir !== null) {
    candidates.push(
      `${dir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`,
    );
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return null;
}

if (import.meta.main) {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const roots = env("OFFLOG_ROOTS")?.split(",").filter((root) => root !== "");
  const socket = env("OFFLOG_SOCKET");
  const notifySocket = env("OFFLOG_NOTIFY_SOCKET");
  const output = env("OFFLOG_OUTPUT");
  const args = compileArgs({
    ...(socket === undefined ? {} : { socket }),
    ...(roots === undefined ? {} : { roots }),
    ...(notifySocket === undefined ? {} : { notifySocket }),
    ...(output === undefined ? {} : { output }),
  });
  console.error(`deno ${args.join(" ")}`);
  const base = localBaseBinary();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0 && base === null) {
    console.error(
      "deno compile needs Deno's runtime base binary (denort), which it downloads " +
        "from Deno's server unless DENORT_BIN names a local copy. If that server cannot " +
        "be reached, set DENORT_BIN=/path/to/denort (the denort of Deno " +
        `${Deno.version.deno} for ${Deno.build.target}), or use deno task bundle.`,
    );
  }
  Deno.exit(code);
}
