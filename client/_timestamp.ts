// Local time as the seed prints it, `YYYY-MM-DD HH:MM:SS.mmm`, cached per millisecond
// and per second since a logger asks for it on every record.

let lastMs = Number.NaN;
let lastStamp = "";
let lastSecond = Number.NaN;
let secondText = "";

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Formats `ms` (epoch milliseconds) in local time. */
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
