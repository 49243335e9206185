// The server's command line (server/cli.ts): flags, usage and exit codes, and the
// signals it wires to the server.

import assert from "node:assert/strict";
import { parseBytes } from "../server/cli.ts";
import { ProxyFile } from "../mod.ts";
import denoJson from "../deno.json" with { type: "json" };
import { startServer } from "./_server.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

/** Runs the server's command line with `args` to its exit. */
async function run(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-read", "--allow-write", SERVER, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("server exits 0 on SIGINT, removes its socket file and tells a connected client", async () => {
  await using server = await startServer();
  const path = `${server.dir}/int.log`;
  const file = await ProxyFile.open(path, { socketPath: server.socketPath });
  file.write("before\n");
  await file.flush();
  const status = await server.stop("SIGINT");
  assert.equal(status.code, 0);
  await assert.rejects(Deno.lstat(server.socketPath), Deno.errors.NotFound);
  await assert.rejects(file.close(), /offlog server exited/);
  assert.equal(await Deno.readTextFile(path), "before\n");
});

Deno.test("server CLI: --help and --version exit 0; unknown flags and missing values print usage and exit 2", async () => {
  const [help, h, version, unknown, noSocket, noLogfile, positional] = await Promise.all([
    run("--help"),
    run("-h"),
    run("--version"),
    run("--bogus"),
    run("-s"),
    run("--logfile"),
    run("extra"),
  ]);
  assert.equal(help.code, 0);
  assert.equal(help.stderr, "");
  for (
    const option of [
      "-h, --help",
      "--version",
      "-n, --notify",
      "-s SOCKET_FILE, --socket-file SOCKET_FILE",
      "-l LOGFILE, --logfile LOGFILE",
      "/tmp/offlog.sock",
    ]
  ) {
    assert.ok(help.stdout.includes(option), `--help lists ${option}`);
  }
  assert.match(help.stdout, /^usage: offlog /);
  assert.deepEqual(h, help);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `offlog ${denoJson.version}\n`);
  for (
    const [what, bad] of Object.entries({ unknown, noSocket, noLogfile, positional })
  ) {
    assert.equal(bad.code, 2, what);
    assert.equal(bad.stdout, "", what);
    assert.match(bad.stderr, /^usage: offlog \[-h\]/, what);
    assert.match(bad.stderr, /offlog: error: /, what);
  }
});

Deno.test("parseBytes() takes K, M and G, and refuses less than 64K with the flag's own message", () => {
  assert.equal(parseBytes("64K"), 64 * 1024);
  assert.equal(parseBytes("256M"), 256 * 1024 * 1024);
  assert.equal(parseBytes("1G"), 1024 ** 3);
  assert.throws(
    () => parseBytes("1000"),
    /--max-buffered-bytes takes bytes \(at least 64K\)/,
  );
  assert.throws(() => parseBytes("-5M"), /--max-buffered-bytes takes bytes/);
});

Deno.test("server CLI: bad --rotate-* flags exit 2 with the usage and a message naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["--rotate-size", "1K"], /--rotate-size takes bytes \(at least 4K\).*not "1K"/],
    [["--rotate-size", "-1M"], /--rotate-size takes bytes .*not "-1M"/],
    [["--rotate-size", "lots"], /--rotate-size takes bytes .*not "lots"/],
    [["--rotate-interval", "0s"], /--rotate-interval takes a duration above zero/],
    [["--rotate-interval", "15"], /--rotate-interval .*\(90s, 15m, 1h, 1d\), not "15"/],
    [["--rotate-size", "1M", "--rotate-keep", "0"], /--rotate-keep takes .*not "0"/],
    [["--rotate-size", "1M", "--rotate-keep", "-5"], /--rotate-keep takes .*not "-5"/],
    [["--rotate-keep", "3"], /--rotate-keep needs --rotate-size or --rotate-interval/],
    [["--rotate-compress"], /--rotate-compress needs --rotate-size or --rotate-interval/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(...args)));
  for (const [k, [args, message]] of cases.entries()) {
    const result = results[k]!;
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^usage: offlog /, args.join(" "));
    assert.match(result.stderr, message, args.join(" "));
  }
  const text = (await run("--help")).stdout;
  for (
    const flag of ["--rotate-size SIZE", "--rotate-interval DURATION", "--rotate-keep N"]
  ) {
    assert.ok(text.includes(flag), flag);
  }
  assert.match(text, /--rotate-compress +Compress rotated files/);
});

Deno.test("server CLI: every numeric flag answers a negative number with its own message and exit 2, not parseArgs' 'ambiguous'", async () => {
  const cases: [string, RegExp][] = [
    ["--max-clients", /--max-clients takes a whole number of at least 1, not "-5"/],
    [
      "--opening-timeout",
      /--opening-timeout takes a whole number of at least 1, not "-5"/,
    ],
    [
      "--max-buffered-bytes",
      /--max-buffered-bytes takes bytes \(at least 64K\).*not "-5"/,
    ],
    ["--stats-interval", /--stats-interval takes a whole number of at least 0, not "-5"/],
    [
      "--metrics-interval",
      /--metrics-interval takes a whole number of at least 1, not "-5"/,
    ],
    ["--sync-interval", /--sync-interval takes a whole number of at least 0, not "-5"/],
    [
      "--rotate-check",
      /--rotate-check takes a whole number of ms \(0: never\), not "-5"/,
    ],
    ["--socket-mode", /Invalid --socket-mode "-5"/],
  ];
  const results = await Promise.all(
    cases.map(([flag]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-q", "--allow-read", "--allow-write", SERVER, flag, "-5"],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output()
    ),
  );
  for (const [i, [flag, expected]] of cases.entries()) {
    const stderr = new TextDecoder().decode(results[i]!.stderr);
    assert.equal(results[i]!.code, 2, `${flag}: ${stderr}`);
    assert.match(stderr, expected, flag);
    assert.ok(!stderr.includes("ambiguous"), stderr);
  }
});
