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
