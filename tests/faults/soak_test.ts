// Soak: about a minute of well-behaved writers, hostile clients and faults at once,
// against the real server with the hardening limits on. Afterwards every record a
// writer had confirmed is in the files, whole and once (a reconnecting client may
// resend), each client's in order; the server's descriptors and memory are back near
// where they started; its log has only log lines; it exits 0 on SIGTERM. Every
// problem found is listed at the end, not just the first. See RELIABILITY.md.

import assert from "node:assert/strict";
import { ProxyFile } from "../../mod.ts";
import { type Child, spawnChild } from "../_child.ts";
import { type RunningServer, startServer, waitUntil } from "../_server.ts";
import {
  checkRecords,
  sleep,
  socketOnly,
  vmRssKiB,
} from "../fixtures/reliability_lib.ts";
import {
  badLogLines,
  checkClient,
  confirmedStreams,
  fdCount,
} from "../fixtures/soak_lib.ts";

const WRITER = new URL("../fixtures/soak_writer.ts", import.meta.url).pathname;
const HOSTILE = new URL("../fixtures/soak_hostile.ts", import.meta.url).pathname;
const OPENING_TIMEOUT_MS = 1000;
/** How long writers, hostile clients and faults run together. */
const MIX_MS = 50_000;
/** One fault every STEP_MS. */
const STEP_MS = 2500;
/** The word a forged log line would start with. */
const MARKER = "forged";
const MiB = 1024 * 1024;

/** The well-behaved writers: a and b are on the disk, t on a 1 MiB tmpfs. */
const WRITERS = [
  { client: 0, file: "a", reconnect: false },
  { client: 1, file: "a", reconnect: true },
  { client: 2, file: "b", reconnect: false },
  { client: 3, file: "b", reconnect: true },
  { client: 4, file: "t", reconnect: false },
  { client: 5, file: "t", reconnect: true },
] as const;
type FileName = (typeof WRITERS)[number]["file"];

/** The hostile kinds (soak_hostile.ts) and the outcome each must always have. */
const HOSTILE_KINDS = [
  "half-open",
  "trickle-opening",
  "fifo",
  "evil-path",
  "oversized",
  "cut-frame",
  "rapid",
  "trickle-frames",
  "no-read",
];

async function run(
  command: string,
  args: string[],
): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
      .output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, err: String(error) }; // not installed
  }
}

/** Writes zeros to `path` until the file system is full; returns how many bytes. */
async function fill(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  let total = 0;
  try {
    while (total < 4 * MiB) total += await file.write(chunk);
    throw new Error(`${path}: wrote ${total} bytes to a 1 MiB tmpfs`);
  } catch (error) {
    if (!String(error).includes("os error 28")) throw error;
  } finally {
    file.close();
  }
  return total;
}

/** Unmounts `path`, retrying while busy, lazily at last. */
async function unmount(path: string): Promise<void> {
  for (let k = 0; k < 20; k++) {
    if ((await run("umount", [path])).ok) return;
    await sleep(250);
  }
  const lazy = await run("umount", ["-l", path]);
  if (!lazy.ok) throw new Error(`Cannot unmount ${path}: ${lazy.err}`);
}

