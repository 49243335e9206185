// The frames a reconnecting ProxyFile keeps until the server acknowledges them, and
// sends again, in order, on the next connection.

import type { OutBatch } from "./_pump.ts";

interface Sent {
  /** Payload position at its end. */
  end: number;
  payload: Uint8Array;
  records: number;
}

/** Unacknowledged frames, and those to send again after a reconnect. */
export class ResendLog {
  #unacked: Sent[] = [];
  #resend: Sent[] = [];

  /** Keeps a copy of a frame's payload until it is acknowledged. */
  keep(end: number, payload: Uint8Array, records: number): void {
    this.#unacked.push({ end, payload, records });
  }

  /** The server acknowledged up to payload position `total`: drop those copies. */
  acked(total: number): void {
    let done = 0;
    while (done < this.#unacked.length && this.#unacked[done]!.end <= total) done++;
    if (done > 0) this.#unacked.splice(0, done);
  }

  /** A new connection: everything not acknowledged is to be sent again. */
  restart(): void {
    this.#resend = [...this.#unacked];
  }

  /** The next frame to send again, with `headerBytes` of space before it, if any. */
  next(headerBytes: number): OutBatch | null {
    const again = this.#resend.shift();
    if (again === undefined) return null;
    const bytes = new Uint8Array(headerBytes + again.payload.length);
    bytes.set(again.payload, headerBytes);
    return { bytes, records: again.records, end: again.end };
  }

  /** Records waiting to be sent again. */
  get records(): number {
    let records = 0;
    for (const frame of this.#resend) records += frame.records;
    return records;
  }

  /** Their payload bytes. */
  get size(): number {
    let size = 0;
    for (const frame of this.#resend) size += frame.payload.length;
    return size;
  }
}
