/**
 * A reviewer's export of a large history must stream: 100,000 generated events go to JSONL and CSV and are
 * verified in a Node process whose heap is capped well below the size of the export, so holding the history
 * (or the file) in memory would crash it. Peak RSS is printed. Runs the built code (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../api/package-root.js';

const EVENTS = 100_000;
const HEAP_MB = 32;

const script = (dir: string) => `
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { exportCsv, exportJsonl } from '${PACKAGE_ROOT}/dist/api/services/audit-export.js';
import { verifyJsonl } from '${PACKAGE_ROOT}/dist/api/services/audit-verify.js';
import { verifyPath } from '${PACKAGE_ROOT}/dist/cli/verify-path.js';
import { generateHistory } from '${PACKAGE_ROOT}/dist/bench/fixtures/audit-history.js';
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
async function* history() { yield* generateHistory(${EVENTS}); }
async function writeAll(chunks, path) {
  const out = createWriteStream(path);
  for await (const chunk of chunks) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}
await writeAll(exportJsonl(history(), { now: () => new Date() }), '${dir}/audit.jsonl');
await writeAll(exportCsv(history()), '${dir}/audit.csv');
const options = { trusted: null, allowUnsigned: true };
const lines = (path) => createInterface({ input: createReadStream(path), crlfDelay: Infinity });
const report = await verifyJsonl(lines('${dir}/audit.jsonl'), options);
// What \`breakglass audit verify FILE\` runs: event lines on worker threads (the file is far above the threshold).
const viaCli = await verifyPath('${dir}/audit.jsonl', options);
// One event rewritten in the middle: both paths must stop at it with the same report.
const tampered = createWriteStream('${dir}/tampered.jsonl');
for await (const line of lines('${dir}/audit.jsonl')) {
  const out = line.includes('"seq":54321,') ? line.replace('"type":"', '"type":"x') : line;
  if (!tampered.write(out + '\\n')) await once(tampered, 'drain');
}
tampered.end();
await once(tampered, 'finish');
const tamperedByLine = await verifyJsonl(lines('${dir}/tampered.jsonl'), options);
const tamperedViaCli = await verifyPath('${dir}/tampered.jsonl', options);
clearInterval(sampler);
console.log(JSON.stringify({ ok: report.ok, lastSeq: report.lastSeq, peakRss: peak, same: JSON.stringify(viaCli) === JSON.stringify(report), tamperedSame: JSON.stringify(tamperedViaCli) === JSON.stringify(tamperedByLine), tampered: tamperedViaCli }));
`;

describe('exports of a 100,000-event history', () => {
  it.skipIf(!existsSync(join(PACKAGE_ROOT, 'dist/bench/fixtures/audit-history.js')))(
    `stream to JSONL and CSV and verify inside a ${HEAP_MB} MB heap, on one thread and on worker threads alike`,
    { timeout: 300_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'bg-volume-'));
      const run = spawnSync(
        process.execPath,
        [`--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', script(dir)],
        { encoding: 'utf8', timeout: 280_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
        ok: boolean;
        lastSeq: number;
        peakRss: number;
        same: boolean;
        tamperedSame: boolean;
        tampered: { ok: boolean; firstBadSeq: number; reason: string };
      };
      const jsonlBytes = statSync(join(dir, 'audit.jsonl')).size;
      console.log(
        `100k events: JSONL ${(jsonlBytes / 1e6).toFixed(1)} MB, CSV ${(statSync(join(dir, 'audit.csv')).size / 1e6).toFixed(1)} MB, ` +
          `heap capped at ${HEAP_MB} MB, peak RSS ${Math.round(result.peakRss / 1e6)} MB`,
      );
      expect(result).toMatchObject({ ok: true, lastSeq: EVENTS });
      // The CLI's parallel check reports exactly what the line-by-line verifier does, intact or tampered.
      expect(result.same).toBe(true);
      expect(result.tamperedSame).toBe(true);
      expect(result.tampered).toMatchObject({ ok: false, firstBadSeq: 54321, reason: 'hash_mismatch' });
      // The cap only proves streaming if the export is bigger than the heap it ran in.
      expect(jsonlBytes).toBeGreaterThan(HEAP_MB * 1024 * 1024);
    },
  );
});
