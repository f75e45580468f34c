/**
 * How `audit verify FILE` cuts a large export into byte ranges for its worker threads: a line belongs to the
 * range its first byte is in, so every line is read by exactly one worker, whole. `\n` never occurs inside a
 * multi-byte UTF-8 sequence, so each range decodes on its own.
 */

/** Reads up to `length` bytes at `position`; fewer (or none) at the end of the file. */
export type ReadAt = (position: number, length: number) => Buffer;

const PROBE = 64 * 1024;

/** The byte ranges of a file of `size` bytes, `rangeBytes` each (the last shorter). */
export function byteRanges(size: number, rangeBytes: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += rangeBytes)
    ranges.push([start, Math.min(size, start + rangeBytes)]);
  return ranges;
}

/** The lines whose first byte lies in [start, end), read whole (the last one past `end`, to its newline). */
export function rangeLines(read: ReadAt, start: number, end: number): string {
  let from = start;
  if (start > 0) {
    // The line that began before this range belongs to the range before.
    from = -1;
    for (let at = start - 1; from < 0; ) {
      const probe = read(at, PROBE);
      if (probe.length === 0) return '';
      const newline = probe.indexOf(10);
      if (newline >= 0) from = at + newline + 1;
      else at += probe.length;
    }
    if (from >= end) return '';
  }
  const pieces = [read(from, end - from)];
  for (let at = end, last = pieces[0]!; last.length > 0 && last[last.length - 1] !== 10; ) {
    const more = read(at, PROBE);
    const newline = more.indexOf(10);
    last = newline >= 0 ? more.subarray(0, newline + 1) : more;
    if (last.length > 0) pieces.push(last);
    if (newline >= 0 || more.length === 0) break;
    at += more.length;
  }
  return Buffer.concat(pieces).toString('utf8');
}
