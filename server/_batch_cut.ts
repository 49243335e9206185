// Cutting one file write (a batch of whole units) in two where a rotation falls: the
// units before go to the file being rotated, the rest to the new one. Units of a
// client whose write failed meanwhile are taken out of the rest.

import { cutAfterRecord } from "../protocol/mod.ts";

/** A unit of a batch: its size, and whose it is. */
export interface CutEntry {
  /** Its owner; once `failed`, none of its later units are written. */
  readonly owner: { readonly failed: boolean };
  /** Its size in bytes. */
  readonly bytes: number;
}

/** What tells where a unit may be cut between two records. */
export interface SplitEntry {
  /** Its owner; a 0.x owner's units are lines. */
  readonly owner: { readonly failed: boolean; readonly lines?: boolean };
  /** Its record ends (offlog/2). */
  readonly ends?: Uint8Array;
  /** Bytes held for it besides its own: the first part of a split keeps them. */
  readonly extra?: number;
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
 * Splits the unit at `index` after the record that holds its byte `atLeast - 1`, when
 * that record is not its last, so that the file can rotate between two records rather
 * than after the whole unit: an offlog/2 unit by its record ends, a 0.x client's unit
 * (whole lines, each a record) after a newline. A unit without either is one record.
 *
 * @param batch The batch.
 * @param index The unit to split.
 * @param atLeast Bytes of the unit that must stay before the cut (at least 1).
 * @returns The batch with that unit in two, or itself when it cannot be cut there.
 */
export function splitAfterRecord<E extends CutEntry & SplitEntry>(
  batch: CutBatch<E>,
  index: number,
  atLeast: number,
): CutBatch<E> {
  const entry = batch.entries[index]!;
  let start = 0;
  for (let k = 0; k < index; k++) start += batch.entries[k]!.bytes;
  let first: E;
  let second: E;
  if (entry.ends !== undefined) {
    const cut = cutAfterRecord(entry.ends, entry.bytes, atLeast);
    if (cut === null) return batch;
    // The record ends stay counted with the first part until it is written.
    first = { ...entry, bytes: cut.bytes, ends: entry.ends.subarray(0, cut.headEnds) };
    second = {
      ...entry,
      bytes: entry.bytes - cut.bytes,
      ends: entry.ends.subarray(cut.tailEnds),
      extra: 0,
    };
  } else if (entry.owner.lines) {
    const end = start + entry.bytes;
    const newline = batch.data.indexOf(0x0a, start + Math.max(1, atLeast) - 1);
    if (newline === -1 || newline >= end - 1) return batch;
    const bytes = newline + 1 - start;
    first = { ...entry, bytes };
    second = { ...entry, bytes: entry.bytes - bytes };
  } else return batch;
  const entries = [...batch.entries];
  entries.splice(index, 1, first, second);
  return { data: batch.data, entries };
}
