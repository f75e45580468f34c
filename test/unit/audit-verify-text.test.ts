/** `verifyJsonlText` (what `audit verify FILE` runs) agrees with the line-by-line verifier wherever chunks split. */
import { describe, expect, it } from 'vitest';
import { exportJsonl } from '../../api/services/audit-export.js';
import { verifyJsonl, verifyJsonlText } from '../../api/services/audit-verify.js';
import { generateHistory } from '../../bench/fixtures/audit-history.js';

async function* from<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}

async function exported(count: number): Promise<string> {
  let text = '';
  for await (const chunk of exportJsonl(from(generateHistory(count)), { now: () => new Date(0) }))
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
