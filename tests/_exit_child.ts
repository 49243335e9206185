// Test helper: the exit-safety child (fixtures/exit_child.ts), run with a client's
// permissions, and the check that it lost no record.

import assert from "node:assert/strict";
import type { RunningServer } from "./_server.ts";
import { type Child, type ChildResult, spawnChild } from "./_child.ts";

const CHILD = new URL("./fixtures/exit_child.ts", import.meta.url).pathname;

export const RECORDS = 50_000;

export type Writer = "proxy" | "logger" | "local";

/** Runs the child with the permissions a client needs and no more. */
export function child(
  server: RunningServer,
  path: string,
  writer: Writer,
  mode: string,
  timeout = 5000,
): Child {
  return spawnChild(CHILD, [server.socketPath, path, writer, mode, String(timeout)], [
    `--allow-read=${server.dir}`,
    `--allow-write=${server.dir}`,
    `--allow-net=unix:${server.socketPath}`,
  ]);
}

/** Asserts that the file holds records 0 to RECORDS - 1, each once, in order. */
export async function assertAllRecords(path: string, result: ChildResult): Promise<void> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "", "the file ends with a newline");
  const context = `exit ${result.code}, stderr:\n${result.stderr}`;
  assert.equal(lines.length, RECORDS, `records in the file; ${context}`);
  for (let i = 0; i < RECORDS; i++) {
    if (!lines[i]!.endsWith(`record ${i}`)) {
      assert.fail(`line ${i} is ${JSON.stringify(lines[i])}; ${context}`);
    }
  }
}
