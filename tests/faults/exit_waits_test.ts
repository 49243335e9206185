// A program that ends without close() must wait for the server's confirmations, not
// only for its bytes to be in the socket. The server is stopped (SIGSTOP) while the
// program ends, so its acknowledgements cannot come before the event loop runs dry:
// the program must still be running then, and exit only once the server, continued,
// has written every line. Deno 2.9 ends the process after an uncancelled
// "beforeunload" even when its listener armed a timer: this fails when the exit
// handling does not cancel it (the loss of 6,704 of 30,000 lines seen once in CI).

import assert from "node:assert/strict";
import { spawnChild } from "../_child.ts";
import { startServer } from "../_server.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const LINES = 2000;

for (const kind of ["ProxyFile", "Logger"] as const) {
  Deno.test(`exit: a ${kind} program that ends without close() while the server is stopped waits for it, then every line is in the file`, async () => {
    await using server = await startServer();
    const path = `${server.dir}/waits.log`;
    const script = `${server.dir}/waits.ts`;
    const open = kind === "ProxyFile"
      ? `const file = await ProxyFile.open(path, { socketPath, timeout: 20_000 });
const write = (line: string) => file.write(line + "\\n");`
      : `const logger = await Logger.open("w", path, { socketPath, timeout: 20_000, stdoutLevel: null, stderrLevel: null });
const write = (line: string) => logger.info(line);`;
    await Deno.writeTextFile(
      script,
      `import { Logger, ProxyFile } from "${MOD}";
const [socketPath, path] = Deno.args;
${open}
console.log("opened");
// Wait for the test to stop the server.
const buffer = new Uint8Array(16);
await Deno.stdin.read(buffer);
for (let i = 0; i < ${LINES}; i++) write(\`line \${i}\`);
`,
    );
    const child = spawnChild(script, [server.socketPath, path], [
      `--allow-read=${server.dir}`,
      `--allow-write=${server.dir}`,
      `--allow-net=unix:${server.socketPath}`,
    ]);
    let ended = false;
    const exited = child.exited(30_000).finally(() => ended = true);
    await child.waitFor("opened");
    server.process.kill("SIGSTOP");
    try {
      await child.send("go");
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(
        ended,
        false,
        `the program exited while the server was stopped: ${child.stderr()}`,
      );
    } finally {
      server.process.kill("SIGCONT");
    }
    const result = await exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    // Read at once: the program waited for the server's word, so everything is there.
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.equal(lines.length, LINES);
    lines.forEach((line, i) => {
      if (!line.endsWith(`line ${i}`)) assert.fail(`line ${i}: ${line}`);
    });
  });
}
