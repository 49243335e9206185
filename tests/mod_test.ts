import assert from "node:assert/strict";
import * as mod from "../mod.ts";
import * as server from "../server.ts";
import * as logtape from "../logtape.ts";
import denoJson from "../deno.json" with { type: "json" };

Deno.test("mod.ts exports the client API", () => {
  assert.deepEqual(Object.keys(mod).sort(), [
    "CRITICAL",
    "DEBUG",
    "DEFAULT_SOCKET_PATH",
    "DEFAULT_TIMEOUT_MS",
    "ERROR",
    "INFO",
    "LocalFile",
    "Logger",
    "MAX_RECORD_BYTES",
    "OfflogConnectionError",
    "OfflogProtocolError",
    "OfflogServerError",
    "ProxyFile",
    "QueueFullError",
    "WARNING",
    "flushAll",
    "levelName",
    "setExitHandling",
  ]);
  assert.equal(typeof mod.ProxyFile.open, "function");
  for (const method of ["write", "flush", "close"] as const) {
    assert.equal(typeof mod.ProxyFile.prototype[method], "function");
  }
  assert.equal(typeof mod.ProxyFile.prototype[Symbol.asyncDispose], "function");
  assert.equal(typeof mod.Logger.open, "function");
  assert.equal(typeof mod.Logger.prototype.format, "function");
  assert.equal(typeof mod.Logger.prototype[Symbol.asyncDispose], "function");
  assert.deepEqual([mod.DEBUG, mod.INFO, mod.WARNING, mod.ERROR, mod.CRITICAL], [
    10,
    20,
    30,
    40,
    50,
  ]);
  assert.equal(mod.DEFAULT_SOCKET_PATH, "/tmp/offlog.sock");
  assert.equal(mod.DEFAULT_TIMEOUT_MS, 5000);
  assert.ok(mod.MAX_RECORD_BYTES >= 1024 * 1024);
});

Deno.test("server.ts exports serve(), main() and VERSION, matching deno.json", () => {
  assert.deepEqual(Object.keys(server).sort(), ["VERSION", "main", "serve"]);
  assert.equal(server.VERSION, denoJson.version);
});

Deno.test("logtape.ts exports the sink", () => {
  assert.deepEqual(Object.keys(logtape).sort(), ["getOfflogSink", "openOfflogSink"]);
});

Deno.test("ProxyFile has the documented static, methods and read-only properties", () => {
  const { ProxyFile } = mod;
  assert.equal(typeof ProxyFile, "function");
  assert.equal(ProxyFile.open.length, 1, "open(path, options = {})");
  const proto = ProxyFile.prototype;
  for (const method of ["write", "flush", "close"] as const) {
    assert.equal(typeof proto[method], "function", method);
  }
  assert.equal(proto.write.length, 1);
  for (
    const getter of [
      "protocol",
      "connected",
      "pendingRecords",
      "pendingSize",
      "droppedRecords",
      "droppedSize",
      "writable",
    ]
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, getter);
    assert.equal(typeof descriptor?.get, "function", `${getter} is a getter`);
    assert.equal(descriptor?.set, undefined, `${getter} is read-only`);
  }
});

Deno.test("the error classes carry what a caller needs", () => {
  const cause = new Error("underlying");
  const server = new mod.OfflogServerError("ValueError", "not an absolute path", {
    cause,
  });
  assert.ok(server instanceof Error);
  assert.equal(server.name, "OfflogServerError");
  assert.equal(server.serverName, "ValueError");
  assert.equal(server.message, "not an absolute path");
  assert.equal(server.cause, cause);

  const connection = new mod.OfflogConnectionError("No server", {
    socketPath: "/x.sock",
  });
  assert.ok(connection instanceof Error);
  assert.equal(connection.name, "OfflogConnectionError");
  assert.equal(connection.socketPath, "/x.sock");
  assert.equal(connection.unsentBytes, 0);
  const lost = new mod.OfflogConnectionError("Lost", {
    socketPath: "/x.sock",
    unsentBytes: 12,
    cause,
  });
  assert.equal(lost.unsentBytes, 12);
  assert.equal(lost.cause, cause);

  const full = new mod.QueueFullError("Queue full", {
    pendingSize: 10,
    maxPendingBytes: 8,
  });
  assert.ok(full instanceof RangeError, "a bad-argument kind of error");
  assert.equal(full.name, "QueueFullError");
  assert.equal(full.pendingSize, 10);
  assert.equal(full.maxPendingBytes, 8);
});

Deno.test("serve() resolves to a server with socketPath, finished, close(), reopen() and asyncDispose", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const running = await server.serve({ socketPath: `${dir}/api.sock`, quiet: true });
    assert.equal(running.socketPath, `${dir}/api.sock`);
    assert.ok(running.finished instanceof Promise);
    assert.equal(typeof running.close, "function");
    assert.equal(typeof running.reopen, "function");
    assert.equal(typeof running[Symbol.asyncDispose], "function");
    await running.reopen();
    await running[Symbol.asyncDispose]();
    await running.finished;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main() returns the exit code: 0 for --help and --version, 2 for bad arguments", async () => {
  const printed: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => printed.push(`out: ${args.join(" ")}`);
  console.error = (...args: unknown[]) => printed.push(`err: ${args.join(" ")}`);
  try {
    assert.equal(await server.main(["--version"]), 0);
    assert.equal(await server.main(["--help"]), 0);
    assert.equal(await server.main(["--no-such-flag"]), 2);
    assert.equal(await server.main(["-s"]), 2);
    assert.equal(await server.main(["--rotate-check", "soon"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.equal(printed[0], `out: offlog ${server.VERSION}`);
  assert.match(printed[1]!, /^out: usage: offlog /);
  for (const line of printed.slice(2)) assert.match(line, /^err: usage: offlog /);
});
