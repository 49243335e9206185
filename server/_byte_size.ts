// Byte counts on the command line: a whole number, optionally with K, M or G (KiB,
// MiB, GiB), as --max-buffered-bytes and --rotate-size take them.

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Parses a byte count such as `256M`, `4K` or `1048576` (`KiB`, `MB` and lower case
 * are taken too: every unit is a power of 1024).
 *
 * @param flag The flag, for the message, e.g. `--rotate-size`.
 * @param text The value.
 * @param min The smallest count allowed, in bytes.
 * @returns The bytes.
 * @throws {RangeError} It is not such a count, or it is below `min`.
 */
export function parseByteSize(flag: string, text: string, min: number): number {
  const match = /^([0-9]+)([KMG]?)i?B?$/i.exec(text);
  const bytes = match ? Number(match[1]) * UNITS[match[2]!.toUpperCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    throw new RangeError(
      `${flag} takes bytes (at least ${sizeText(min)}), optionally with K, M or G, ` +
        `not "${text}"`,
    );
  }
  return bytes;
}

/** `65536` as `64K`, `4194304` as `4M`; other counts as they are. */
export function sizeText(bytes: number): string {
  for (const unit of ["G", "M", "K"]) {
    const size = UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
