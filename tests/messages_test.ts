// Server messages (protocol/messages.ts): MessageDecoder, parseMessage(), encodeMessage()
// and formatError(); and the 0.x error names they carry (protocol/errors.ts).

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  denoErrorClass,
  encodeMessage,
  formatError,
  MAX_MESSAGE_BYTES,
  MessageDecoder,
  MessageTooLongError,
  NOT_ABSOLUTE,
  parseMessage,
  pythonErrorName,
  SERVER_EXITED,
} from "../protocol/mod.ts";
import { cut } from "./_streams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MiB = 1024 * 1024;

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
        const out = cut(stream, cuts).flatMap((piece) => messages.push(piece));
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
      "something odd",
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
  assert.deepEqual([...encodeMessage("OK")], [79, 75, 0]);
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

// ---------------------------------------------------------------------------------
// MessageDecoder's bound

Deno.test("MessageDecoder.push() takes a message of exactly MAX_MESSAGE_BYTES", () => {
  assert.equal(MAX_MESSAGE_BYTES, 16384);
  const text = "ValueError: " + "x".repeat(MAX_MESSAGE_BYTES - 12);
  const bytes = encoder.encode(text + "\0OK\0");
  assert.deepEqual(new MessageDecoder().push(bytes), [parseMessage(text), {
    type: "ok",
  }]);
  // The same, split across pushes at every kind of boundary.
  for (const cuts of [[1], [MAX_MESSAGE_BYTES - 1], [MAX_MESSAGE_BYTES], [100, 8000]]) {
    const decoder = new MessageDecoder();
    const out = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      out.push(...decoder.push(bytes.subarray(from, cut)));
      from = cut;
    }
    assert.deepEqual(out, [parseMessage(text), { type: "ok" }], `cuts ${cuts}`);
  }
});

Deno.test("MessageDecoder.push() throws MessageTooLongError one byte past MAX_MESSAGE_BYTES", () => {
  const long = encoder.encode("x".repeat(MAX_MESSAGE_BYTES + 1));
  // With its NUL in the same chunk, without a NUL, and split across pushes.
  const ways: Uint8Array[][] = [
    [Uint8Array.of(...long, 0)],
    [long],
    [long.subarray(0, MAX_MESSAGE_BYTES), long.subarray(MAX_MESSAGE_BYTES)],
    [
      long.subarray(0, 10),
      long.subarray(10, 5000),
      long.subarray(5000),
      Uint8Array.of(0),
    ],
  ];
  for (const [k, pieces] of ways.entries()) {
    const decoder = new MessageDecoder();
    let error: unknown;
    try {
      for (const piece of pieces) decoder.push(piece);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof MessageTooLongError, `way ${k}: ${error}`);
    assert.equal(error.maxBytes, MAX_MESSAGE_BYTES);
    assert.equal(error.message, "Server message longer than the maximum of 16384 bytes");
    // The decoder stays failed: a later NUL does not make the stream valid again.
    assert.throws(() => decoder.push(encoder.encode("\0OK\0")), MessageTooLongError);
  }
});

Deno.test("MessageDecoder holds at most MAX_MESSAGE_BYTES of 100 MiB without a NUL", () => {
  const chunk = new Uint8Array(1024).fill(0x41);
  const decoder = new MessageDecoder();
  const before = Deno.memoryUsage().heapUsed;
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 100 * 1024; i++) {
    try {
      decoder.push(chunk);
      accepted += chunk.length;
    } catch (error) {
      assert.ok(error instanceof MessageTooLongError);
      refused++;
    }
  }
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(accepted, MAX_MESSAGE_BYTES);
  assert.equal(refused, 100 * 1024 - MAX_MESSAGE_BYTES / 1024);
  assert.ok(grown < 4 * MiB, `heap grew by ${grown} bytes`);
});
