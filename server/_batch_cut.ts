// Cutting one file write (a batch of whole units) in two where a rotation falls: the
// units before go to the file being rotated, the rest to the new one. Units of a
// client whose write failed meanwhile are taken out of the rest.

/** A unit of a batch: its size, and whose it is. */
export interface CutEntry {
  /** Its owner; once `failed`, none of its later units are written. */
  readonly owner: { readonly failed: boolean };
  /** Its size in bytes. */
  readonly bytes: number;
}

/** Whole units and their bytes, one after another. */
export interface CutBatch<E extends CutEntry> {
  /** The units' bytes. */
  readonly data: Uint8Array;
  /** The units, in order. */
  readonly entries: readonly E[];
}

/**
 * Cuts `batch` after its first `count` units.
 *
 * @param batch The batch.
 * @param count Units in the first part.
 * @returns The two parts; they share the batch's bytes.
 */
export function cutBatch<E extends CutEntry>(
  batch: CutBatch<E>,
  count: number,
): [CutBatch<E>, CutBatch<E>] {
  let bytes = 0;
  for (let k = 0; k < count; k++) bytes += batch.entries[k]!.bytes;
  return [
    { data: batch.data.subarray(0, bytes), entries: batch.entries.slice(0, count) },
    { data: batch.data.subarray(bytes), entries: batch.entries.slice(count) },
  ];
}

/**
 * The batch without the units of owners that failed, their bytes moved together
 * within the batch's own bytes (which it may change).
 *
 * @param batch The batch.
 * @returns The batch itself when no owner failed, else the kept units.
 */
export function withoutFailed<E extends CutEntry>(batch: CutBatch<E>): CutBatch<E> {
  if (!batch.entries.some((entry) => entry.owner.failed)) return batch;
  const kept: E[] = [];
  let from = 0;
  let to = 0;
  for (const entry of batch.entries) {
    if (!entry.owner.failed) {
      batch.data.copyWithin(to, from, from + entry.bytes);
      to += entry.bytes;
      kept.push(entry);
    }
    from += entry.bytes;
  }
  return { data: batch.data.subarray(0, to), entries: kept };
}

/**
 * Splits the unit at `index` after the line that holds its byte `atLeast - 1`, when
 * that line is not its last: a 0.x client's unit is whole lines, each a record, so the
 * file can rotate between two of them rather than after the whole unit.
 *
 * @param batch The batch.
 * @param index The unit to split.
 * @param atLeast Bytes of the unit that must stay before the cut (at least 1).
 * @returns The batch with that unit in two, or itself when the line is the unit's last.
 */
export function splitAfterLine<E extends CutEntry>(
  batch: CutBatch<E>,
  index: number,
  atLeast: number,
): CutBatch<E> {
  const entry = batch.entries[index]!;
  let start = 0;
  for (let k = 0; k < index; k++) start += batch.entries[k]!.bytes;
  const end = start + entry.bytes;
  const newline = batch.data.indexOf(0x0a, start + Math.max(1, atLeast) - 1);
  if (newline === -1 || newline >= end - 1) return batch;
  const first = newline + 1 - start;
  const entries = [...batch.entries];
  entries.splice(index, 1, { ...entry, bytes: first }, {
    ...entry,
    bytes: entry.bytes - first,
  });
  return { data: batch.data, entries };
}
