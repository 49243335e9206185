// serve() embedded in a host program: the program keeps its signals, its uncaught
// errors and its exit to itself, and the server's log file still gets every line.

import assert from "node:assert/strict";
import { serve } from "../server.ts";
import { type ChildResult, spawnChild } from "./_child.ts";

const SERVER = new URL("../server.ts", import.meta.url).href;

/** A whole line of the server's log. */
const LOG_LINE =
  /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} offlog (INFO|WARNING|ERROR)\] \S/;

/** Writes `source` as a program in a new temporary directory. */
async function program(source: string): Promise<{ dir: string; script: string }> {
  const dir = await Deno.makeTempDir({ prefix: "offlog_embed_" });
  const script = `${dir}/host.ts`;
  await Deno.writeTextFile(script, `import { serve } from "${SERVER}";\n${source}`);
  return { dir, script };
}

/** Runs `script` with the permissions an embedded server needs, in `dir`. */
function run(dir: string, script: string) {
  return spawnChild(script, [`${dir}/offlog.sock`, `${dir}/server.log`], [
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-net=unix:${dir}/offlog.sock`,
  ]);
}

function describe(result: ChildResult): string {
  return `exit ${result.code} (${result.signal}) after ${Math.round(result.ms)} ms; ` +
    `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

Deno.test("serve() embedded: the host's own SIGTERM handler decides the exit code, and the log file is whole", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
const server = await serve({ socketPath, logFile, quiet: true });
Deno.addSignalListener("SIGTERM", async () => {
  await server.close();
  Deno.exit(7);
});
console.log("ready");
`);
  try {
    const child = run(dir, script);
    await child.waitFor("ready");
    // A client, so the log has more to say than the start.
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/offlog.sock` });
    await conn.write(new TextEncoder().encode(`${dir}/app.log\0hello\n`));
    const reply = new Uint8Array(16);
    assert.equal(
      new TextDecoder().decode(reply.subarray(0, await conn.read(reply) ?? 0)),
      "OK\0",
    );
    conn.close();
    const logFile = `${dir}/server.log`;
    for (let i = 0; i < 200; i++) {
      if ((await Deno.readTextFile(logFile)).includes("Closed ")) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.process.kill("SIGTERM");
    const result = await child.exited();
    assert.equal(result.code, 7, describe(result));
    assert.doesNotMatch(result.stderr, /offlog: lost|offlog:/, describe(result));
    const text = await Deno.readTextFile(logFile);
    assert.ok(text.endsWith("\n"), text);
    const lines = text.slice(0, -1).split("\n");
    for (const line of lines) assert.match(line, LOG_LINE);
    const messages = lines.map((line) => line.slice(line.indexOf("] ") + 2));
    for (
      const expected of [
        "This is offlog server",
        `Listening on socket ${dir}/offlog.sock`,
        "Client 0 connected",
        `New client 0 (total: 1) for ${dir}/app.log`,
        `Closed ${dir}/app.log`,
        "Shutting down",
        "Exiting",
      ]
    ) {
      assert.ok(messages.includes(expected), `"${expected}" in the log:\n${text}`);
    }
    assert.equal(messages.at(-1), "Exiting");
    assert.equal(await Deno.readTextFile(`${dir}/app.log`), "hello\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() embedded: an uncaught error ends the host at once, as Deno reports it", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
await serve({ socketPath, logFile, quiet: true });
throw new Error("x");
`);
  try {
    const result = await run(dir, script).exited(10_000);
    assert.equal(result.code, 1, describe(result));
    assert.match(
      result.stderr,
      /^error: Uncaught (\(in promise\) )?Error: x\n/,
      describe(result),
    );
    // Deno's own report quotes the source line; one printed by a listener does not.
    assert.match(result.stderr, /\nthrow new Error\("x"\);\n +\^\n/, describe(result));
    assert.doesNotMatch(result.stderr, /^offlog:/m, describe(result));
    assert.ok(result.ms < 5000, describe(result));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() embedded: a host that closes the server and ends exits 0 without waiting", async () => {
  const { dir, script } = await program(`
const [socketPath, logFile] = Deno.args;
const server = await serve({ socketPath, logFile, quiet: true });
await server.close();
console.log("closed");
`);
  try {
    const result = await run(dir, script).exited(10_000);
    assert.equal(result.code, 0, describe(result));
    assert.equal(result.stdout, "closed\n", describe(result));
    assert.equal(result.stderr, "", describe(result));
    assert.ok(result.ms < 5000, describe(result));
    const text = await Deno.readTextFile(`${dir}/server.log`);
    assert.match(text, /offlog INFO\] Exiting\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() adds no signal or global event listener, in this process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "offlog_embed_" });
  const added: string[] = [];
  const { addSignalListener } = Deno;
  const { addEventListener } = globalThis;
  Deno.addSignalListener = (signal: Deno.Signal, handler: () => void) => {
    added.push(signal);
    addSignalListener(signal, handler);
  };
  globalThis.addEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ) => {
    added.push(type);
    addEventListener.call(globalThis, type, listener, options);
  }) as typeof globalThis.addEventListener;
  try {
    const server = await serve({
      socketPath: `${dir}/offlog.sock`,
      logFile: `${dir}/server.log`,
      quiet: true,
    });
    await server.close();
  } finally {
    Deno.addSignalListener = addSignalListener;
    globalThis.addEventListener = addEventListener;
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(added, []);
});
