import assert from "node:assert/strict";
import fc from "fast-check";
import {
  denoErrorClass,
  encodeMessage,
  encodeOpening,
  formatError,
  FrameReader,
  LineReader,
  MAX_RECORD_BYTES,
  MessageDecoder,
  NOT_ABSOLUTE,
  OpeningReader,
  parseMessage,
  PATH_MAX,
  pythonErrorName,
  recordReader,
  SERVER_EXITED,
  type Unit,
  writeFrameHeader,
} from "../protocol/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const join = (unit: Unit) => {
  const out = new Uint8Array(unit.bytes);
  let offset = 0;
  for (const part of unit.parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** Cuts `bytes` at the given points (sorted, deduplicated, within range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) =>
    a - b
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.slice(start, point));
    start = point;
  }
  pieces.push(bytes.slice(start));
  return pieces;
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(payload, 4);
  writeFrameHeader(out);
  return out;
}

Deno.test("OpeningReader reads 0.x and offlog/1 openings, and refuses over PATH_MAX", () => {
  let result = new OpeningReader().push(encoder.encode("/tmp/a.log\0data"));
  assert.equal(result.state, "done");
  assert.ok(result.state === "done");
  assert.equal(result.version, "0.x");
  assert.equal(decoder.decode(result.path), "/tmp/a.log");
  assert.equal(decoder.decode(result.rest), "data");

  const reader = new OpeningReader();
  const bytes = encodeOpening("/tmp/b.log", "offlog/1");
  assert.equal(reader.push(bytes.subarray(0, 5)).state, "more");
  result = reader.push(bytes.subarray(5));
  assert.ok(result.state === "done");
  assert.equal(result.version, "offlog/1");
  assert.equal(decoder.decode(result.path), "/tmp/b.log");

  const long = new OpeningReader();
  assert.equal(long.push(new Uint8Array(PATH_MAX).fill(97)).state, "more");
  assert.deepEqual(long.push(new Uint8Array([97])), {
    state: "refused",
    name: "ValueError",
    message: "path longer than PATH_MAX",
  });
});

Deno.test("MessageDecoder splits messages at NUL across reads; parseMessage knows each kind", () => {
  const messages = new MessageDecoder();
  const bytes = encoder.encode(
    "OK\0ACK 123\0ROTATED\0OSError: offlog server exited\0BYE\0",
  );
  const out = split(bytes, [1, 4, 5, 20]).flatMap((piece) => messages.push(piece));
  assert.deepEqual(out, [
    { type: "ok" },
    { type: "ack", bytes: 123 },
    { type: "rotated" },
    { type: "error", name: "OSError", message: "offlog server exited" },
    { type: "bye" },
  ]);
  assert.deepEqual(parseMessage("something odd"), {
    type: "error",
    name: "ValueError",
    message: "something odd",
  });
  assert.deepEqual([...encodeMessage("OK")], [79, 75, 0]);
});

Deno.test("FrameReader yields the same frames however the stream is split into reads", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const stream = payloads.map(frame).reduce((a, b) => {
          const out = new Uint8Array(a.length + b.length);
          out.set(a);
          out.set(b, a.length);
          return out;
        }, new Uint8Array(0));
        const reader = new FrameReader();
        const units = split(stream, cuts).flatMap((piece) => reader.push(piece));
        assert.deepEqual(
          units.map(join),
          payloads.filter((p) => p.length > 0),
        );
        assert.equal(reader.heldBytes, 0);
      },
    ),
  );
});

Deno.test("FrameReader stops at a frame over the maximum and keeps the frames before it", () => {
  const reader = new FrameReader();
  const bad = new Uint8Array(4);
  new DataView(bad.buffer).setUint32(0, MAX_RECORD_BYTES + 1);
  const good = frame(encoder.encode("ok\n"));
  const both = new Uint8Array(good.length + bad.length);
  both.set(good);
  both.set(bad, good.length);
  const units = reader.push(both);
  assert.equal(units.length, 1);
  assert.match(reader.error ?? "", /larger than the maximum/);
});

