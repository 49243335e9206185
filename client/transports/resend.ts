// The frames a reconnecting socket transport keeps until the server acknowledges them,
// and sends again, in order, on the next connection.

/** A frame's payload, kept. */
export interface KeptFrame {
  /** Payload position at its end. */
  end: number;
  payload: Uint8Array;
  /** Its record-ends frame (offlog/2), or `null`. */
  ends: Uint8Array | null;
}

/** Frames not acknowledged yet. */
export class ResendLog {
  #frames: KeptFrame[] = [];
  #size = 0;

  /** Keeps a copy of a frame's payload until an acknowledgement covers `end`. */
  keep(end: number, payload: Uint8Array, ends: Uint8Array | null = null): void {
    this.#frames.push({ end, payload, ends });
    this.#size += payload.length;
  }

  /** The server acknowledged up to payload position `total`: drop those copies. */
  acked(total: number): void {
    let done = 0;
    while (done < this.#frames.length && this.#frames[done]!.end <= total) {
      this.#size -= this.#frames[done]!.payload.length;
      done++;
    }
    if (done > 0) this.#frames.splice(0, done);
  }

  /** The frames to send again on a new connection, oldest first. */
  get frames(): readonly KeptFrame[] {
    return this.#frames;
  }

  /** Their payload bytes. */
  get size(): number {
    return this.#size;
  }
}
