// Where each record of a run of encoded records ends, for the batch that carries them:
// the queue notes the ends as it encodes, and the socket transport sends them (offlog/2)
// so that the server can cut a batch between two records.

/** Record end offsets in one buffer, ascending, appended as records are encoded. */
export class Ends {
  /** The offsets: `list[0..count)`. */
  list: Uint32Array = new Uint32Array(1024);
  count = 0;

  /** Notes where the next record ends. */
  push(end: number): void {
    if (this.count === this.list.length) {
      const list = new Uint32Array(this.list.length * 2);
      list.set(this.list);
      this.list = list;
    }
    this.list[this.count++] = end;
  }

  /**
   * Notes the ends of strings that were encoded joined, from `offset`, into `written`
   * bytes, each counted as it would be encoded alone.
   *
   * @param strings The strings, in order; `units` is their total length.
   * @returns Where the last ends, or `-1` (nothing noted) when the joined encoding
   * differs from the strings' own: half a surrogate pair at the end of one met the
   * other half at the start of the next. Then encode them one by one.
   */
  pushStrings(strings: string[], units: number, offset: number, written: number): number {
    let end = offset;
    if (written === units) {
      // Only ASCII: each string is as many bytes as it is long.
      for (const text of strings) this.push(end += text.length);
      return end;
    }
    for (const text of strings) this.push(end += utf8Length(text));
    if (end - offset === written) return end;
    this.count -= strings.length;
    return -1;
  }
}

/**
 * The UTF-8 length of a string as `TextEncoder` encodes it (a lone surrogate becomes
 * U+FFFD, 3 bytes), counted without encoding.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
