// What a durable flush costs: 100 lines and a flush(), plain against
// flush({ durable: true }) (the server runs fdatasync), through the server and with a
// LocalFile, in one `deno bench` run. The server runs in this process.
//
//   deno bench --allow-read --allow-write --allow-net --allow-env bench/durable_bench.ts
//
// The cost is the disk's: on this machine's virtual disk, and on tmpfs (where fdatasync
// does nothing), it says little about a real one. Compare within one run, as ratios.

import { LocalFile, ProxyFile } from "../mod.ts";
import { serve } from "../server.ts";
import { makeLine } from "./_lines.ts";

const LINES = 100;

// On the disk the working directory is on, not /tmp (often tmpfs).
const dir = await Deno.makeTempDir({ dir: Deno.cwd(), prefix: ".offlog_durable_bench_" });
addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // removed already
  }
});
const socketPath = `${dir}/offlog.sock`;
await serve({ socketPath, quiet: true });
const proxy = await ProxyFile.open(`${dir}/proxy.log`, { socketPath, timeout: 60_000 });
const local = await LocalFile.open(`${dir}/local.log`);
const lines = Array.from({ length: LINES }, (_, i) => makeLine(0, i));

function write(file: { write(line: string): void }): void {
  for (const line of lines) file.write(line);
}

Deno.bench({
  name: "ProxyFile: 100 lines, flush()",
  group: "proxy",
  baseline: true,
  async fn() {
    write(proxy);
    await proxy.flush();
  },
});

Deno.bench({
  name: "ProxyFile: 100 lines, flush({ durable: true })",
  group: "proxy",
  async fn() {
    write(proxy);
    await proxy.flush({ durable: true });
  },
});

Deno.bench({
  name: "LocalFile: 100 lines, flush()",
  group: "local",
  baseline: true,
  async fn() {
    write(local);
    await local.flush();
  },
});

Deno.bench({
  name: "LocalFile: 100 lines, flush({ durable: true })",
  group: "local",
  async fn() {
    write(local);
    await local.flush({ durable: true });
  },
});
