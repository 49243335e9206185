// The lines every benchmark writes, and the check that they arrived whole.

/** Bytes per line, newline included. */
export const LINE_BYTES = 100;
/** Distinct lines per writer: it writes them in turn. */
export const BATCH = 1000;

const FILLER = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3);

/** Line `index` of writer `client`: 100 ASCII bytes, ending in a newline. */
export function makeLine(client: number, index: number): string {
  const head = `offlog bench c${String(client).padStart(3, "0")} l${
    String(index).padStart(6, "0")
  } `;
  return head + FILLER.slice(0, LINE_BYTES - 1 - head.length) + "\n";
}

/** Characters of a line before its filler: "offlog bench c000 l000000 ". */
const HEAD_CHARS = 26;
const TAIL = FILLER.slice(0, LINE_BYTES - 1 - HEAD_CHARS);

/**
 * Line `index` of the writer whose three-digit tag is `tag`, built as a service builds
 * its lines: one template literal around a counter. The same text as
 * `makeLine(client, index % 1_000_000)`, so {@linkcode checkWhole} checks it.
 */
export function buildLine(tag: string, index: number): string {
  return `offlog bench c${tag} l${String(index % 1_000_000).padStart(6, "0")} ${TAIL}\n`;
}

/** Lines a built writer writes between two yields to the event loop. */
export const YIELD_EVERY = 4096;

/**
 * A turn of the event loop that lets socket writes complete, as a service's await of
 * some I/O between requests does: an awaited `stat` (~35 µs). Measured on Deno 2.9.6
 * (1M lines, 244 yields): after `setImmediate` or a `MessageChannel` message, pending
 * socket writes completed only 3-71 times in all (the queue then holds most of the
 * lines until the end), after `setTimeout(0)` they complete, but each yield waits ~2
 * ms; after an awaited `stat` they completed 350-410 times.
 */
async function yieldToLoop(): Promise<void> {
  await Deno.stat("/");
}

/**
 * The loop of every "built lines" writer, offlog's and the bare ceiling's alike:
 * builds lines `from` to `from + count - 1` of writer `client` with
 * {@linkcode buildLine}, hands each to `write`, and yields to the event loop every
 * {@linkcode YIELD_EVERY} lines.
 */
export async function writeBuilt(
  write: (line: string) => void,
  client: number,
  count: number,
  from = 0,
): Promise<void> {
  const tag = String(client).padStart(3, "0");
  for (let i = 0; i < count; i++) {
    write(buildLine(tag, from + i));
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
}

/** The lines a writer writes, in turn, `lines` in all. */
export function linePool(client: number): string[] {
  return Array.from({ length: BATCH }, (_, i) => makeLine(client, i));
}

/** What {@linkcode checkWhole} found. */
export interface WholeReport {
  /** Lines in the file. */
  lines: number;
  /** Lines that are not one of the expected lines: torn or interleaved records. */
  broken: number;
  /** Lines found per writer. */
  perClient: Map<number, number>;
}

const LINE = /^offlog bench c(\d{3}) l(\d{6}) [a-z0-9]*$/;

/**
 * Reads a file written by bench writers and checks that every line is one of
 * theirs, whole (right length and content), without holding the file in memory.
 */
export async function checkWhole(path: string): Promise<WholeReport> {
  const report: WholeReport = { lines: 0, broken: 0, perClient: new Map() };
  using file = await Deno.open(path);
  const decoder = new TextDecoder();
  let rest = "";
  const buffer = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    const text = rest + decoder.decode(buffer.subarray(0, n), { stream: true });
    const lines = text.split("\n");
    rest = lines.pop()!;
    for (const line of lines) check(line, report);
  }
  if (rest.length > 0) {
    report.lines++;
    report.broken++; // an unterminated last line
  }
  return report;
}

function check(line: string, report: WholeReport): void {
  report.lines++;
  const match = LINE.exec(line);
  if (
    match === null || line.length !== LINE_BYTES - 1 ||
    line !== makeLine(Number(match[1]), Number(match[2])).slice(0, -1)
  ) {
    report.broken++;
    return;
  }
  const client = Number(match[1]);
  report.perClient.set(client, (report.perClient.get(client) ?? 0) + 1);
}