Deno.test("soak: writers, hostile clients, rotations, SIGHUP and a full disk for 50 s: confirmed records kept whole, descriptors and memory back, log clean, exit 0", async () => {
  const started = performance.now();
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "offlog_soak_" }));
  const mnt = `${dir}/tmpfs`;
  let mounted = false;
  let server: RunningServer | null = null;
  const children: Child[] = [];
  const problems: string[] = [];
  try {
    await Deno.mkdir(mnt);
    const mount = await run("mount", [
      "-t",
      "tmpfs",
      "-o",
      "size=1m",
      "offlog_soak",
      mnt,
    ]);
    if (mount.ok) mounted = true;
    else if (Deno.env.get("CI") === "true") {
      assert.fail(`CI=true and mount -t tmpfs failed: ${mount.err}`);
    } else {
      console.log(
        `soak: the full disk part is skipped: mount -t tmpfs failed (${mount.err}); ` +
          `file t is on the ordinary disk`,
      );
    }
    const paths: Record<FileName, string> = {
      a: `${dir}/a.log`,
      b: `${dir}/b.log`,
      t: `${mnt}/t.log`,
    };
    const fifos = [`${dir}/fifo0`, `${dir}/fifo1`];
    for (const fifo of fifos) {
      const made = await run("mkfifo", [fifo]);
      assert.ok(made.ok, made.err);
    }
    server = await startServer({
      dir,
      args: [
        "--rotate-check",
        "200",
        "--max-clients",
        "200",
        "--opening-timeout",
        String(OPENING_TIMEOUT_MS),
        "--max-buffered-bytes",
        "64M",
        "-l",
        `${dir}/server.log`,
      ],
    });
    const pid = server.process.pid;

    // One client first, so that what the server sets up on first use is in the baseline.
    {
      await using warm = await ProxyFile.open(`${dir}/warm.log`, {
        socketPath: server.socketPath,
      });
      warm.write("warm\n");
      await warm.flush();
    }
    await server.waitFor(`Closed ${dir}/warm.log`);
    await sleep(500);
    const before = { fds: await fdCount(pid), rss: await vmRssKiB(pid) };

    // The mix.
    const writers = WRITERS.map((w) => {
      const t = w.file === "t";
      const child = spawnChild(WRITER, [
        server!.socketPath,
        JSON.stringify({
          path: paths[w.file],
          client: w.client,
          reconnect: w.reconnect,
          steps: t ? 1 : 3,
          pauseMs: t ? 150 : 60,
          flushEvery: 2,
          reopen: t,
        }),
      ], socketOnly(server!.socketPath));
      children.push(child);
      return { ...w, child };
    });
    await Promise.all(writers.map((w) => w.child.waitFor(`open ${w.client} 0`, 30_000)));
    const mixStart = performance.now();
    const hostile = spawnChild(HOSTILE, [
      server.socketPath,
      JSON.stringify({
        dir,
        fifos,
        durationMs: MIX_MS,
        openingTimeoutMs: OPENING_TIMEOUT_MS,
        marker: MARKER,
      }),
    ], socketOnly(server.socketPath));
    children.push(hostile);

    const rotated: Record<FileName, string[]> = { a: [], b: [], t: [] };
    const tTexts: string[] = []; // rotated t files, read and removed to free the tmpfs
    let rotations = 0;
    let names = 0; // rotated files are numbered across files, never reusing a name
    const rotate = async (file: FileName) => {
      const to = `${paths[file]}.${++names}`;
      try {
        await Deno.rename(paths[file], to);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return; // no client has it open
        throw error;
      }
      rotated[file].push(to);
      rotations++;
      if (file !== "t") return;
      // The one rotated before this was reopened seconds ago: read it and free its space.
      while (rotated.t.length > 1) {
        const old = rotated.t.shift()!;
        tTexts.push(await Deno.readTextFile(old));
        await Deno.remove(old);
      }
    };
    let hangups = 0;
    const hangup = () => {
      server!.process.kill("SIGHUP");
      hangups++;
    };
    const filler = `${mnt}/filler`;
    let filled = 0;
    let tOutAtEmpty: number[] = [];
    let nearEnd = { at: 0, out: [] as number[] };
    const rss: number[] = [];
    const steps: (() => Promise<void> | void)[] = [
      () => rotate("a"),
      () => rotate("t"),
      async () => {
        await rotate("b");
        hangup();
      },
      hangup,
      async () => {
        if (mounted) filled = await fill(filler);
      },
      () => rotate("a"),
      () => rotate("b"),
      async () => {
        if (!mounted) return;
        const tWriters = writers.filter((w) => w.file === "t");
        await waitUntil(
          () =>
            tWriters.some((w) => w.child.stdout().includes("No space left on device")),
          "a writer of the full tmpfs got ENOSPC",
          20_000,
        ).catch((error) => problems.push(String(error)));
        tOutAtEmpty = writers.map((w) => w.child.stdout().length);
        await Deno.remove(filler);
      },
      () => rotate("t"),
      async () => {
        await rotate("a");
        hangup();
      },
      () => rotate("b"),
      () => rotate("t"),
      hangup,
      () => rotate("a"),
      () => {
        nearEnd = {
          at: performance.now(),
          out: writers.map((w) => w.child.stdout().length),
        };
        return rotate("t");
      },
      () => rotate("b"),
      async () => {
        await rotate("a");
        hangup();
      },
      () => rotate("t"),
      () => rotate("b"),
      hangup,
    ];
    for (const [k, step] of steps.entries()) {
      const at = mixStart + (k + 1) * STEP_MS - performance.now();
      if (at > 0) await sleep(at);
      await step();
      rss.push(await vmRssKiB(pid));
    }
    const rest = mixStart + MIX_MS - performance.now();
    if (rest > 0) await sleep(rest);

    // Every writer still made progress near the end: nothing hostile stalled the server.
    const lastMs = (performance.now() - nearEnd.at).toFixed(0);
    for (const [k, w] of writers.entries()) {
      if (!/^confirmed /m.test(w.child.stdout().slice(nearEnd.out[k] ?? 0))) {
        problems.push(`writer ${w.client} confirmed nothing in the last ${lastMs} ms`);
      }
      if (
        mounted && w.file === "t" &&
        !/^confirmed /m.test(w.child.stdout().slice(tOutAtEmpty[k] ?? 0))
      ) {
        problems.push(`writer ${w.client} confirmed nothing after the tmpfs was emptied`);
      }
    }
    for (const w of writers) await w.child.send("stop").catch(() => {});
    let output = "";
    for (const w of writers) {
      const result = await w.child.exited(30_000);
      output += result.stdout;
      if (result.code !== 0 || !/^done$/m.test(result.stdout)) {
        problems.push(`writer ${w.client} exited with ${result.code}: ${result.stderr}`);
      }
      for (const m of result.stdout.matchAll(/^(error|open-error|close-error) .*$/gm)) {
        const allowed = w.file === "t" && mounted && m[1] === "error" &&
          m[0].includes(`No space left on device: '${paths.t}'`);
        if (!allowed) problems.push(`writer ${w.client}: ${m[0]}`);
      }
    }
    const hostileResult = await hostile.exited(40_000);
    const summary = /^summary (.*)$/m.exec(hostileResult.stdout);
    let report = "no summary";
    let written: Record<string, number[]> = {};
    if (summary === null) {
      problems.push(
        `hostile clients: no summary (${hostileResult.code}): ${hostileResult.stderr}`,
      );
    } else {
      const parsed = JSON.parse(summary[1]!);
      const outcomes = parsed.outcomes as Record<string, Record<string, number>>;
      written = parsed.written;
      for (const kind of HOSTILE_KINDS) {
        const got = outcomes[kind] ?? {};
        if (!(got.expected! > 0) || Object.keys(got).length !== 1) {
          problems.push(`hostile ${kind}: ${JSON.stringify(got)}`);
        }
      }
      report = Object.entries(outcomes).map(([kind, got]) =>
        `${kind} ${Object.values(got).reduce((a, b) => a + b, 0)}`
      ).join(", ");
    }

    // Quiet: every client gone. Descriptors and memory back near the start.
    await waitUntil(
      async () => await fdCount(pid) <= before.fds + 2,
      "descriptors back",
      15_000,
    )
      .catch(() => {});
    await sleep(2000);
    const after = { fds: await fdCount(pid), rss: await vmRssKiB(pid) };
    const grew = (after.rss - before.rss) / 1024;
    const figures = `server descriptors ${before.fds} -> ${after.fds}, VmRSS ` +
      `${(before.rss / 1024).toFixed(1)} -> ${(after.rss / 1024).toFixed(1)} MiB ` +
      `(${grew >= 0 ? "+" : ""}${grew.toFixed(1)})`;
    console.log(`soak: ${figures}`);
    console.log(
      `soak: server VmRSS during the mix, MiB, every ${STEP_MS} ms: ` +
        rss.map((k) => (k / 1024).toFixed(0)).join(" "),
    );
    if (Math.abs(after.fds - before.fds) > 2) problems.push(`descriptors: ${figures}`);
    // A leak shows as growth well past this; V8 keeps part of the heap it grew to
    // for a while after the mix (+33 to +46 MiB measured), which issue 13 is about.
    if (grew > 64) problems.push(`memory: ${figures}`);

    // SIGTERM: exit 0 within the grace.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.stop("SIGTERM"),
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), 15_000)),
    ]);
    clearTimeout(timer);
    if (status === null) problems.push("the server did not exit within 15 s of SIGTERM");
    else if (status.code !== 0) problems.push(`the server exited with ${status.code}`);

    // The files: current and rotated, whole records only, every confirmed one there.
    const confirmed = confirmedStreams(output);
    const counted = { records: 0, lines: 0, resends: 0, streams: 0, files: 0 };
    for (const file of ["a", "b", "t"] as const) {
      const texts = file === "t" ? [...tTexts] : [];
      for (const path of [...rotated[file], paths[file]]) {
        texts.push(await Deno.readTextFile(path).catch(() => ""));
      }
      counted.files += texts.length;
      const censuses = texts.map(checkRecords);
      for (const [k, census] of censuses.entries()) {
        if (census.torn.length > 0) {
          problems.push(
            `${file} (${k + 1} of ${texts.length}) torn: ${census.torn.join("; ")}`,
          );
        }
      }
      for (const w of writers.filter((w) => w.file === file)) {
        for (const kind of ["records", "lines"] as const) {
          const numbers = censuses.flatMap((c) => c[kind].get(w.client) ?? []);
          const check = checkClient(
            `writer ${w.client} ${kind}`,
            numbers,
            w.reconnect,
            confirmed.get(w.client) ?? new Map(),
          );
          problems.push(...check.problems);
          counted[kind] += check.found;
          counted.resends += check.resends;
          if (kind === "records") counted.streams += check.streams;
        }
      }
    }
    // What the hostile clients had acknowledged is there too, whole.
    for (const name of ["noread", "trickle", "cut"]) {
      const text = await Deno.readTextFile(`${dir}/${name}.log`).catch(() => "");
      const numbers: number[] = [];
      for (const line of text.split("\n").slice(0, -1)) {
        // noread lines: "noread <n> " and n % 37 n's; the others: "<name> <n>".
        const m = /^(\w+) (\d+)( n*)?$/.exec(line);
        if (m?.[1] !== name || (name === "noread") !== (m[3] !== undefined)) {
          problems.push(`${name}.log: ${JSON.stringify(line.slice(0, 80))}`);
          break;
        }
        numbers.push(Number(m[2]));
      }
      const found = new Set(numbers);
      const missing = (written[name] ?? []).filter((n) => !found.has(n));
      if (missing.length > 0 || !text.endsWith("\n") && text !== "") {
        problems.push(
          `${name}.log: acknowledged lines missing (${missing.length}) or torn`,
        );
      }
      if (name === "noread" && numbers.some((n, k) => n !== k)) {
        problems.push("noread.log: lines out of order");
      }
    }
    // The log: nothing forged, nothing that is not a log line.
    // (INFO lines go to stdout, WARNING and up to stderr, all to the log file.)
    const logFile = await Deno.readTextFile(`${dir}/server.log`).catch(() => "");
    const logs = {
      stdout: server.stdout(),
      stderr: server.stderr(),
      "log file": logFile,
    };
    for (const [what, text] of Object.entries(logs)) {
      const bad = badLogLines(text, MARKER);
      if (bad.length > 0) problems.push(`server ${what}: ${bad.slice(0, 5).join("\n")}`);
    }
    const rotatedSeen = (output.match(/^rotated /gm) ?? []).length;
    console.log(
      `soak: ${((performance.now() - started) / 1000).toFixed(0)} s in all; ` +
        `${counted.records} records and ${counted.lines} lines from 6 writers checked in ` +
        `${counted.files} files (${rotations} rotations, ${hangups} SIGHUPs, ` +
        `${rotatedSeen} ROTATED), ${counted.streams} streams, ${counted.resends} resends; ` +
        (mounted ? `tmpfs filled with ${filled} bytes; ` : "") +
        `hostile attempts: ${report}`,
    );
    assert.ok(
      problems.length === 0,
      `${problems.length} problems:\n${problems.join("\n")}`,
    );
  } finally {
    for (const child of children) {
      try {
        child.process.kill("SIGKILL");
      } catch {
        // exited already
      }
      await child.exited();
    }
    await server?.[Symbol.asyncDispose]();
    if (mounted) await unmount(mnt);
    await Deno.remove(dir, { recursive: true });
  }
});
