/**
 * Local time as the Python offlog prints it, `YYYY-MM-DD HH:MM:SS.mmm`: the client's
 * `Logger` and the server's log both stamp every line with it, so it is cached per
 * millisecond and its date and time part per second.
 *
 * @module
 */

let lastMs = Number.NaN;
let lastStamp = "";
let lastSecond = Number.NaN;
let secondText = "";

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats `ms` (epoch milliseconds) in local time.
 *
 * @param ms Epoch milliseconds.
 * @returns `YYYY-MM-DD HH:MM:SS.mmm`.
 */
export function timestamp(ms: number): string {
  if (ms === lastMs) return lastStamp;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    secondText = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.`;
    lastSecond = second;
  }
  lastMs = ms;
  lastStamp = secondText + pad(ms - second * 1000, 3);
  return lastStamp;
}
