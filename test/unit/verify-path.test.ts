/** `audit verify FILE` on an export large enough that its file hash runs on a worker thread (cli/verify-path.ts). */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportJsonl } from '../../api/services/audit-export.js';
import { generateHistory } from '../../bench/fixtures/audit-history.js';
import { verifyPath } from '../../cli/verify-path.js';

const dir = mkdtempSync(join(tmpdir(), 'bg-verify-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* from<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}

describe('verifying a large export file', () => {
  it('verifies it, and still notices bytes changed outside the events', async () => {
    const chunks: string[] = [];
    for await (const chunk of exportJsonl(from(generateHistory(20_000)), { now: () => new Date(0) }))
      chunks.push(chunk);
    const text = chunks.join('');
    const file = join(dir, 'large.jsonl');
    writeFileSync(file, text);
    // Over the 8 MB from which the CLI hashes the file on a worker thread.
    expect(statSync(file).size).toBeGreaterThan(8 << 20);
    const options = { trusted: null, allowUnsigned: true };
    expect(await verifyPath(file, options)).toMatchObject({ ok: true, events: 20_000, lastSeq: 20_000 });

    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, text.replace('"since":null', '"since":"2020-01-01T00:00:00.000Z"'));
    expect(await verifyPath(tampered, options)).toMatchObject({ ok: false, reason: 'manifest_mismatch' });
  }, 60_000);
});
