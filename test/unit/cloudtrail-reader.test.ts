/**
 * The streaming log-file reader (gunzip + needle scan, with the exact splitter as fallback) on generated
 * files big enough to span many zlib output chunks; compared with parsing the whole file at once.
 */
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipRecords } from '../../api/adapters/cloudtrail/gzip-records.js';
import type { TrailRecord } from '../../api/domain/activity/record.js';
import { busyTrail, type TrailPrincipal } from '../../bench/fixtures/cloudtrail-logs.js';

const GRANT: TrailPrincipal = {
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
  roleSessionName: 'alice.req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  sourceIdentity: 'alice@example.com',
  accessKeyId: 'ASIAGRANTKEY00000001',
};
const NEEDLES = [GRANT.roleSessionName, GRANT.accessKeyId];

// One file of 4,000 records (~6 MB of JSON: about 23 zlib output chunks).
const [FILE] = busyTrail({ files: 1, recordsPerFile: 4000, grant: GRANT, seed: 11 });
const RECORDS = (JSON.parse(gzipSyncInverse(FILE!.body)) as { Records: TrailRecord[] }).Records;

function gzipSyncInverse(body: Buffer): string {
  return gunzipSync(body).toString('utf8');
}

const expected = (records: TrailRecord[]) =>
  records.filter((record) => NEEDLES.some((needle) => JSON.stringify(record).includes(needle)));

async function read(body: Buffer, needles = NEEDLES, chunk = 7919): Promise<TrailRecord[]> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += chunk)
    pieces.push(body.subarray(offset, offset + chunk));
  const out: TrailRecord[] = [];
  for await (const record of gzipRecords(Readable.from(pieces), needles)) out.push(record);
  return out;
}

describe('gzipRecords', () => {
  it('yields exactly the records that contain a needle, in file order, across chunk boundaries', async () => {
    const want = expected(RECORDS);
    expect(want.length).toBeGreaterThan(0);
    expect(await read(FILE!.body)).toEqual(want);
  });

  it('yields every record when there are no needles', async () => {
    expect(await read(FILE!.body, [])).toEqual(RECORDS);
  });

  it('reads a pretty-printed file (not as CloudTrail writes them) exactly', async () => {
    const pretty = gzipSync(JSON.stringify({ Records: RECORDS.slice(0, 300) }, null, 2));
    expect(await read(pretty)).toEqual(expected(RECORDS.slice(0, 300)));
  });

  it('is not fooled by a nested object whose first key is eventVersion', async () => {
    const records = RECORDS.slice(0, 200).map((record, index) =>
      index % 3 === 0
        ? { ...record, requestParameters: { policy: { eventVersion: 'x', note: GRANT.roleSessionName } } }
        : record,
    );
    const body = gzipSync(JSON.stringify({ Records: records }));
    expect(await read(body)).toEqual(expected(records as TrailRecord[]));
  });

  it('reads an empty log file', async () => {
    expect(await read(gzipSync('{"Records":[]}'))).toEqual([]);
  });

  it('fails on a truncated download instead of returning part of the file quietly', async () => {
    const cut = FILE!.body.subarray(0, Math.floor(FILE!.body.length / 2));
    await expect(read(cut)).rejects.toThrow();
  });
});
