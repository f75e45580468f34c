/**
 * Grant activity review: parsing gzip'd CloudTrail log files (the generator's documented record format, a
 * busy trail where one record in 500 is the grant's). Prints compressed MB/s (target ≥ 50), the ratio to a
 * bare zlib gunzip of the same bytes, and maxRSS before and after reading 4× more data: flat memory means
 * the second pass does not raise it.
 */
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DirectoryTrailSource } from '../../api/adapters/cloudtrail/directory-source.js';
import { gzipRecords } from '../../api/adapters/cloudtrail/gzip-records.js';
import type { GrantTrail } from '../../api/domain/activity/grant-trail.js';
import { summarizeActivity } from '../../api/services/activity.js';
import { busyTrail, type TrailFile, type TrailPrincipal } from '../fixtures/cloudtrail-logs.js';

export const name = 'activity';
const FILES = Number(process.env.BENCH_TRAIL_FILES ?? 120);
const RECORDS_PER_FILE = Number(process.env.BENCH_TRAIL_RECORDS ?? 1000);
const TARGET_MB_S = 50;

const GRANT: TrailPrincipal = {
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
  roleSessionName: 'alice.req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  sourceIdentity: 'alice@example.com',
  accessKeyId: 'ASIAGRANTKEY00000001',
};

const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

/** The bare cost: the same files read and gunzipped, output discarded. */
async function gunzipOnly(dir: string, files: TrailFile[]): Promise<number> {
  let out = 0;
  for (const file of files) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    createReadStream(join(dir, file.key), { highWaterMark: 256 * 1024 }).pipe(gunzip);
    for await (const chunk of gunzip as AsyncIterable<Buffer>) out += chunk.length;
  }
  return out;
}

/** The reader: the same files through gunzip and the needle scan, the grant's records parsed. */
async function parse(dir: string, files: TrailFile[], needles: string[]): Promise<number> {
  let matched = 0;
  for (const file of files) {
    const stream = createReadStream(join(dir, file.key), { highWaterMark: 256 * 1024 });
    for await (const _ of gzipRecords(stream, needles)) matched += 1;
  }
  return matched;
}

export async function run(): Promise<void> {
  const files = busyTrail({ files: FILES, recordsPerFile: RECORDS_PER_FILE, grant: GRANT });
  const compressed = files.reduce((sum, file) => sum + file.body.length, 0);
  const needles = [GRANT.roleSessionName, GRANT.accessKeyId];
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-trail-'));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(dir, file.key)), { recursive: true });
      writeFileSync(join(dir, file.key), file.body);
    }
    const jsonBytes = await gunzipOnly(dir, files.slice(0, 5)); // warm up (and the page cache)
    void jsonBytes;
    await parse(dir, files.slice(0, 5), needles);
    const rssBefore = maxRssMb();
    // Alternate the two so that load from other processes on the machine hits both alike; keep the best.
    let bareMs = Number.POSITIVE_INFINITY;
    let parseMs = Number.POSITIVE_INFINITY;
    let out = 0;
    let matched = 0;
    for (let round = 0; round < 4; round++) {
      let started = performance.now();
      out = await gunzipOnly(dir, files);
      bareMs = Math.min(bareMs, performance.now() - started);
      started = performance.now();
      matched = await parse(dir, files, needles);
      parseMs = Math.min(parseMs, performance.now() - started);
    }
    const rssOnePass = maxRssMb();
    for (let pass = 0; pass < 4; pass++) await parse(dir, files, needles);
    const rssFourPasses = maxRssMb();

    // End to end through the directory adapter: listing, file reads, the join and the summary.
    const trail: GrantTrail = {
      requestId: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
      accountId: GRANT.accountId,
      roleArn: GRANT.roleArn,
      sourceIdentity: GRANT.sourceIdentity!,
      roleSessionName: GRANT.roleSessionName,
      accessKeyIds: [GRANT.accessKeyId],
      window: { from: '2026-11-22T10:00:00.000Z', to: '2026-11-22T12:00:00.000Z' },
      endedBy: 'expired',
      attributableUntil: '2026-11-22T12:00:00.000Z',
    };
    const layout = { prefix: '', organizationId: null, regions: null, deliveryDelayMinutes: 15 };
    const source = new DirectoryTrailSource(dir);
    let e2eMs = Number.POSITIVE_INFINITY;
    let e2e = await summarizeActivity(trail, source, layout, new Date());
    for (let round = 0; round < 2; round++) {
      const started = performance.now();
      e2e = await summarizeActivity(trail, source, layout, new Date());
      e2eMs = Math.min(e2eMs, performance.now() - started);
    }
    const mbs = (ms: number) => compressed / 1e6 / (ms / 1000);
    console.log(
      `trail                  ${FILES} files × ${RECORDS_PER_FILE} records, ${(compressed / 1e6).toFixed(1)} MB gzip → ${(out / 1e6).toFixed(0)} MB JSON (×${(out / compressed).toFixed(1)})`,
    );
    console.log(
      `bare zlib gunzip       ${mbs(bareMs).toFixed(1)} MB/s compressed (same files, output discarded)`,
    );
    console.log(
      `parse (gunzip+scan)    ${mbs(parseMs).toFixed(1)} MB/s compressed (target ≥ ${TARGET_MB_S}); ${(parseMs / bareMs).toFixed(2)}× the bare gunzip time; ${matched} of the grant's records parsed`,
    );
    console.log(
      `end to end (directory) ${mbs(e2eMs).toFixed(1)} MB/s compressed; ${e2e.records} records attributed from ${e2e.source.files} files`,
    );
    console.log(
      `maxRSS                 ${rssBefore.toFixed(0)} MB before, ${rssOnePass.toFixed(0)} MB after 4 rounds, ${rssFourPasses.toFixed(0)} MB after 4 more passes (the generated trail, ${(compressed / 1e6).toFixed(0)} MB, is held in memory)`,
    );
    if (mbs(parseMs) < TARGET_MB_S) {
      console.log(
        `NOTE parse below ${TARGET_MB_S} MB/s: bare gunzip of the same bytes reaches ${mbs(bareMs).toFixed(1)} MB/s here; the ratio is the reader's own cost`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
