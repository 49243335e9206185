// The paired rows of bench/e2e.ts, each a reference and offlog in turn (bench/_pairs.ts):
// the "built lines" ceiling, the server with stats reporting and as deployed against
// the plain server, pipe.ts against `cat`, the Python offlog 0.x clients.

import { type PairRow, runPair } from "./_pairs.ts";
import { pipeSkipReason, runCat, runPipe, writeInput } from "./_pipe_row.ts";
import { PY_GIT_ENV, pythonPairs, pythonSkipReason } from "./_py.ts";
import { runBare, runProxy, startRelay } from "./_runs.ts";
import { startServer } from "./_children.ts";
import { DEPLOYED } from "./_memory.ts";

/** Runs the paired rows that `wanted` accepts, against the server at `socketPath`. */
export async function pairedRows(
  dir: string,
  options: {
    lines: number;
    repeat: number;
    socketPath: string;
    serverPid: number;
    wanted: (name: string) => boolean;
    log: (text: string) => void;
  },
): Promise<{ pairs: PairRow[]; notes: string[] }> {
  const { lines, repeat, socketPath, wanted, log } = options;
  const pairs: PairRow[] = [];
  const notes: string[] = [];
  const ceilingRows = [
    { clients: 1, join: false, name: "1 writer, built lines" },
    { clients: 16, join: false, name: "16 writer processes, one file, built lines" },
    {
      clients: 1,
      join: true,
      name: "1 writer, built lines, sender queues strings and joins them",
    },
  ].filter((c) => wanted(`ceiling: ${c.name}`));
  if (ceilingRows.length > 0) {
    const relaySocket = `${dir}/relay.sock`;
    const relay = await startRelay(relaySocket);
    try {
      for (const { clients, join, name } of ceilingRows) {
        pairs.push(
          await runPair(
            {
              name: `ceiling: ${name}`,
              lines,
              reference: join ? "bare relay, joined" : "bare relay",
            },
            repeat,
            {
              reference: () =>
                runBare(dir, relaySocket, {
                  clients,
                  lines,
                  relayPid: relay.process.pid,
                  join,
                }),
              offlog: () =>
                runProxy(dir, socketPath, {
                  mode: "built",
                  clients,
                  lines,
                  separate: false,
                  serverPid: options.serverPid,
                }),
            },
            log,
          ),
        );
      }
    } finally {
      await relay.finish("SIGTERM");
    }
  }
  // The same writers through a second server run another way, against the plain one:
  // its stats reported every second, and as deployed (the memory row's settings).
  const variants = [
    {
      name: "server: 1 writer, built lines, stats reported every second",
      reference: "plain server",
      clients: 1,
      args: (d: string) => [
        "--stats-interval",
        "1",
        "--metrics-file",
        `${d}/metrics.prom`,
        "--metrics-interval",
        "1",
      ],
      flags: [] as string[],
      env: {} as Record<string, string>,
    },
    ...[1, 16].map((clients) => ({
      name: `server: ${
        clients === 1 ? "1 writer" : "16 writer processes, one file"
      }, built lines, as deployed`,
      reference: "server with defaults",
      clients,
      args: () => [] as string[],
      flags: DEPLOYED.flags,
      env: DEPLOYED.env as Record<string, string>,
    })),
  ].filter((v) => wanted(v.name));
  for (const variant of variants) {
    const variantSocket = `${dir}/variant.sock`;
    const server = await startServer(
      variantSocket,
      variant.flags,
      variant.env,
      variant.args(dir),
    );
    try {
      const run = (socket: string, pid: number) => () =>
        runProxy(dir, socket, {
          mode: "built",
          clients: variant.clients,
          lines,
          separate: false,
          serverPid: pid,
        });
      pairs.push(
        await runPair(
          { name: variant.name, lines, reference: variant.reference },
          repeat,
          {
            reference: run(socketPath, options.serverPid),
            offlog: run(variantSocket, server.process.pid),
          },
          log,
        ),
      );
    } finally {
      await server.finish("SIGTERM");
    }
  }
  const pipeName = "pipe.ts: lines on stdin, one record each";
  if (wanted(pipeName)) {
    const skip = await pipeSkipReason();
    if (skip !== null) {
      notes.push(`${pipeName}: skipped, ${skip}`);
    } else {
      const input = `${dir}/pipe_input.txt`;
      await writeInput(input, lines);
      const pipe = { lines, socketPath, serverPid: options.serverPid };
      await runPipe(dir, input, pipe); // untimed: Deno's cache, the server's code
      pairs.push(
        await runPair(
          { name: pipeName, lines, reference: "`cat` into `cat >>`" },
          repeat,
          {
            reference: () => runCat(dir, input, lines),
            offlog: () => runPipe(dir, input, pipe),
          },
          log,
        ),
      );
      await Deno.remove(input);
    }
  }
  if (wanted("0.x client")) {
    const skip = await pythonSkipReason();
    if (skip !== null) {
      notes.push(`0.x client rows: skipped, ${skip} (set ${PY_GIT_ENV})`);
    } else {
      pairs.push(
        ...await pythonPairs(dir, {
          lines: Math.max(1, Math.floor(lines / 5)),
          repeat,
          socketPath,
          serverPid: options.serverPid,
          log,
        }),
      );
    }
  }
  return { pairs, notes };
}
