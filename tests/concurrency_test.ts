import assert from "node:assert/strict";
import { startServer } from "./_server.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

Deno.test("8 client processes writing multi-line records to one file: every record whole, in order", async () => {
  await using server = await startServer();
  const path = `${server.dir}/shared.log`;
  const script = `${server.dir}/writer.ts`;
  // Records of 3 to 12 lines, every 25th about 100 KiB, written in bursts.
  await Deno.writeTextFile(
    script,
    `import { ProxyFile } from "${MOD}";
const [id, path, socketPath] = Deno.args;
await using file = await ProxyFile.open(path, { socketPath });
for (let i = 0; i < 400; i++) {
  const lines = [];
  const count = 3 + (i % 10);
  for (let k = 0; k < count; k++) lines.push(\`  \${id}/\${i}/\${k} \${"y".repeat(i % 25 === 0 ? 10000 : 20)}\`);
  file.write(\`BEGIN \${id} \${i} \${count}\\n\${lines.join("\\n")}\\nEND \${id} \${i}\\n\`);
  if (i % 40 === 0) await new Promise((r) => setTimeout(r, 1));
}
`,
  );
  const children = Array.from(
    { length: 8 },
    (_, id) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          `--allow-read=${server.socketPath}`,
          `--allow-write=${server.socketPath}`,
          `--allow-net=unix:${server.socketPath}`,
          script,
          String(id),
          path,
          server.socketPath,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output(),
  );
  for (const result of await Promise.all(children)) {
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  }
  await server.waitFor(`Closed ${path}`);
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.pop(), "");
  const next = new Array<number>(8).fill(0);
  for (let k = 0; k < lines.length; k++) {
    const m = /^BEGIN (\d) (\d+) (\d+)$/.exec(lines[k]!);
    assert.ok(m, `record starts at line ${k}: ${lines[k]!.slice(0, 60)}`);
    const [id, i, count] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(i, next[id], `client ${id} in order`);
    for (let l = 0; l < count; l++) {
      const line = lines[++k]!;
      assert.ok(line.startsWith(`  ${id}/${i}/${l} `), `line ${l} of record ${id}/${i}`);
      assert.equal(
        line.length,
        `  ${id}/${i}/${l} `.length + (i % 25 === 0 ? 10000 : 20),
      );
    }
    assert.equal(lines[++k], `END ${id} ${i}`);
    next[id] = i + 1;
  }
  assert.deepEqual(next, new Array(8).fill(400));
});
