// Client-supplied text in the server's log: shown as is when it is printable, and
// otherwise as Python's repr() shows it, so that no client can start a log line of its
// own (a path with a newline) or send escape codes to an operator's terminal.

/** Characters repr() escapes: C0 and C1 controls, DEL, line and paragraph separators. */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\xa0\u2028\u2029\ufeff\u{d800}-\u{dfff}]/u;

/**
 * `text` for a log line: as is when every character is printable, else Python's
 * `repr(text)`.
 *
 * @param text Text a client sent (a path, or a message naming one).
 * @returns Text with no control characters.
 */
export function logText(text: string): string {
  return UNPRINTABLE.test(text) ? pythonRepr(text) : text;
}

/**
 * Python's `repr()` of a string: single quotes (double when the text holds a single
 * quote and no double one), `\\n`, `\\r`, `\\t`, `\\xNN`, `\\uNNNN`.
 */
export function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const char = text[i]!;
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0)) out += `\\x${hex(code, 2)}`;
    else if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.codePointAt(i)!;
      if (next > 0xffff) {
        // A whole surrogate pair: one printable character.
        out += String.fromCodePoint(next);
        i++;
      } else out += `\\u${hex(code, 4)}`;
    } else if (code === 0x2028 || code === 0x2029 || code === 0xfeff) {
      out += `\\u${hex(code, 4)}`;
    } else out += char;
  }
  return out + quote;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}