Deno.test("LineReader yields only whole lines, the same file however the stream is split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ maxLength: 40 }).map((s) => s.replaceAll("\n", "")), {
        maxLength: 30,
      }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 30 }),
      (lines, unfinished, cuts) => {
        const text = lines.join("\n") + (unfinished ? "" : "\n");
        const stream = encoder.encode(text);
        const reader = new LineReader();
        const out: Uint8Array[] = [];
        for (const piece of split(stream, cuts)) {
          const units = reader.push(piece);
          assert.ok(units.length <= 1, "one unit per read at most");
          for (const unit of units) {
            const bytes = join(unit);
            assert.equal(bytes.at(-1), 10, "a unit ends with a newline");
            out.push(bytes);
          }
        }
        const tail = reader.end();
        if (tail !== null) out.push(join(tail));
        assert.equal(out.map((b) => decoder.decode(b)).join(""), text);
      },
    ),
  );
});

Deno.test("writeFrameHeader() writes the payload length big-endian at the frame's own offset", () => {
  for (const length of [0, 1, 258, 65_536 + 3]) {
    const buffer = new Uint8Array(10 + 4 + length + 7).fill(0xee);
    const frame = buffer.subarray(10, 10 + 4 + length);
    writeFrameHeader(frame);
    const expected = [
      length >>> 24,
      (length >>> 16) & 255,
      (length >>> 8) & 255,
      length & 255,
    ];
    assert.deepEqual([...buffer.subarray(10, 14)], expected, `length ${length}`);
    assert.ok(
      buffer.subarray(0, 10).every((b) => b === 0xee),
      "nothing before the frame",
    );
    assert.ok(buffer.subarray(14).every((b) => b === 0xee), "the payload is untouched");
  }
  const max = new Uint8Array(4 + MAX_RECORD_BYTES);
  writeFrameHeader(max);
  assert.deepEqual([...max.subarray(0, 4)], [1, 0, 0, 0]);
  assert.throws(
    () => writeFrameHeader(new Uint8Array(4 + MAX_RECORD_BYTES + 1)),
    RangeError,
  );
  assert.throws(() => writeFrameHeader(new Uint8Array(3)), RangeError);
});

Deno.test("FrameReader ignores empty frames, counts held bytes, and stops for good after an oversized frame", () => {
  const reader = new FrameReader();
  const stream = [
    ...frame(new Uint8Array(0)),
    ...frame(encoder.encode("ab")),
    ...frame(new Uint8Array(0)),
    ...frame(encoder.encode("cde")),
  ];
  assert.deepEqual(reader.push(new Uint8Array(stream.slice(0, 6))), []);
  assert.equal(reader.heldBytes, 2, "two header bytes of the next frame");
  const units = reader.push(new Uint8Array(stream.slice(6, 13)));
  assert.deepEqual(units.map((u) => decoder.decode(join(u))), ["ab"]);
  assert.equal(reader.heldBytes, 3, "3 header bytes of the next frame");
  assert.deepEqual(
    reader.push(new Uint8Array(stream.slice(13))).map((u) => decoder.decode(join(u))),
    ["cde"],
  );
  assert.equal(reader.heldBytes, 0);
  assert.equal(reader.error, null);

  const bad = new FrameReader();
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, MAX_RECORD_BYTES + 1);
  assert.deepEqual(bad.push(header.subarray(0, 2)), []);
  assert.equal(bad.error, null, "not known before the whole header");
  assert.deepEqual(bad.push(header.subarray(2)), []);
  assert.equal(
    bad.error,
    `record of ${
      MAX_RECORD_BYTES + 1
    } bytes is larger than the maximum of ${MAX_RECORD_BYTES} bytes`,
  );
  assert.deepEqual(bad.push(frame(encoder.encode("later\n"))), [], "nothing after it");

  const exact = new FrameReader();
  const maxHeader = new Uint8Array(4);
  new DataView(maxHeader.buffer).setUint32(0, MAX_RECORD_BYTES);
  assert.deepEqual(exact.push(maxHeader), []);
  assert.equal(exact.error, null, "a frame of exactly MAX_RECORD_BYTES is fine");
});

