// rsyslog as the shipper beyond one host: one rsyslogd tails a file that offlog writes
// (imfile, with deploy/rsyslog.conf's input and action) and forwards over TCP; another
// receives (imtcp) and writes a central file. Every record written through offlog,
// multi-line ones included, arrives whole.
//
// Both run in the foreground, each with its own configuration, work directory and pid
// file in a temporary directory, and no imuxsock or imklog: the system log is left
// alone. Newlines are kept as they are end to end: imfile's escapeLF="off",
// octet-counted TCP framing, and the receiver's
// parser.escapeControlCharactersOnReceive="off" (its default would write "#012").

import assert from "node:assert/strict";
import { Logger } from "../mod.ts";
import { startServer, tempDir, waitUntil } from "./_server.ts";
import { collectOutput, type Output } from "./_output.ts";
import { findTool, ignoreWithout, requireTool } from "./_tools.ts";

const RSYSLOGD = findTool("rsyslogd");
const ignore = ignoreWithout(RSYSLOGD, "rsyslog", "rsyslog_test.ts");
const DEPLOYED = new URL("../deploy/rsyslog.conf", import.meta.url);

/** An rsyslogd in the foreground. */
interface Rsyslogd extends AsyncDisposable {
  process: Deno.ChildProcess;
  output: Output;
}

/** Starts `rsyslogd -n` on `config`, with its pid file beside it. */
function rsyslogd(binary: string, config: string): Rsyslogd {
  const process = new Deno.Command(binary, {
    args: ["-n", "-f", config, "-i", `${config}.pid`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = collectOutput(process);
  return {
    process,
    output,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGTERM");
      } catch {
        // exited already
      }
      const timer = setTimeout(() => process.kill("SIGKILL"), 10_000);
      await process.status;
      clearTimeout(timer);
      await output.done;
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** True once something accepts TCP connections on `port`. */
async function accepting(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** The records of a file that Logger wrote, sorted: each starts "[YYYY-". */
function records(text: string): string[] {
  return text.split(/(?=^\[[0-9]{4}-)/m).sort();
}

async function readOr(path: string, otherwise: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return otherwise;
    throw error;
  }
}

Deno.test({
  name:
    "rsyslog: imfile to omfwd to imtcp carries every Logger record whole, stack traces included",
  ignore,
  async fn() {
    const binary = requireTool(RSYSLOGD, "rsyslogd");
    await using dir = await tempDir("offlog_rsyslog_");
    await using server = await startServer();
    const port = freePort();
    const central = `${dir.path}/central.log`;
    for (const work of ["receiver", "shipper", "app"]) {
      await Deno.mkdir(`${dir.path}/${work}`);
    }

    await Deno.writeTextFile(
      `${dir.path}/receiver.conf`,
      `global(workDirectory="${dir.path}/receiver" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off")
module(load="imtcp")
template(name="message" type="string" string="%msg%\\n")
ruleset(name="central") {
  action(type="omfile" file="${central}" template="message")
}
input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="central")
`,
    );
    // The deployed input and action, pointed at this test's files and receiver.
    const deployed = await Deno.readTextFile(DEPLOYED);
    const shipper = deployed
      .replace("/var/log/app/*.log", `${dir.path}/app/*.log`)
      .replace(`target="logs.example.internal"`, `target="127.0.0.1"`)
      .replace(`port="6514"`, `port="${port}"`);
    assert.notEqual(shipper, deployed);
    assert.match(deployed, /startmsg\.regex="\^\\\\\[\[0-9\]\{4\}-"/);
    await Deno.writeTextFile(
      `${dir.path}/shipper.conf`,
      `global(workDirectory="${dir.path}/shipper" maxMessageSize="64k")\n${shipper}`,
    );

    await using receiver = rsyslogd(binary, `${dir.path}/receiver.conf`);
    await waitUntil(() => accepting(port), "the receiver listens", 15_000);

    const path = `${dir.path}/app/app.log`;
    await using logger = await Logger.open("shipped", path, {
      socketPath: server.socketPath,
      stdoutLevel: null,
      stderrLevel: null,
    });
    const RECORDS = 1000;
    const write = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        if (i % 10 === 0) {
          const cause = new TypeError(`cause ${i}`);
          logger.exception("record %d failed", i, new Error(`error ${i}`, { cause }));
        } else {
          logger.info("record %d\twith a tab", i);
        }
      }
    };
    // Half the records before the shipper starts (imfile reads a new file from its
    // start), the rest once the first have arrived, while it tails the file.
    write(0, RECORDS / 2);
    await logger.flush();
    await using shipping = rsyslogd(binary, `${dir.path}/shipper.conf`);
    await waitUntil(
      async () => (await readOr(central, "")).length > 0,
      "the first records arrive",
      15_000,
    );
    write(RECORDS / 2, RECORDS);
    // imfile holds the newest message until the next one starts, or until its
    // readTimeout passes, which it checks on its own schedule (seconds late on a
    // loaded machine): a last record ends the test's, and may stay behind.
    logger.info("the end");
    await logger.close();

    const written = records(await Deno.readTextFile(path));
    assert.equal(written.length, RECORDS + 1, "one start line per record");
    assert.ok(
      written.some((record) =>
        /\n {4}at .*\nCaused by: TypeError: cause 990\n/.test(record)
      ),
    );
    const expected = written.filter((record) => !record.endsWith("] the end\n"));
    let arrived: string[] = [];
    await waitUntil(
      async () => {
        arrived = records(await readOr(central, "")).filter((record) =>
          !record.endsWith("] the end\n")
        );
        return arrived.length >= RECORDS;
      },
      `every record reaches ${central}`,
      20_000,
    ).catch((error) => {
      throw new Error(
        `${error.message}: ${arrived.length} of ${RECORDS}\nreceiver: ${receiver.output.stderr()}\nshipper: ${shipping.output.stderr()}`,
      );
    });
    // rsyslog's queues may reorder batches of messages; each record is whole, once.
    assert.deepEqual(arrived, expected);
  },
});

Deno.test({
  name: "rsyslog: deploy/rsyslog.conf passes rsyslogd's config check",
  ignore,
  async fn() {
    const binary = requireTool(RSYSLOGD, "rsyslogd");
    await using dir = await tempDir("offlog_rsyslog_");
    const config = `${dir.path}/rsyslog.conf`;
    // Debian's rsyslog.conf sets the work directory that the drop-in relies on.
    await Deno.writeTextFile(
      config,
      `global(workDirectory="${dir.path}")\n${await Deno.readTextFile(DEPLOYED)}`,
    );
    const result = await new Deno.Command(binary, {
      args: ["-N1", "-f", config, "-i", `${dir.path}/pid`],
      stdin: "null",
    }).output();
    const output = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, output);
    assert.doesNotMatch(output, /error|warning/i);
  },
});
