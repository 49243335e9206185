// The transport of a LocalFile: appends each batch to a file this process opened, and
// confirms it once written.

import { writeAll } from "../../common/write_all.ts";
import { HEADER_ROOM, type Taken } from "../writer/queue.ts";
import type { Transport, TransportEvents } from "../writer/transport.ts";

/** Appends a writer's batches to an open file. */
export class FileTransport implements Transport {
  /** Payload bytes per file write at most: large writes, few syscalls. */
  readonly batchBytes: number = 4 * 1024 * 1024;
  readonly #file: Deno.FsFile;
  readonly #events: TransportEvents;

  constructor(file: Deno.FsFile, events: TransportEvents) {
    this.#file = file;
    this.#events = events;
  }

  async send({ bytes }: Taken): Promise<void> {
    await writeAll(this.#file, bytes.subarray(HEADER_ROOM));
    this.#events.confirmed(bytes.length - HEADER_ROOM);
  }

  sync(): Promise<void> {
    return this.#file.syncData();
  }

  /** Closes the file (there is nothing to finish: what was written is in it). */
  close(): Promise<void> {
    try {
      this.#file.close();
    } catch {
      // closed already
    }
    return Promise.resolve();
  }
}
