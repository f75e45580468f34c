/**
 * Grant activity review end to end: a real emergency grant on the local stack (DynamoDB Local, real tokens),
 * credentials issued twice, revoked; a generated organisation trail around it (another person on the same
 * role, the same person's other grant, automation, other accounts and regions, late delivery) read by the real
 * reader from a directory (through the API) and from an S3-compatible server (s3rver).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3TrailSource } from '../../api/adapters/cloudtrail/s3-source.js';
import type { GrantTrail } from '../../api/domain/activity/grant-trail.js';
import { type ActivityReport, summarizeActivity } from '../../api/services/activity.js';
import { type TrailFile, trailFiles, trailRecord } from '../../bench/fixtures/cloudtrail-logs.js';
import { MutableClock } from '../support/clock.js';
import {
  type GrantActivityScenario,
  grantActivityScenario,
  putTrailObjects,
  writeTrailDirectory,
} from '../support/cloudtrail-fixtures.js';
import { type Api, auditEvents, TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const ORG = 'o-exampleorg1';

describe('grant activity from the organisation trail', () => {
  let stack: TestStack;
  let trailDir: string;
  let s3dir: string;
  let s3rver: S3rver;
  let s3: S3Client;
  let carol: Api;
  let bob: Api;
  let grantId: string;
  let trail: GrantTrail;
  let scenario: GrantActivityScenario;
  let files: TrailFile[];
  const clock = new MutableClock();

  beforeAll(async () => {
    trailDir = mkdtempSync(join(tmpdir(), 'bg-trail-'));
    s3dir = mkdtempSync(join(tmpdir(), 'bg-s3rver-trail-'));
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: 'org-trail', configs: [] }],
    });
    const { port } = (await s3rver.run()) as { port: number };
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    stack = await startTestStack({
      clock,
      demoUsers: TEST_USERS,
      config: testConfig((raw) => {
        raw.cloudtrail = { kind: 'directory', directory: trailDir, deliveryDelay: '15m' };
      }),
    });
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const created = await alice<{ id: string; status: string }>('POST', '/v1/requests', {
      roleId: 'prod-admin',
      durationMinutes: 60,
      reason: 'database failover, nobody awake',
      ticket: 'INC-77',
      emergency: true,
    });
    expect(created.body.status).toBe('active');
    grantId = created.body.id;
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const issued = await alice<{ AccessKeyId: string }>('POST', `/v1/requests/${grantId}/credentials`);
      expect(issued.status).toBe(200);
      keys.push(issued.body.AccessKeyId);
    }
    // Revoked 40 minutes in (the broker's clock moves; tokens stay valid for their real hour).
    clock.advanceMinutes(40);
    const revoked = await bob('POST', `/v1/requests/${grantId}/revoke`, { reason: 'failover done' });
    expect(revoked.status).toBe(200);
    clock.reset();

    const identity = await carol<GrantTrail>('GET', `/v1/requests/${grantId}/activity/trail?location=test`);
    expect(identity.status).toBe(200);
    trail = identity.body;
    expect(trail.accessKeyIds).toEqual(keys);
    scenario = grantActivityScenario({
      grant: {
        accountId: trail.accountId,
        roleArn: trail.roleArn,
        roleSessionName: trail.roleSessionName,
        sourceIdentity: trail.sourceIdentity,
        accessKeyId: keys[0]!,
        consoleAccessKeyId: 'ASIACONSOLESESSION01',
      },
      secondKey: keys[1]!,
      from: trail.window.from,
      until: trail.window.to,
      attributableUntil: trail.attributableUntil,
    });
    files = trailFiles([...scenario.mine, ...scenario.foreign, ...scenario.outside], { organizationId: ORG });
    writeTrailDirectory(trailDir, files);
    await putTrailObjects(
      s3,
      'org-trail',
      trailFiles([...scenario.mine, ...scenario.foreign, ...scenario.outside], {
        prefix: 'security/',
        organizationId: ORG,
      }),
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise<void>((resolve) => (s3rver ? s3rver.close(() => resolve()) : resolve()));
    rmSync(trailDir, { recursive: true, force: true });
    rmSync(s3dir, { recursive: true, force: true });
  });

  const mineIds = () => scenario.mine.map((call) => trailRecord(call).eventID);
  const foreignIds = () =>
    [...scenario.foreign, ...scenario.outside].map((call) => trailRecord(call).eventID);

  function expectExactlyTheGrants(report: ActivityReport) {
    expect(report.records).toBe(scenario.mine.length);
    const seen = new Set([
      ...report.findings.map((f) => f.eventId),
      ...report.afterEnd.calls.map((c) => c.eventId),
    ]);
    for (const id of foreignIds()) expect(seen.has(id)).toBe(false);
    const expectedFindings = scenario.mine
      .map(trailRecord)
      .filter((r) =>
        /PutRolePolicy|CreateAccessKey|StopLogging|AuthorizeSecurityGroupIngress|PutBucket|ScheduleKeyDeletion|AttachPolicy|DeleteDetector|DisableSecurityHub|StopConfigurationRecorder|CreateRole|CreateUser/.test(
          r.eventName,
        ),
      )
      .map((r) => r.eventID);
    expect(report.findings.map((f) => f.eventId).sort()).toEqual(expectedFindings.sort());
    expect(report.findings.every((f) => mineIds().includes(f.eventId))).toBe(true);
  }

  it('summarises exactly the grant’s calls from the directory trail, for an auditor', async () => {
    const response = await carol<ActivityReport>('GET', `/v1/requests/${grantId}/activity`);
    expect(response.status).toBe(200);
    const report = response.body;
    expect(report.requestId).toBe(grantId);
    expect(report.window).toEqual(trail.window);
    expectExactlyTheGrants(report);
    expect(report.byService.iam).toBe(4);
    expect(report.byService.kms).toBe(1);
    expect(report.console).toEqual({ signIns: 1, calls: 1 });
    expect(report.afterEnd).toMatchObject({ endedBy: 'revoked', refused: 3, allowed: 0 });
    expect(report.source.regions.sort()).toEqual(['eu-west-1', 'us-east-1']);
    // Only this account's files inside the window: the other account's files are never opened.
    const ownFiles = files.filter((f) => f.key.includes(`/${trail.accountId}/CloudTrail/`));
    expect(report.source.files).toBeLessThanOrEqual(ownFiles.length);
    expect(report.source.files).toBeGreaterThan(0);
    expect(report.identity.accessKeyIds).toEqual(trail.accessKeyIds);
  });

  it('reads the same from the trail bucket through the S3 protocol (s3rver)', async () => {
    const source = new S3TrailSource({ client: s3, bucket: 'org-trail' });
    // s3rver lists common prefixes only one level below the prefix, so the organisation folder and the
    // regions are given here; finding them by listing is exercised on the directory trail above.
    const report = await summarizeActivity(
      trail,
      source,
      {
        prefix: 'security/',
        organizationId: ORG,
        regions: ['us-east-1', 'eu-west-1'],
        deliveryDelayMinutes: 15,
      },
      new Date(),
    );
    expectExactlyTheGrants(report);
    expect(report.source.location).toBe('s3://org-trail');
    const viaApi = (await carol<ActivityReport>('GET', `/v1/requests/${grantId}/activity`)).body;
    const comparable = (r: ActivityReport) => ({
      ...r,
      source: { ...r.source, location: null, regions: null },
    });
    expect(comparable(report)).toEqual(comparable(viaApi));
  });

  it('misses the late-delivered call when the delivery delay is too short to reach its file', async () => {
    const source = new S3TrailSource({ client: s3, bucket: 'org-trail' });
    const layout = {
      prefix: 'security/',
      organizationId: ORG,
      regions: ['us-east-1'],
      deliveryDelayMinutes: 0,
    };
    const short = { ...trail, attributableUntil: trail.window.to };
    const report = await summarizeActivity(short, source, layout, new Date());
    expect(report.findings.map((f) => f.eventName)).not.toContain('PutBucketPublicAccessBlock');
    expect(report.findings.map((f) => f.eventName)).not.toContain('ScheduleKeyDeletion');
  });

  it('shows each credential-issuing grant’s activity in the review report', async () => {
    const response = await carol<string>('GET', '/v1/audit/report');
    expect(response.status).toBe(200);
    const html = response.body;
    const section = html.slice(html.indexOf('id="grant-activity"'));
    const row = section.slice(section.indexOf(`<code>${grantId}</code>`)).split('</tr>')[0]!;
    expect(row).toContain(`<td>${scenario.mine.length}</td>`);
    expect(row).toContain('3 refused');
    for (const kind of ['cloudtrail-tampering ×1', 'iam-policy-change ×1', 'kms-key-deletion ×1'])
      expect(row).toContain(kind);
  });

  it('records activity.viewed for each look, with who looked and where the trail was read', async () => {
    const events = (await auditEvents(carol)).filter(
      (e) => e.type === 'activity.viewed' && e.requestId === grantId,
    );
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.map((e) => e.actor)).toContainEqual(
      expect.objectContaining({ email: 'carol@example.com' }),
    );
    expect(events.map((e) => e.data.readBy).sort()).toEqual(expect.arrayContaining(['broker', 'client']));
    expect(events.find((e) => e.data.readBy === 'client')?.data.location).toBe('test');
  });

  describe.each([
    ['carol', 200, null],
    ['bob', 200, null],
    ['dave', 200, null],
    ['alice', 403, 'forbidden'],
    ['sam', 403, 'forbidden'],
    ['pat', 403, 'forbidden'],
    ['erin', 403, 'forbidden'],
  ] as const)('as %s', (who, status, code) => {
    it.each(['/activity', '/activity/trail'])(`GET …%s → ${status}`, async (path) => {
      const api = apiClient(stack, await tokenFor(stack, who));
      const before = (await auditEvents(carol)).length;
      const response = await api<{ code?: string }>('GET', `/v1/requests/${grantId}${path}`);
      expect(response.status).toBe(status);
      const written = (await auditEvents(carol)).slice(before).filter((e) => e.requestId === grantId);
      if (code) {
        expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(response.body.code).toBe(code);
        expect(written.map((e) => e.type)).toEqual(['access.forbidden']);
      } else {
        expect(written.map((e) => e.type)).toEqual(['activity.viewed']);
      }
    });
  });

  it('refuses without a token, for unknown requests and for requests that never granted access', async () => {
    expect((await apiClient(stack)('GET', `/v1/requests/${grantId}/activity`)).status).toBe(401);
    const unknown = await carol<{ code: string }>(
      'GET',
      '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/activity',
    );
    expect([unknown.status, unknown.body.code]).toEqual([404, 'not_found']);
    const bad = await carol<{ code: string }>('GET', '/v1/requests/nope/activity');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const pending = await alice<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-admin',
      durationMinutes: 30,
      reason: 'later',
      ticket: 'INC-78',
    });
    const refused = await carol<{ code: string }>('GET', `/v1/requests/${pending.body.id}/activity`);
    expect([refused.status, refused.body.code]).toEqual([409, 'invalid_state']);
  });

  it('documents both routes in the OpenAPI document', async () => {
    const doc = (
      await apiClient(stack)<{
        paths: Record<string, unknown>;
        components: { schemas: Record<string, unknown> };
      }>('GET', '/openapi.json')
    ).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/requests/{id}/activity', '/v1/requests/{id}/activity/trail']),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['GrantActivity', 'ActivityFinding', 'GrantTrail']),
    );
  });
});