Deno.test("recordReader() reads frames for offlog/1 and lines for 0.x; after end(), heldBytes is what was dropped", () => {
  const frames = recordReader("offlog/1");
  assert.ok(frames instanceof FrameReader);
  assert.equal(frames.push(frame(encoder.encode("whole"))).length, 1);
  assert.deepEqual(frames.push(frame(encoder.encode("cut")).subarray(0, 5)), []);
  assert.equal(frames.end(), null, "an unfinished frame is not written");
  assert.equal(frames.heldBytes, 5, "its header and first byte are dropped");

  const lines = recordReader("0.x");
  assert.ok(lines instanceof LineReader);
  assert.equal(lines.error, null);
  assert.deepEqual(
    lines.push(encoder.encode("a\nb")).map((u) => decoder.decode(join(u))),
    [
      "a\n",
    ],
  );
  const last = lines.end();
  assert.equal(last === null ? null : decoder.decode(join(last)), "b");
  assert.equal(lines.heldBytes, 0, "the unfinished line is handed out, not dropped");
});

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
        const pieces = split(stream, cuts);
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
  result = new OpeningReader().push(encoder.encode("offlog/2\0"));
  assert.ok(result.state === "done");
  assert.equal(result.version, "0.x", "another token is a 0.x path");
  assert.equal(decoder.decode(result.path), "offlog/2");
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

Deno.test("MessageDecoder yields the same messages however the stream is split, UTF-8 included", () => {
  const message = fc.oneof(
    fc.constantFrom("OK", "BYE", "ROTATED", "OSError: offlog server exited"),
    fc.nat().map((n) => `ACK ${n}`),
    fc.tuple(
      fc.constantFrom("PermissionError", "ValueError", "FileNotFoundError", "Bad Name"),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    ).map(([name, text]) => `${name}: ${text.replaceAll("\0", "")}`),
  );
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 15 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (texts, cuts) => {
        const stream = new Uint8Array(texts.flatMap((text) => [...encodeMessage(text)]));
        const messages = new MessageDecoder();
        const out = split(stream, cuts).flatMap((piece) => messages.push(piece));
        assert.deepEqual(out, texts.map(parseMessage));
      },
    ),
  );
});

Deno.test("MessageDecoder does not keep a reference to the caller's buffer", () => {
  const messages = new MessageDecoder();
  const buffer = encoder.encode("ACK 12");
  assert.deepEqual(messages.push(buffer), []);
  buffer.fill(0x39); // the socket's buffer is reused for the next read
  assert.deepEqual(messages.push(encoder.encode("3\0")), [{ type: "ack", bytes: 123 }]);
});

Deno.test("parseMessage() knows every server message and takes anything else for an error", () => {
  assert.deepEqual(parseMessage("OK"), { type: "ok" });
  assert.deepEqual(parseMessage("BYE"), { type: "bye" });
  assert.deepEqual(parseMessage("ROTATED"), { type: "rotated" });
  assert.deepEqual(parseMessage("ACK 0"), { type: "ack", bytes: 0 });
  assert.deepEqual(parseMessage("ACK 9007199254740991"), {
    type: "ack",
    bytes: Number.MAX_SAFE_INTEGER,
  });
  assert.deepEqual(
    parseMessage("PermissionError: [Errno 13] Permission denied: '/a: b.log'"),
    {
      type: "error",
      name: "PermissionError",
      message: "[Errno 13] Permission denied: '/a: b.log'",
    },
    "the name ends at the first colon",
  );
  assert.deepEqual(parseMessage("OSError: offlog server exited"), {
    type: "error",
    name: "OSError",
    message: "offlog server exited",
  });
  for (
    const text of [
      "",
      "ok",
      "OK ",
      "Not A Name: x",
      ": x",
      "ACK -1",
      "ACK 9007199254740992",
    ]
  ) {
    assert.deepEqual(parseMessage(text), {
      type: "error",
      name: "ValueError",
      message: text,
    });
  }
});

