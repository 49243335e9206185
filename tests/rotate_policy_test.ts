// Built-in rotation's flags and decisions (server/rotate_policy.ts).

import assert from "node:assert/strict";
import {
  ageCheckPeriod,
  DEFAULT_ROTATE_KEEP,
  parseDuration,
  parseRotateFlags,
  rotationDue,
  unitsBeforeRotation,
} from "../server/rotate_policy.ts";

Deno.test("parseRotateFlags() takes sizes with K, M, G and durations with s, m, h, d", () => {
  assert.deepEqual(parseRotateFlags({ size: "4K" }), {
    size: 4096,
    intervalMs: null,
    keep: DEFAULT_ROTATE_KEEP,
    compress: false,
  });
  assert.equal(parseRotateFlags({ size: "1M" })!.size, 1024 * 1024);
  assert.equal(parseRotateFlags({ size: "2G" })!.size, 2 * 1024 ** 3);
  assert.equal(parseRotateFlags({ size: "10MiB" })!.size, 10 * 1024 * 1024);
  assert.equal(parseRotateFlags({ size: "5000" })!.size, 5000);
  for (
    const [text, ms] of [["90s", 90_000], ["15m", 900_000], ["1h", 3_600_000], [
      "1d",
      86_400_000,
    ]] as const
  ) {
    assert.equal(parseRotateFlags({ interval: text })!.intervalMs, ms, text);
  }
  assert.deepEqual(
    parseRotateFlags({ size: "1M", interval: "1d", keep: "10", compress: true }),
    { size: 1024 * 1024, intervalMs: 86_400_000, keep: 10, compress: true },
  );
  assert.equal(parseRotateFlags({}), null);
  assert.equal(parseRotateFlags({ compress: false }), null);
});

Deno.test("parseRotateFlags() refuses bad values, each with a message naming the flag", () => {
  const refused: [Parameters<typeof parseRotateFlags>[0], RegExp][] = [
    [{ size: "4095" }, /--rotate-size takes bytes \(at least 4K\).*not "4095"/],
    [{ size: "1K" }, /--rotate-size .*not "1K"/],
    [{ size: "0" }, /--rotate-size/],
    [{ size: "-1M" }, /--rotate-size .*not "-1M"/],
    [{ size: "1T" }, /--rotate-size .*not "1T"/],
    [{ size: "abc" }, /--rotate-size/],
    [{ interval: "0s" }, /--rotate-interval takes a duration above zero.*not "0s"/],
    [{ interval: "0" }, /--rotate-interval .*not "0"/],
    [{ interval: "15" }, /--rotate-interval .*\(90s, 15m, 1h, 1d\), not "15"/],
    [{ interval: "1w" }, /--rotate-interval .*not "1w"/],
    [{ interval: "1.5h" }, /--rotate-interval/],
    [{ interval: "-1h" }, /--rotate-interval/],
    [
      { size: "1M", keep: "0" },
      /--rotate-keep takes a whole number .* 1 to 1000, not "0"/,
    ],
    [{ size: "1M", keep: "-2" }, /--rotate-keep .*not "-2"/],
    [{ size: "1M", keep: "x" }, /--rotate-keep/],
    [{ size: "1M", keep: "1001" }, /--rotate-keep/],
    [{ keep: "3" }, /--rotate-keep needs --rotate-size or --rotate-interval/],
    [{ compress: true }, /--rotate-compress needs --rotate-size or --rotate-interval/],
  ];
  for (const [flags, message] of refused) {
    assert.throws(() => parseRotateFlags(flags), message, JSON.stringify(flags));
    assert.throws(() => parseRotateFlags(flags), RangeError);
  }
});

Deno.test("parseDuration() gives milliseconds", () => {
  assert.equal(parseDuration("--x", "1s"), 1000);
  assert.throws(() => parseDuration("--x", ""), /--x takes a duration/);
});

Deno.test("rotationDue() by size once reached, by age once past, never for an empty file", () => {
  const policy = { size: 4096, intervalMs: 1000, keep: 5, compress: false };
  assert.equal(rotationDue(policy, 4095, 0, 999), null);
  assert.equal(rotationDue(policy, 4096, 0, 0), "size");
  assert.equal(rotationDue(policy, 1, 0, 1000), "age");
  assert.equal(rotationDue(policy, 0, 0, 10_000), null);
  const bySize = { ...policy, intervalMs: null };
  assert.equal(rotationDue(bySize, 1, 0, 1e9), null);
  const byAge = { ...policy, size: null };
  assert.equal(rotationDue(byAge, 1e9, 0, 1), null);
});

Deno.test("unitsBeforeRotation() writes the unit that reaches the size whole, none after", () => {
  const policy = { size: 100, intervalMs: null, keep: 5, compress: false };
  assert.equal(unitsBeforeRotation(policy, 0, [40, 40, 40, 40]), 3);
  assert.equal(unitsBeforeRotation(policy, 60, [40, 1]), 1);
  assert.equal(unitsBeforeRotation(policy, 0, [500, 1]), 1);
  assert.equal(unitsBeforeRotation(policy, 0, [10, 10]), 2);
  assert.equal(unitsBeforeRotation(policy, 0, []), 0);
  assert.equal(unitsBeforeRotation({ ...policy, size: null }, 1e9, [1, 2, 3]), 3);
});

Deno.test("ageCheckPeriod() is a tenth of the interval, between 100 ms and 1 s", () => {
  const policy = { size: null, intervalMs: 1000, keep: 5, compress: false };
  assert.equal(ageCheckPeriod(policy), 100);
  assert.equal(ageCheckPeriod({ ...policy, intervalMs: 5000 }), 500);
  assert.equal(ageCheckPeriod({ ...policy, intervalMs: 86_400_000 }), 1000);
  assert.equal(ageCheckPeriod({ ...policy, intervalMs: null }), null);
});
