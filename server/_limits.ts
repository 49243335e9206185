// Defaults of the server's limits, and a log that says a repeated warning once a
// second rather than at every occurrence.

/** The default of `--opening-timeout`, ms. */
export const DEFAULT_OPENING_TIMEOUT_MS = 10_000;

/** `--max-clients` when the open-file limit is high or cannot be read. */
const MAX_CLIENTS_CAP = 4096;

/**
 * The default of `--max-clients`: 4096, or half the open-file limit Deno runs with
 * (it raises the soft limit to the hard one) when that is lower, leaving descriptors
 * for the files. The limit is read from /proc only when reading it is already allowed.
 */
export async function defaultMaxClients(): Promise<number> {
  const path = "/proc/self/limits";
  try {
    const { state } = await Deno.permissions.query({ name: "read", path });
    if (state !== "granted") return MAX_CLIENTS_CAP;
    const line = (await Deno.readTextFile(path)).split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const soft = Number(line?.split(/\s+/)[3]);
    if (!Number.isFinite(soft) || soft <= 0) return MAX_CLIENTS_CAP;
    return Math.max(1, Math.min(MAX_CLIENTS_CAP, Math.floor(soft / 2)));
  } catch {
    return MAX_CLIENTS_CAP;
  }
}

/** Says a warning at most once a second, then how many more there were. */
export class RateLimitedLog {
  #say: (message: string) => void;
  #last = -Infinity;
  #suppressed = 0;
  #lastText = "";

  constructor(say: (message: string) => void) {
    this.#say = say;
  }

  say(message: string): void {
    const now = Date.now();
    if (now - this.#last < 1000) {
      this.#suppressed++;
      this.#lastText = message;
      return;
    }
    this.flush();
    this.#last = now;
    this.#say(message);
  }

  /** Says how many were held back, if any. */
  flush(): void {
    if (this.#suppressed === 0) return;
    this.#say(
      `(${this.#suppressed} more like it in the last second; last: ${this.#lastText})`,
    );
    this.#suppressed = 0;
  }
}
