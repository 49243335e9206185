// Test helper: multi-line records (BEGIN, body lines, END) that show whether records
// stayed whole and in order when many clients append to one file.

import assert from "node:assert/strict";

/**
 * One multi-line record: a BEGIN line, `lines` body lines of about `lineBytes` each,
 * an END line. `checkRecords` parses a file of them back.
 */
export function record(
  client: number,
  index: number,
  lines: number,
  lineBytes: number,
): string {
  let text = `BEGIN ${client} ${index} ${lines} ${lineBytes}\n`;
  for (let k = 0; k < lines; k++) {
    const head = `  ${client}/${index}/${k} `;
    text += head + "x".repeat(Math.max(0, lineBytes - head.length)) + "\n";
  }
  return text + `END ${client} ${index}\n`;
}

/**
 * Checks that `text` is whole records only, each client's in order from 0, and
 * returns how many records of each client it holds.
 */
export function checkRecords(text: string, clients: number): number[] {
  const next = new Array<number>(clients).fill(0);
  assert.ok(text === "" || text.endsWith("\n"), "the file ends with a whole line");
  const lines = text.split("\n");
  lines.pop();
  for (let k = 0; k < lines.length; k++) {
    const begin = /^BEGIN (\d+) (\d+) (\d+) (\d+)$/.exec(lines[k]!);
    assert.ok(
      begin,
      `line ${k} starts a record: ${JSON.stringify(lines[k]!.slice(0, 80))}`,
    );
    const [c, i, count, bytes] = begin.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    assert.equal(i, next[c], `client ${c}'s records in order`);
    const expected = record(c, i, count, bytes).split("\n");
    expected.pop();
    for (let l = 1; l < expected.length; l++) {
      assert.ok(lines[k + l] === expected[l], `record ${c}/${i} whole (its line ${l})`);
    }
    k += expected.length - 1;
    next[c] = i + 1;
  }
  return next;
}
