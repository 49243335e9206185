import assert from "node:assert/strict";
import { ProxyFile } from "../mod.ts";
import { startServer } from "./_server.ts";
import { readMessages, writeAll } from "./_raw.ts";

const encoder = new TextEncoder();
const MOD = new URL("../mod.ts", import.meta.url).href;

/** Resident memory of a process, from `ps` (Deno needs --allow-all to read /proc). */
async function rssMiB(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
  })
    .output();
  return Number(new TextDecoder().decode(stdout).trim()) / 1024;
}

Deno.test("a client that sends half a path and hangs does not stop the server serving others", async () => {
  await using server = await startServer();
  const hanging = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    await writeAll(hanging, encoder.encode(`${server.dir}/half`));
    await using file = await ProxyFile.open(`${server.dir}/other.log`, {
      socketPath: server.socketPath,
    });
    file.write("served\n");
    await file.flush();
    assert.equal(await Deno.readTextFile(`${server.dir}/other.log`), "served\n");
  } finally {
    hanging.close();
  }
});

Deno.test("1,000 idle connections: the server holds them in little memory and still serves", async () => {
  await using server = await startServer();
  const before = await rssMiB(server.process.pid);
  const conns: Deno.UnixConn[] = [];
  try {
    for (let i = 0; i < 1000; i++) {
      const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
      conns.push(conn);
      await writeAll(conn, encoder.encode(`offlog/1\0${server.dir}/idle${i % 10}.log\0`));
    }
    await server.waitFor("New client 999 ");
    const after = await rssMiB(server.process.pid);
    console.log(
      `server VmRSS: ${before.toFixed(1)} MiB idle, ${
        after.toFixed(1)
      } MiB with 1,000 clients`,
    );
    assert.ok(after - before < 100, `grew by ${(after - before).toFixed(1)} MiB`);
    await using file = await ProxyFile.open(`${server.dir}/busy.log`, {
      socketPath: server.socketPath,
    });
    file.write("still served\n");
    await file.flush();
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("a client killed with SIGKILL mid-record: its unfinished record is dropped, all before it written", async () => {
  await using server = await startServer();
  const path = `${server.dir}/killed.log`;
  const script = `${server.dir}/killed.ts`;
  // Raw offlog/1: three whole frames, then half of a fourth, then wait to be killed.
  await Deno.writeTextFile(
    script,
    `const conn = await Deno.connect({ transport: "unix", path: Deno.args[0] });
const enc = new TextEncoder();
const frame = (text) => { const b = enc.encode(text); const f = new Uint8Array(4 + b.length); new DataView(f.buffer).setUint32(0, b.length); f.set(b, 4); return f; };
await conn.write(enc.encode("offlog/1\\0" + Deno.args[1] + "\\0"));
await conn.read(new Uint8Array(3));
for (const text of ["one\\n", "two\\n", "three\\n"]) await conn.write(frame(text));
const partial = frame("four is never finished\\n");
await conn.write(partial.subarray(0, 10));
console.log("ready");
await new Promise(() => {});
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, server.socketPath, path],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /ready/);
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  await server.waitFor("unfinished record");
  await server.waitFor(`Closed ${path}`);
  assert.equal(await Deno.readTextFile(path), "one\ntwo\nthree\n");
});

Deno.test("a client that never reads the server's messages does not hold up others", async () => {
  await using server = await startServer();
  const deaf = await Deno.connect({ transport: "unix", path: server.socketPath });
  try {
    const path = `${server.dir}/deaf.log`;
    await writeAll(deaf, encoder.encode(`offlog/1\0${path}\0`));
    // Many small frames: each write brings an ACK that this client never reads.
    const frame = new Uint8Array(4 + 10);
    new DataView(frame.buffer).setUint32(0, 10);
    frame.set(encoder.encode("deaf line\n"), 4);
    for (let i = 0; i < 20_000; i++) await writeAll(deaf, frame);
    await using file = await ProxyFile.open(`${server.dir}/other.log`, {
      socketPath: server.socketPath,
    });
    file.write("other\n");
    await file.flush();
    const deadline = Date.now() + 5000;
    while ((await Deno.stat(path)).size < 200_000 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await Deno.stat(path)).size, 200_000);
  } finally {
    deaf.close();
  }
});

Deno.test("16 clients streaming through a server SIGTERM: every record whole, every confirmed one kept", async () => {
  await using server = await startServer();
  const path = `${server.dir}/16.log`;
  const script = `${server.dir}/streamer.ts`;
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const [id, path, socketPath] = Deno.args;
const file = await ProxyFile.open(path, { socketPath });
let i = 0;
try {
  for (;;) {
    for (let k = 0; k < 500; k++) file.write(\`c\${id} r\${i++} \${"s".repeat(60)}\\n\`);
    await file.flush();
    console.log(i);
  }
} catch {
  // the server exited
}
`,
  );
  const children = Array.from(
    { length: 16 },
    (_, id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, String(id), path, server.socketPath],
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
  );
  // Streaming first (16 processes take a while to start on a loaded machine).
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const size = await Deno.stat(path).then((info) => info.size, () => 0);
    if (size > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await server.stop("SIGTERM")).code, 0);
  const confirmed = await Promise.all(children.map(async (child) => {
    const output = await child.output();
    const counts = new TextDecoder().decode(output.stdout).trim().split("\n").map(Number);
    return counts.at(-1) ?? 0;
  }));
  const next = new Array<number>(16).fill(0);
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"));
  for (const line of text.slice(0, -1).split("\n")) {
    const m = /^c(\d+) r(\d+) s{60}$/.exec(line);
    assert.ok(m, `torn line ${JSON.stringify(line.slice(0, 80))}`);
    const [c, r] = [Number(m[1]), Number(m[2])];
    assert.equal(r, next[c], `client ${c} in order`);
    next[c] = r + 1;
  }
  confirmed.forEach((count, c) =>
    assert.ok(next[c]! >= count, `client ${c} lost confirmed records`)
  );
});

Deno.test("the same byte stream split at any points yields the same file through the server", async () => {
  const { default: fc } = await import("fast-check");
  await using server = await startServer();
  const lines = Array.from(
    { length: 200 },
    (_, i) => `line ${i} ${"p".repeat(i % 37)}\n`,
  );
  const stream = encoder.encode(lines.join(""));
  const frames = (() => {
    // offlog/1: the same lines, four records to a frame.
    const parts: Uint8Array[] = [];
    for (let i = 0; i < lines.length; i += 4) {
      const body = encoder.encode(lines.slice(i, i + 4).join(""));
      const frame = new Uint8Array(4 + body.length);
      new DataView(frame.buffer).setUint32(0, body.length);
      frame.set(body, 4);
      parts.push(frame);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  })();
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.boolean(),
      fc.array(fc.nat({ max: stream.length + 200 }), { maxLength: 12 }),
      async (v1, cuts) => {
        const path = `${server.dir}/split${run++}.log`;
        const opening = encoder.encode(v1 ? `offlog/1\0${path}\0` : `${path}\0`);
        const body = v1 ? frames : stream;
        const all = new Uint8Array(opening.length + body.length);
        all.set(opening);
        all.set(body, opening.length);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) =>
          a - b
        );
        const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
        try {
          let start = 0;
          for (const point of [...points, all.length]) {
            await writeAll(conn, all.subarray(start, point));
            start = point;
            await new Promise((r) => setTimeout(r, 1));
          }
          await conn.closeWrite();
          const messages = await readMessages(conn);
          assert.equal(messages.at(-1), "BYE");
        } finally {
          conn.close();
        }
        assert.deepEqual(await Deno.readFile(path), stream);
      },
    ),
    { numRuns: 25 },
  );
});
