/**
 * The offlog server: owns the files, appends what clients send over a Unix socket.
 *
 * Run it with Deno's permissions scoped to what it may touch:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-net=unix:/tmp/offlog.sock server.ts
 * ```
 *
 * or embed it:
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await using server = await serve({ socketPath: `${dir}/offlog.sock`, quiet: true });
 * assert.equal(server.socketPath, `${dir}/offlog.sock`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * With rotation built in (`--rotate-size 100M --rotate-compress` on the command line):
 *
 * ```ts ignore
 * const rotate = { size: 100 * 1024 * 1024, intervalMs: null, keep: 5, compress: true };
 * await using server = await serve({ socketPath: "/run/offlog/offlog.sock", rotate });
 * ```
 *
 * @module
 */

export { type OfflogServer, serve, type ServeOptions } from "./server/serve.ts";
export { main } from "./server/cli.ts";
export type { RotateFlags, RotatePolicy } from "./server/rotate_policy.ts";
export { VERSION } from "./server/version.ts";

if (import.meta.main) {
  const { main } = await import("./server/cli.ts");
  Deno.exit(await main(Deno.args));
}
