import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCursorStore } from '../../api/adapters/bunker/dynamo-cursor.js';
import { S3Sink } from '../../api/adapters/bunker/s3-sink.js';
import type { LocalStack } from '../../api/local/stack.js';
import type { BunkerSink } from '../../api/ports/bunker.js';
import { silentLogger } from '../../api/ports/logger.js';
import { verifyBunker, verifyJsonl } from '../../api/services/audit-verify.js';
import { auditJwks } from '../../api/services/digests.js';
import { AuditShipper } from '../../api/services/shipper.js';
import { launchChromium } from '../support/browser.js';
import { apiClient, exampleConfig, startTestStack, tokenFor } from '../support/stack.js';

const TABLE = `bunker${Date.now().toString(36)}`;

async function* linesOf(text: string) {
  yield* text.split('\n');
}

describe('the data bunker against a real S3-compatible server and the local stack', () => {
  let stack: LocalStack;
  let s3rver: S3rver;
  let s3: S3Client;
  let s3dir: string;
  beforeAll(async () => {
    s3dir = mkdtempSync(join(tmpdir(), 'bg-s3rver-'));
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: 'audit', configs: [] }],
    });
    const { port } = (await s3rver.run()) as { port: number };
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    // Digests every 5 events: the review report is green only when a signed digest covers its range.
    const config = exampleConfig();
    stack = await startTestStack({
      shipIntervalSeconds: 3600,
      tableName: TABLE,
      config: { ...config, bunker: { kind: 'file', digest: { everyEvents: 5, everyMinutes: 15 } } },
    });
    // A little real history: requests, approvals, a refusal, a revocation.
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));
    for (let i = 0; i < 6; i++) {
      const created = await alice<{ id: string }>('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: `check the queue ${i}`,
      });
      expect(created.status).toBe(201);
      expect((await bob('POST', `/v1/requests/${created.body.id}/approve`, {})).status).toBe(200);
      if (i % 2 === 0)
        expect((await bob('POST', `/v1/requests/${created.body.id}/revoke`, { reason: 'done' })).status).toBe(
          200,
        );
    }
    expect((await erin('GET', '/v1/audit/verify')).status).toBe(403);
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise<void>((resolve) => s3rver?.close(() => resolve()));
    rmSync(s3dir, { recursive: true, force: true });
  });

  const sinkFor = (prefix: string) =>
    new S3Sink({ client: s3, bucket: 'audit', prefix, expectedBucketOwner: '111122223333' });
  const shipperFor = (sink: BunkerSink, table: string) =>
    new AuditShipper({
      store: stack.broker.store,
      sink,
      cursor: new DynamoCursorStore({ client: stack.broker.dynamodb, tableName: table, name: 's3-test' }),
      signer: stack.broker.bunker.signer,
      policy: { everyEvents: 7, everyMinutes: 60 },
      clock: { now: () => new Date() },
      logger: silentLogger,
      checkpointEvery: 4,
    });
  const keysUnder = async (sink: S3Sink, prefix: string) => {
    const keys: string[] = [];
    for await (const key of sink.list(prefix)) keys.push(key);
    return keys;
  };

  it('ships in seq order to deterministic keys, survives a kill mid-batch and replays without duplicates', async () => {
    const head = await stack.broker.store.chainHead();
    expect(head.seq).toBeGreaterThan(20);
    const sink = sinkFor('run1/');
    const order: number[] = [];
    let puts = 0;
    const crashing: BunkerSink = {
      location: sink.location,
      list: (prefix) => sink.list(prefix),
      get: (key) => sink.get(key),
      put: async (key, body, type) => {
        puts += 1;
        if (puts === 13) throw new Error('killed mid-batch');
        if (key.startsWith('events/')) order.push(Number(/(\d{12})-/.exec(key)?.[1]));
        return sink.put(key, body, type);
      },
    };
    // Each shipper keeps its cursor in the stack's table, under the same item: use a fresh table per prefix.
    await expect(shipperFor(crashing, TABLE).shipPending()).rejects.toThrow('killed');
    // Objects of one window are written at once, but the cursor never passes an object that is not there.
    const cursorAfterCrash = await new DynamoCursorStore({
      client: stack.broker.dynamodb,
      tableName: TABLE,
      name: 's3-test',
    }).read();
    const present = new Set(order);
    expect(cursorAfterCrash.shippedSeq).toBeGreaterThan(0);
    expect(cursorAfterCrash.shippedSeq).toBeLessThan(head.seq);
    for (let seq = 1; seq <= cursorAfterCrash.shippedSeq; seq++) expect(present.has(seq)).toBe(true);
    const resumed = await shipperFor(crashing, TABLE).shipPending();
    expect(resumed.lastSeq).toBe(head.seq);
    const events = await keysUnder(sink, 'events/');
    expect(events.map((key) => Number(/(\d{12})-/.exec(key)?.[1]))).toEqual(
      Array.from({ length: head.seq }, (_, i) => i + 1),
    );
    expect(
      await verifyBunker(sink, {
        trusted: { source: 'signing-key', origin: 'test', keys: await auditJwks(stack.broker.bunker.signer) },
      }),
    ).toMatchObject({ ok: true, events: head.seq, lastSeq: head.seq, signature: 'valid' });

    // A second shipper with the same cursor has nothing to do; a replay of every object changes nothing.
    expect((await shipperFor(sink, TABLE).shipPending()).shipped).toBe(0);
    const before = await keysUnder(sink, '');
    // s3rver ignores IfNoneMatch on PUT (the 412 path is proven against the SDK mock in test/unit/bunker.test.ts):
    // here the replay must land on exactly the same keys with exactly the same bytes.
    for await (const event of stack.broker.store.readEvents()) {
      const key = events[event.seq - 1]!;
      expect(['written', 'identical']).toContain(await sink.put(key, JSON.stringify(event)));
      expect(await sink.get(key)).toBe(JSON.stringify(event));
    }
    expect(await keysUnder(sink, '')).toEqual(before);
  });

  it('exports JSONL that verifies on its own with a signed manifest, CSV per request and OCSF; auditors only', async () => {
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const refused = await alice<{ code: string }>('GET', '/v1/audit/events?format=csv');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('forbidden');

    const keys = await apiClient(stack)<{ keys: Array<{ kid: string; crv: string }> }>(
      'GET',
      '/.well-known/breakglass-audit-keys.json',
    );
    expect(keys.status).toBe(200);
    expect(keys.body.keys[0]).toMatchObject({ crv: 'P-256' });

    const jsonl = await carol<string>('GET', '/v1/audit/events?format=jsonl');
    expect(jsonl.status).toBe(200);
    const text = String(jsonl.body);
    const trusted = { source: 'file' as const, origin: 'test', keys: keys.body as never };
    const report = await verifyJsonl(linesOf(text), { trusted });
    expect(report).toMatchObject({ ok: true, signature: 'valid', keySource: 'file' });
    // The export carries the sealer's digests (every 5 events here), each checked against its event.
    expect(report.ok && report.digests).toBeGreaterThan(2);
    const lines = text.trim().split('\n');
    const at5 = lines.findIndex((line) => line.includes('"seq":5,'));
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'export.boundary', prevSeq: 0 });
    // Edit, delete and reorder an event in the export: each is caught at its seq.
    const edited = [...lines];
    edited[at5] = edited[at5]!.replace('"type":"', '"type":"x');
    expect(await verifyJsonl(linesOf(edited.join('\n')), { trusted })).toMatchObject({
      ok: false,
      firstBadSeq: 5,
    });
    const deleted = lines.filter((_, i) => i !== at5);
    expect(await verifyJsonl(linesOf(deleted.join('\n')), { trusted })).toMatchObject({
      ok: false,
      firstBadSeq: 5,
      reason: 'seq_gap',
    });
    const swapped = [...lines];
    const at6 = lines.findIndex((line) => line.includes('"seq":6,'));
    [swapped[at5], swapped[at6]] = [swapped[at6]!, swapped[at5]!];
    expect(await verifyJsonl(linesOf(swapped.join('\n')), { trusted })).toMatchObject({
      ok: false,
      firstBadSeq: 5,
      reason: 'seq_gap',
    });
    const truncated = lines.slice(0, -3);
    expect(await verifyJsonl(linesOf(truncated.join('\n')), { trusted })).toMatchObject({
      ok: false,
      reason: 'truncated',
    });

    // A range carries its boundary and verifies alone.
    const third = JSON.parse(lines[10]!) as { time: string; seq: number };
    const ranged = await carol<string>(
      'GET',
      `/v1/audit/events?format=jsonl&since=${encodeURIComponent(third.time)}`,
    );
    const rangedLines = String(ranged.body).trim().split('\n');
    expect(JSON.parse(rangedLines[0]!).prevSeq).toBeLessThanOrEqual(third.seq - 1);
    expect(await verifyJsonl(linesOf(String(ranged.body)), { trusted })).toMatchObject({
      ok: true,
      signature: 'valid',
    });

    const csv = await carol<string>('GET', '/v1/audit/events?format=csv');
    const rows = String(csv.body).trim().split('\r\n');
    expect(rows[0]).toMatch(/^request_id,role,account,requester,reason,ticket,emergency/);
    expect(rows).toHaveLength(7);
    expect(rows.filter((row) => row.includes(',revoked,'))).toHaveLength(3);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);

    const ocsf = await carol<string>('GET', '/v1/audit/events?format=ocsf');
    const records = String(ocsf.body)
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            class_uid: number;
            activity_id: number;
            unmapped: { breakglass: { type: string } };
          },
      );
    const revoked = records.find((record) => record.unmapped.breakglass.type === 'grant.revoked');
    expect(revoked).toMatchObject({ class_uid: 3005, activity_id: 2 });
    expect(records.find((record) => record.unmapped.breakglass.type === 'request.created')).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
    });

    const bad = await carol<{ code: string }>('GET', '/v1/audit/events?format=xml');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('verifies the stored chain against the signed digests in the bunker and shows shipping lag on /readyz', async () => {
    await stack.broker.bunker.shipper.shipPending();
    const ready = await apiClient(stack)<{ checks: { bunker: { ok: boolean; lagEvents: number } } }>(
      'GET',
      '/readyz',
    );
    expect(ready.body.checks.bunker).toMatchObject({ ok: true, lagEvents: 0 });
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const verify = await carol<{ ok: boolean; digests: number; kind: string }>('GET', '/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, kind: 'store' });
    expect(verify.body.digests).toBeGreaterThanOrEqual(0);
  });

  it('renders the review report in headless Chromium without console errors and saves a PNG', async () => {
    const token = await tokenFor(stack, 'carol');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      await page.setExtraHTTPHeaders({ authorization: `Bearer ${token}` });
      // The report is green only when a signed digest covers its range: end it where the newest digest ends (an
      // open range always holds a few newer events no digest covers yet, and says so in amber).
      let digestedTo = 0;
      for await (const key of stack.broker.bunker.sink.list('digests/')) {
        digestedTo = Math.max(digestedTo, Number(/(\d{12})\.jws$/.exec(key)?.[1] ?? 0));
      }
      let until = '';
      for await (const event of stack.broker.store.readEvents({ fromSeq: digestedTo + 1 })) {
        until = event.time;
        break;
      }
      expect(digestedTo).toBeGreaterThan(0);
      const response = await page.goto(
        `${stack.url}/v1/audit/report${until ? `?until=${encodeURIComponent(until)}` : ''}`,
      );
      expect(response?.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toContain('Break-glass access review');
      expect(await page.locator('#verification').getAttribute('class')).toContain('good');
      expect(await page.locator('svg.chart').count()).toBe(2);
      expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(1);
      // The stylesheet applied (not blocked by the CSP): KPI tiles are laid out as a grid.
      expect(
        await page
          .locator('.kpis')
          .evaluate(
            (element) =>
              (
                globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }
              ).getComputedStyle(element).display,
          ),
      ).toBe('grid');
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/audit-report.png', fullPage: true });
      expect(problems, problems.join('\n')).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
