// Test helper: what is in a directory of rotated files, and gzip both ways.

/** The names in `dir`, sorted. */
export async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

/** The bytes of a gzip file, decompressed. */
export async function gunzip(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const stream = file.readable.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `text`, gzipped. */
export async function gzipText(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** One file of a rotated set, its text decompressed. */
export interface RotatedText {
  /** Its name in the directory. */
  name: string;
  /** Its text (decompressed when it is a `.gz`). */
  text: string;
  /** Its size in bytes, uncompressed. */
  bytes: number;
}

/**
 * Waits until the server's compressor is done with `path` (no `PATH.N` left beside
 * `.gz` ones when `compressed`, no temporary file) and nothing is renamed any more,
 * then reads the rotated files oldest first and the live one last.
 */
export async function rotatedSet(
  path: string,
  compressed: boolean,
  timeoutMs = 30_000,
): Promise<RotatedText[]> {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash);
  const base = path.slice(slash + 1);
  const pattern = new RegExp(`^${base.replaceAll(".", "\\.")}\\.(\\d+)(\\.gz)?$`);
  const deadline = Date.now() + timeoutMs;
  // The server may still rename after the last acknowledgement (a rotation after the
  // last write): the set is read once two listings, 50 ms apart, agree.
  let previous = "";
  for (;;) {
    const all = await names(dir);
    const busy = all.includes(`.${base}.gz.tmp`) ||
      (compressed && all.some((name) =>
        pattern.exec(name)?.[2] === undefined &&
        pattern.test(name)
      ));
    const listing = busy ? "" : all.join(",");
    if (!busy && listing === previous) {
      const rotated = all.flatMap((name) => {
        const match = pattern.exec(name);
        return match === null ? [] : [{ name, index: Number(match[1]), gz: !!match[2] }];
      }).sort((a, b) => b.index - a.index);
      const set: RotatedText[] = [];
      for (const { name, gz } of rotated) {
        const bytes = gz
          ? await gunzip(`${dir}/${name}`)
          : await Deno.readFile(`${dir}/${name}`);
        set.push({ name, text: new TextDecoder().decode(bytes), bytes: bytes.length });
      }
      if (all.includes(base)) {
        const bytes = await Deno.readFile(path);
        set.push({
          name: base,
          text: new TextDecoder().decode(bytes),
          bytes: bytes.length,
        });
      }
      return set;
    }
    previous = listing;
    if (Date.now() > deadline) {
      throw new Error(`Compression of ${path} not done: ${all.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Checks that the numbers are `from, from + 1, ...` with no gap or repeat. */
export function unbroken(numbers: readonly number[], what: string): void {
  for (let k = 1; k < numbers.length; k++) {
    if (numbers[k] !== numbers[k - 1]! + 1) {
      throw new Error(
        `${what}: ${numbers[k]} follows ${numbers[k - 1]} (at ${k} of ${numbers.length})`,
      );
    }
  }
}
