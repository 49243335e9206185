// The server-wide side of built-in rotation (server/_builtin_rotation.ts).

import assert from "node:assert/strict";
import { describePolicy, startBuiltinRotation } from "../server/_builtin_rotation.ts";

Deno.test("describePolicy() says the policy in the flags' words", () => {
  assert.equal(
    describePolicy({
      size: 1024 * 1024,
      intervalMs: 86_400_000,
      keep: 5,
      compress: true,
    }),
    "each file at 1M (--rotate-size) or after 1d (--rotate-interval), keeping 5 " +
      "(--rotate-keep), compressed to .gz (--rotate-compress)",
  );
  assert.equal(
    describePolicy({ size: null, intervalMs: 90_000, keep: 2, compress: false }),
    "each file after 90s (--rotate-interval), keeping 2 (--rotate-keep)",
  );
});

Deno.test("startBuiltinRotation() asks the open files about their age, and stops", async () => {
  const lines: string[] = [];
  let asked = 0;
  const rotation = startBuiltinRotation(
    { size: null, intervalMs: 1000, keep: 5, compress: true },
    () => [{ checkAge: () => asked++ }],
    (message) => lines.push(message),
  );
  assert.ok(rotation.files.compressor !== null);
  await new Promise((resolve) => setTimeout(resolve, 350));
  await rotation.stop();
  const seen = asked;
  assert.ok(seen >= 2, `asked ${seen} times in 350 ms at 100 ms`);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(asked, seen, "no more after stop()");
  assert.match(lines[0]!, /^Rotation: each file after 1s/);
});
