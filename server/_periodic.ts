// The server's periodic jobs: a stats line in its own log (--stats-interval), the
// metrics file for node_exporter (--metrics-file, --metrics-interval), and syncing
// files that changed (--sync-interval).

import type { FileTable } from "./file_table.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { prometheusText, statsLine, type StatsSnapshot } from "./stats.ts";
import { logText } from "./_log_text.ts";

/** What the periodic jobs do, and how often; an interval of 0 turns a job off. */
export interface PeriodicOptions {
  /** The figures now. */
  snapshot: () => StatsSnapshot;
  files: FileTable;
  /** The server's buffer pool, emptied once idle. */
  pool?: BufferPool;
  log: (message: string, warning?: boolean) => void;
  /** Seconds between stats lines in the log. */
  statsInterval: number;
  /** Where to write the metrics, or `null`. */
  metricsFile: string | null;
  /** Seconds between metrics writes. */
  metricsInterval: number;
  /** Milliseconds between syncs of files that changed. */
  syncInterval: number;
  /** Collects garbage at once, after a burst. */
  collectGarbage?: (() => void) | undefined;
}

/** The running jobs. */
export interface Periodic {
  /** Stops the timers and writes the metrics file a last time. */
  stop(): Promise<void>;
}

/**
 * Starts the jobs; the metrics file is written once at once.
 *
 * @param options What to do and how often.
 * @returns The jobs, to stop at shutdown.
 */
export async function startPeriodic(options: PeriodicOptions): Promise<Periodic> {
  const timers: ReturnType<typeof setInterval>[] = [];
  const every = (ms: number, job: () => void) => {
    if (ms > 0) timers.push(setInterval(job, ms));
  };
  every(options.statsInterval * 1000, () => options.log(statsLine(options.snapshot())));
  let failed = "";
  let writing: Promise<void> = Promise.resolve();
  const writeMetrics = () => {
    const path = options.metricsFile;
    if (path === null) return writing;
    writing = writing.then(async () => {
      try {
        await writeAtomically(path, prometheusText(options.snapshot()));
        failed = "";
      } catch (error) {
        // Said once per distinct error, not at every interval.
        if (String(error) !== failed) {
          failed = String(error);
          options.log(`Cannot write the metrics file ${logText(path)}: ${error}`, true);
        }
      }
    });
    return writing;
  };
  if (options.metricsFile !== null) {
    await writeMetrics();
    every(options.metricsInterval * 1000, () => void writeMetrics());
  }
  every(options.syncInterval, () => {
    for (const file of options.files.open) {
      if (!file.dirty || file.closed) continue;
      file.sync().catch((error) => {
        options.log(`Cannot sync ${logText(file.path)}: ${error}`, true);
      });
    }
  });
  // After a burst, once no byte has moved for two seconds: empty the buffer pool and
  // collect at once (see _collect_garbage.ts), so that the memory of the burst goes
  // back to the system instead of waiting for the next one.
  const gc = options.collectGarbage ?? (globalThis as { gc?: () => void }).gc;
  let moved = options.files.bytesWritten;
  let quiet = 0;
  let burst = false;
  let heap = heapTotal();
  every(IDLE_TICK_MS, () => {
    const now = options.files.bytesWritten;
    if (now !== moved) {
      moved = now;
      quiet = 0;
      burst = true;
      return;
    }
    if (++quiet < QUIET_TICKS || gc === undefined) {
      if (burst && quiet >= QUIET_TICKS) options.pool?.shrink();
      burst &&= quiet < QUIET_TICKS;
      return;
    }
    // Records trickled in a byte at a time write nothing for as long as they take, yet
    // every read leaves garbage that V8 lets its heap grow for (tens of MB over a
    // trickle of a few MB) and does not collect while nothing else allocates: a
    // collection whenever the heap has grown by HEAP_SLACK while no byte was written.
    const grown = heapTotal() > heap + HEAP_SLACK;
    if (!burst && !grown) return;
    if (burst) options.pool?.shrink();
    burst = false;
    gc();
    heap = heapTotal();
  });
  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await writeMetrics();
    },
  };
}

/** Bytes V8's heap may grow by, while no byte is written, before it is collected. */
const HEAP_SLACK = 2 * 1024 * 1024;

/** How often the idle checks run, ms. */
const IDLE_TICK_MS = 500;

/** Checks without a byte written after which the server counts as idle (2 s). */
const QUIET_TICKS = 4;

/** The size of V8's heap. */
function heapTotal(): number {
  return Deno.memoryUsage().heapTotal;
}

/** Writes `text` to `path` through a temporary file and a rename: never half a file. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, text);
  await Deno.rename(temporary, path);
}
