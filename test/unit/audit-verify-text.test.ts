/** `verifyJsonlText` (what `audit verify FILE` runs) agrees with the line-by-line verifier wherever chunks split. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ExportPart, exportParts } from '../../api/domain/exports/jsonl.js';
import { exportJsonl } from '../../api/services/audit-export.js';
import { verifyJsonl, verifyJsonlParts, verifyJsonlText } from '../../api/services/audit-verify.js';
import { generateHistory } from '../../bench/fixtures/audit-history.js';
import { byteRanges, type ReadAt, rangeLines } from '../../cli/verify-ranges.js';

async function* from<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}

async function exported(count: number, start?: string): Promise<string> {
  let text = '';
  for await (const chunk of exportJsonl(from(generateHistory(count, start)), { now: () => new Date(0) }))
    text += chunk;
  return text;
}

const chunksOf = (text: string, size: number) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const options = { trusted: null, allowUnsigned: true };

describe('verifying an export read as text chunks', () => {
  it('gives the line verifier’s result for every chunk size, including splits inside lines', async () => {
    const text = await exported(40);
    const byLine = await verifyJsonl(from(text.trimEnd().split('\n')), options);
    expect(byLine).toMatchObject({ ok: true, events: 40, lastSeq: 40, signature: 'unsigned' });
    for (const size of [1, 2, 7, 100, 499, 4096, text.length]) {
      expect(await verifyJsonlText(from(chunksOf(text, size)), options)).toEqual(byLine);
    }
  });

  it('finds the same first bad seq for an edit, a dropped line and bytes changed outside the events', async () => {
    const lines = (await exported(30)).trimEnd().split('\n');
    const at = (seq: number) => lines.findIndex((line) => line.includes(`"seq":${seq},`));
    const edited = [...lines];
    edited[at(12)] = edited[at(12)]!.replace('"type":"', '"type":"x');
    const dropped = lines.filter((_, index) => index !== at(7));
    const boundary = [...lines];
    boundary[0] = boundary[0]!.replace('"since":null', '"since":"2020-01-01T00:00:00.000Z"');
    for (const [variant, seq, reason] of [
      [edited, 12, 'hash_mismatch'],
      [dropped, 7, 'seq_gap'],
      [boundary, 1, 'manifest_mismatch'],
    ] as const) {
      const text = `${variant.join('\n')}\n`;
      const byLine = await verifyJsonl(from(variant), options);
      expect(byLine).toMatchObject({ ok: false, firstBadSeq: seq, reason });
      for (const size of [3, 512, text.length]) {
        expect(await verifyJsonlText(from(chunksOf(text, size)), options)).toEqual(byLine);
      }
    }
  });
});

const reader =
  (bytes: Buffer): ReadAt =>
  (position, length) =>
    bytes.subarray(position, position + length);

/** The file cut into byte ranges as `audit verify FILE` cuts it for its worker threads, read here in process. */
async function* partsOf(text: string, rangeBytes: number): AsyncIterable<ExportPart[]> {
  const bytes = Buffer.from(text);
  for (const [start, end] of byteRanges(bytes.length, rangeBytes)) {
    yield exportParts(rangeLines(reader(bytes), start, end));
  }
}

/** The same export in format /1, whose end line hashes every byte before it (exports written before /2). */
function asFormat1(lines: string[]): string[] {
  const body = lines.slice(0, -1);
  body[0] = body[0]!.replace('breakglass-audit-jsonl/2', 'breakglass-audit-jsonl/1');
  const end = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  const sha256 = createHash('sha256')
    .update(body.map((line) => `${line}\n`).join(''))
    .digest('hex');
  return [...body, JSON.stringify({ ...end, format: 'breakglass-audit-jsonl/1', sha256 })];
}

