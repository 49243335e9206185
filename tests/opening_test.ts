// The opening (protocol/opening.ts): OpeningReader and encodeOpening().

import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeOpening, OpeningReader, PATH_MAX } from "../protocol/mod.ts";
import { cut } from "./_streams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("OpeningReader yields the same path, version and data however the stream is split into reads", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 300 }).map((bytes) =>
        Uint8Array.from([47, ...bytes.map((b) => (b === 0 ? 1 : b))])
      ),
      fc.constantFrom("0.x" as const, "offlog/1" as const),
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (path, version, data, cuts) => {
        const hello = version === "offlog/1"
          ? encoder.encode("offlog/1\0")
          : new Uint8Array(0);
        const stream = Uint8Array.from([...hello, ...path, 0, ...data]);
        const reader = new OpeningReader();
        const pieces = cut(stream, cuts);
        let result: ReturnType<OpeningReader["push"]> = { state: "more" };
        let k = 0;
        let pushed = 0;
        while (result.state === "more") {
          assert.ok(k < pieces.length, "the opening completes within the stream");
          result = reader.push(pieces[k]!);
          pushed += pieces[k++]!.length;
          if (result.state === "more") {
            assert.ok(reader.heldBytes <= pushed);
          }
        }
        assert.ok(result.state === "done", JSON.stringify(result));
        assert.equal(result.version, version);
        assert.deepEqual(result.path, path);
        const rest = [...result.rest, ...pieces.slice(k).flatMap((p) => [...p])];
        assert.deepEqual(rest, [...data], "the bytes after the opening are file data");
      },
    ),
  );
});

Deno.test("OpeningReader takes a path of exactly PATH_MAX bytes and refuses a longer one, NUL or not", () => {
  const exact = encoder.encode("/" + "a".repeat(PATH_MAX - 1) + "\0");
  const done = new OpeningReader().push(exact);
  assert.ok(done.state === "done");
  assert.equal(done.path.length, PATH_MAX);

  const refused = {
    state: "refused",
    name: "ValueError",
    message: "path longer than PATH_MAX",
  };
  const long = new OpeningReader();
  assert.equal(long.push(new Uint8Array(PATH_MAX).fill(97)).state, "more");
  assert.deepEqual(long.push(new Uint8Array([97])), refused, "0.x, no NUL");
  const longWithNul = encoder.encode("/" + "a".repeat(PATH_MAX) + "\0");
  assert.deepEqual(new OpeningReader().push(longWithNul), refused);
  const v1 = new OpeningReader();
  assert.equal(v1.push(encoder.encode("offlog/1\0")).state, "more");
  assert.equal(v1.push(encoder.encode("/" + "b".repeat(PATH_MAX - 1))).state, "more");
  assert.equal(v1.heldBytes, PATH_MAX, "the hello does not count toward PATH_MAX");
  assert.deepEqual(v1.push(encoder.encode("b")), refused);
});

Deno.test("OpeningReader reads the hello only as the first token", () => {
  let result = new OpeningReader().push(encoder.encode("offlog/1\0offlog/1\0x"));
  assert.ok(result.state === "done");
  assert.equal(result.version, "offlog/1");
  assert.equal(decoder.decode(result.path), "offlog/1", "a second hello is the path");
  assert.equal(decoder.decode(result.rest), "x");
  result = new OpeningReader().push(encoder.encode("offlog/2\0offlog/1\0"));
  assert.ok(result.state === "done");
  assert.equal(result.version, "offlog/2");
  assert.equal(decoder.decode(result.path), "offlog/1", "a second hello is the path");
  result = new OpeningReader().push(encoder.encode("offlog/3\0"));
  assert.ok(result.state === "done");
  assert.equal(result.version, "0.x", "another token is a 0.x path");
  assert.equal(decoder.decode(result.path), "offlog/3");
  result = new OpeningReader().push(encoder.encode("\0"));
  assert.ok(result.state === "done");
  assert.equal(result.path.length, 0);
});

Deno.test("encodeOpening() encodes the path as UTF-8 after the hello, each token NUL-ended", () => {
  assert.equal(decoder.decode(encodeOpening("/tmp/é.log", "0.x")), "/tmp/é.log\0");
  assert.equal(
    decoder.decode(encodeOpening("/tmp/é.log", "offlog/1")),
    "offlog/1\0/tmp/é.log\0",
  );
  assert.equal(encodeOpening("/tmp/é.log", "0.x").length, 12);
});