Deno.test("parseMessage() reads an ACK count only as decimal digits, as PROTOCOL.md defines it", () => {
  // `ACK <n>`: n in decimal. Anything else is not an ACK.
  const texts = ["ACK ", "ACK 1e3", "ACK 0x10", "ACK  5", "ACK 5 ", "ACK +5", "ACK 5.0"];
  const taken = texts.filter((text) => parseMessage(text).type === "ack").map((text) =>
    `${JSON.stringify(text)} as ${JSON.stringify(parseMessage(text))}`
  );
  assert.deepEqual(taken, [], `read as ACKs: ${taken.join(", ")}`);
  assert.deepEqual(parseMessage("ACK 5"), { type: "ack", bytes: 5 });
});

Deno.test("encodeMessage() and formatError() write the 0.x form: UTF-8 text, one NUL", () => {
  const text = formatError(
    "FileNotFoundError",
    "[Errno 2] No such file or directory: '/nö'",
  );
  assert.equal(text, "FileNotFoundError: [Errno 2] No such file or directory: '/nö'");
  const bytes = encodeMessage(text);
  assert.equal(bytes.at(-1), 0);
  assert.equal(bytes.indexOf(0), bytes.length - 1, "one NUL, at the end");
  assert.equal(decoder.decode(bytes.subarray(0, -1)), text);
});

Deno.test("LineReader lets a line longer than MAX_RECORD_BYTES through rather than hold it forever", () => {
  const reader = new LineReader();
  const piece = new Uint8Array(MAX_RECORD_BYTES / 2).fill(0x78);
  assert.deepEqual(reader.push(piece), []);
  assert.deepEqual(reader.push(piece), [], "exactly the maximum is still held");
  assert.equal(reader.heldBytes, MAX_RECORD_BYTES);
  const units = reader.push(new Uint8Array([0x78]));
  assert.equal(units.length, 1);
  assert.equal(units[0]!.bytes, MAX_RECORD_BYTES + 1);
  assert.equal(reader.heldBytes, 0);
  assert.equal(reader.end(), null);
});

Deno.test("pythonErrorName() and denoErrorClass() map the 0.x names to Deno's errors and back", () => {
  const pairs: [string, new (message?: string) => Error][] = [
    ["PermissionError", Deno.errors.PermissionDenied],
    ["FileNotFoundError", Deno.errors.NotFound],
    ["IsADirectoryError", Deno.errors.IsADirectory],
    ["NotADirectoryError", Deno.errors.NotADirectory],
    ["FileExistsError", Deno.errors.AlreadyExists],
    ["BrokenPipeError", Deno.errors.BrokenPipe],
    ["TimeoutError", Deno.errors.TimedOut],
  ];
  for (const [name, cls] of pairs) {
    assert.equal(pythonErrorName(new cls("x")), name);
    assert.equal(denoErrorClass(name), cls);
  }
  assert.equal(pythonErrorName(new Deno.errors.NotCapable("scope")), "PermissionError");
  assert.equal(pythonErrorName(new Error("ENOSPC")), "OSError");
  assert.equal(pythonErrorName("not an error"), "OSError");
  for (
    const name of ["ValueError", "OSError", "SomethingElse", "toString", "constructor"]
  ) {
    assert.equal(denoErrorClass(name), undefined, name);
  }
  assert.equal(SERVER_EXITED, "OSError: offlog server exited");
  assert.equal(NOT_ABSOLUTE, "not an absolute path");
});
