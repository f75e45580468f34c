/**
 * Grant activity review: parsing gzip'd CloudTrail log files (the generator's documented record format, a
 * busy trail where one record in 500 is the grant's). Prints compressed MB/s (target ≥ 50), the ratio to a
 * bare zlib gunzip of the same bytes, and maxRSS before and after reading 4× more data: flat memory means
 * the second pass does not raise it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
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

async function gunzipOnly(files: TrailFile[]): Promise<number> {
  let out = 0;
  for (const file of files) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    Readable.from([file.body]).pipe(gunzip);
    for await (const chunk of gunzip as AsyncIterable<Buffer>) out += chunk.length;
  }
  return out;
}

async function parse(files: TrailFile[], needles: string[]): Promise<number> {
  let matched = 0;
  for (const file of files) {
    for await (const _ of gzipRecords(Readable.from([file.body]), needles)) matched += 1;
  }
  return matched;
}

async function best<T>(rounds: number, work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let ms = Number.POSITIVE_INFINITY;
  let result: T | undefined;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    result = await work();
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms, result: result as T };
}

export async function run(): Promise<void> {
  const files = busyTrail({ files: FILES, recordsPerFile: RECORDS_PER_FILE, grant: GRANT });
  const compressed = files.reduce((sum, file) => sum + file.body.length, 0);
  const needles = [GRANT.roleSessionName, GRANT.accessKeyId];
  await parse(files.slice(0, 5), needles); // warm up
  const rssBefore = maxRssMb();

  const bare = await best(3, () => gunzipOnly(files));
  const parsed = await best(3, () => parse(files, needles));
  const mbs = (ms: number) => compressed / 1e6 / (ms / 1000);
  const rssOnePass = maxRssMb();
  // Four times the data: maxRSS must not follow.
  for (let pass = 0; pass < 4; pass++) await parse(files, needles);
  const rssFourPasses = maxRssMb();

  // End to end through the directory adapter: listing, file reads, the join and the summary.
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-trail-'));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(dir, file.key)), { recursive: true });
      writeFileSync(join(dir, file.key), file.body);
    }
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
    const e2e = await best(2, () => summarizeActivity(trail, source, layout, new Date()));

    console.log(
      `trail                  ${FILES} files × ${RECORDS_PER_FILE} records, ${(compressed / 1e6).toFixed(1)} MB gzip → ${(bare.result / 1e6).toFixed(0)} MB JSON (×${(bare.result / compressed).toFixed(1)})`,
    );
    console.log(`bare zlib gunzip       ${mbs(bare.ms).toFixed(1)} MB/s compressed`);
    console.log(
      `parse (gunzip+split)   ${mbs(parsed.ms).toFixed(1)} MB/s compressed (target ≥ ${TARGET_MB_S}) — ${(parsed.ms / bare.ms).toFixed(2)}× the bare gunzip time; ${parsed.result} of the grant's records found`,
    );
    console.log(
      `end to end (directory) ${mbs(e2e.ms).toFixed(1)} MB/s compressed, ${e2e.result.records} records attributed, ${e2e.result.source.files} files read`,
    );
    console.log(
      `maxRSS                 ${rssBefore.toFixed(0)} MB before, ${rssOnePass.toFixed(0)} MB after one pass, ${rssFourPasses.toFixed(0)} MB after 4 more passes (generated trail held in memory: ${(compressed / 1e6).toFixed(0)} MB)`,
    );
    if (mbs(parsed.ms) < TARGET_MB_S) console.log(`WARNING parse below target ${TARGET_MB_S} MB/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