describe('export format /2: the chain pins the event lines', () => {
  it('refuses a boundary that names no chain position the sealer could have written', async () => {
    // Every later check starts there; a prevHash with quotes in it let the first line's tail be read past its
    // prevHash slot (found in review), and a prevSeq of 2^53 − 1 has no safe successor.
    const lines = (await exported(5)).trimEnd().split('\n');
    const boundary = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const change of [
      { prevHash: `ab","seq":7,"zz":"${'p'.repeat(46)}` },
      { prevHash: 'A'.repeat(64) },
      { prevSeq: Number.MAX_SAFE_INTEGER },
      { prevSeq: '0' },
      { prevSeq: -1 },
    ]) {
      const text = [JSON.stringify({ ...boundary, ...change }), ...lines.slice(1)].join('\n');
      expect([change, await verifyJsonlText(from([text]), options)]).toMatchObject([
        change,
        {
          ok: false,
          firstBadSeq: 1,
          reason: 'malformed',
          detail: 'line 1: the boundary names no chain position (prevSeq, prevHash)',
        },
      ]);
    }
  });

  it('refuses an event line that is not its event’s canonical JSON, and a blank line, which /1 tolerated', async () => {
    const lines = (await exported(20)).trimEnd().split('\n');
    const at = lines.findIndex((line) => line.includes('"seq":9,'));
    // Same event, same hash, other bytes: members in another order.
    const event = JSON.parse(lines[at]!) as Record<string, unknown>;
    const reordered = [...lines];
    reordered[at] = JSON.stringify(Object.fromEntries(Object.entries(event).reverse()));
    expect(await verifyJsonl(from(reordered), options)).toMatchObject({
      ok: false,
      firstBadSeq: 9,
      reason: 'malformed',
      detail: "the line of seq 9 is not its event's canonical JSON",
    });
    const blank = [...lines.slice(0, at), '', ...lines.slice(at)];
    expect(await verifyJsonl(from(blank), options)).toMatchObject({
      ok: false,
      firstBadSeq: 9,
      reason: 'malformed',
      detail: 'a blank line, which export format /2 does not allow',
    });
    // Format /1 exports still verify, blank lines included: their end line hashes every byte.
    const v1 = asFormat1(lines);
    expect(await verifyJsonl(from(v1), options)).toMatchObject({ ok: true, events: 20 });
    const v1Blank = [...v1.slice(0, at), '', ...v1.slice(at)];
    expect(await verifyJsonlText(from([`${v1Blank.join('\n')}\n`]), options)).toMatchObject({
      ok: false,
      reason: 'manifest_mismatch',
    });
    // Downgrading /2 to /1 by editing its boundary breaks the end line's hash.
    const downgraded = [lines[0]!.replace('jsonl/2', 'jsonl/1'), ...lines.slice(1)];
    expect(await verifyJsonl(from(downgraded), options)).toMatchObject({
      ok: false,
      reason: 'manifest_mismatch',
    });
  });

  it('cuts a file into byte ranges that hold every line exactly once and whole, multi-byte characters included', () => {
    const text = 'ab\n{"é":"ü€"}\n\n𝄞x\nlast line without a newline';
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 5, 8, 13, bytes.length]) {
      const read = byteRanges(bytes.length, size).map(([start, end]) =>
        rangeLines(reader(bytes), start, end),
      );
      expect(read.join(''), `ranges of ${size} bytes`).toBe(text);
      for (const lines of read)
        expect(lines === '' || lines.endsWith('\n') || text.endsWith(lines)).toBe(true);
    }
  });

  it('checked in parallel byte ranges, gives exactly the sequential result for every tampering and range size', async () => {
    const lines = (await exported(60)).trimEnd().split('\n');
    const at = (seq: number) => lines.findIndex((line) => line.includes(`"seq":${seq},`));
    const replace = (index: number, line: string) => lines.map((old, i) => (i === index ? line : old));
    const remove = (index: number) => lines.filter((_, i) => i !== index);
    const event = JSON.parse(lines[at(30)]!) as Record<string, unknown>;
    // Seq 35 of another history: right seq, valid hash of its own, but chained to another event 34.
    const other = (await exported(60, '2025-03-01T00:00:00.000Z')).split('\n');
    const foreign = other.find((line) => line.includes('"seq":35,'))!;
    const variants: Record<string, string[]> = {
      foreign: replace(at(35), foreign),
      intact: lines,
      edited: replace(at(31), lines[at(31)]!.replace('"type":"', '"type":"x')),
      dropped: remove(at(17)),
      swapped: replace(at(40), lines[at(41)]!).map((line, i) => (i === at(41) ? lines[at(40)]! : line)),
      duplicated: [...lines.slice(0, at(5)), lines[at(4)]!, ...lines.slice(at(5))],
      reordered: replace(at(30), JSON.stringify(Object.fromEntries(Object.entries(event).reverse()))),
      blank: [...lines.slice(0, at(50)), '', ...lines.slice(at(50))],
      notJson: replace(at(22), '{"seq":22,'),
      notAnEvent: replace(at(1), '{"hello":"world"}'),
      truncated: lines.slice(0, -1),
      afterEnd: [...lines, lines[at(3)]!],
      boundaryEdited: replace(0, lines[0]!.replace('"since":null', '"since":"2020-01-01T00:00:00.000Z"')),
      firstDropped: remove(at(1)),
      lastDropped: remove(at(60)),
    };
    for (const [name, variant] of Object.entries(variants)) {
      const text = `${variant.join('\n')}\n`;
      const sequential = await verifyJsonlText(from(chunksOf(text, 4096)), options);
      expect(sequential.ok, name).toBe(name === 'intact');
      for (const bytes of [1, 700, 5000, text.length]) {
        const parallel = await verifyJsonlParts(partsOf(text, bytes), options);
        expect(parallel, `${name}, ranges of ${bytes} bytes`).toEqual(sequential);
      }
    }
  });
});
