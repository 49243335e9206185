// The writers that are open in this process, for flushAll() and exit safety.

/** Something with queued data that can be flushed and closed. */
export interface Flushable {
  readonly path: string;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly pendingRecords: number;
  readonly pendingSize: number;
}

const open = new Set<Flushable>();

/** Adds an open writer. */
export function register(file: Flushable): void {
  open.add(file);
}

/** Removes a writer that is closing. */
export function unregister(file: Flushable): void {
  open.delete(file);
}

/** The writers open now. */
export function openFiles(): Flushable[] {
  return [...open];
}
