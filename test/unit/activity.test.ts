/**
 * The pure activity review: the grant's CloudTrail identity, the join (nothing foreign attributed), window
 * edges, every checklist kind, calls after the end, and the streaming record splitter.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FINDING_RULES, findingFor } from '../../api/domain/activity/findings.js';
import { belongsToGrant, type GrantTrail, grantTrail } from '../../api/domain/activity/grant-trail.js';
import { inPlan, parseLogFileKey, readPlan } from '../../api/domain/activity/layout.js';
import type { TrailRecord } from '../../api/domain/activity/record.js';
import { RecordSplitter } from '../../api/domain/activity/record-splitter.js';
import { ActivitySummarizer } from '../../api/domain/activity/summary.js';
import { DomainError } from '../../api/domain/errors.js';
import type { AccessRequest, AuditEvent } from '../../api/domain/types.js';
import { type TrailPrincipal, trailFiles, trailRecord } from '../../bench/fixtures/cloudtrail-logs.js';
import { grantActivityScenario } from '../support/cloudtrail-fixtures.js';

const FROM = '2026-11-22T10:00:00.000Z';
const UNTIL = '2026-11-22T11:00:00.000Z';
const STS_EXPIRY = '2026-11-22T11:20:00.000Z';
const KEY_1 = 'ASIAGRANTKEY00000001';
const KEY_2 = 'ASIAGRANTKEY00000002';

const GRANT: TrailPrincipal = {
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
  roleSessionName: 'alice.req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  sourceIdentity: 'alice@example.com',
  accessKeyId: KEY_1,
  consoleAccessKeyId: 'ASIACONSOLESESSION01',
};

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
    roleId: 'prod-admin',
    accountId: GRANT.accountId,
    roleArn: GRANT.roleArn,
    requester: { subject: 'sub-alice', email: 'alice@example.com' },
    requesterGroups: ['sre'],
    reason: 'failover',
    ticket: 'INC-1',
    emergency: true,
    durationMinutes: 60,
    startAt: FROM,
    endAt: UNTIL,
    scheduled: false,
    status: 'expired',
    approvalsRequired: 2,
    approvals: [],
    denial: null,
    cancellation: null,
    revocation: null,
    postReview: null,
    extension: null,
    extensions: [],
    pendingUntil: FROM,
    endReason: 'expired',
    createdAt: FROM,
    updatedAt: UNTIL,
    version: 3,
    ...overrides,
  };
}

function issued(
  seq: number,
  type: AuditEvent['type'],
  time: string,
  data: Record<string, unknown>,
): AuditEvent {
  return {
    seq,
    id: `evt_${seq}`,
    time,
    type,
    actor: { type: 'user', subject: 'sub-alice', email: 'alice@example.com', via: 'cli' },
    requestId: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
    roleId: 'prod-admin',
    accountId: GRANT.accountId,
    data,
    simulated: false,
    prevHash: 'x',
    hash: 'y',
  };
}

const EVENTS: AuditEvent[] = [
  issued(5, 'credentials.issued', '2026-11-22T10:00:30.000Z', {
    accessKeyId: KEY_1,
    stsExpiration: '2026-11-22T11:00:30.000Z',
    roleSessionName: GRANT.roleSessionName,
    sourceIdentity: GRANT.sourceIdentity,
  }),
  issued(9, 'credentials.issued', '2026-11-22T10:20:00.000Z', {
    accessKeyId: KEY_2,
    stsExpiration: STS_EXPIRY,
    roleSessionName: GRANT.roleSessionName,
    sourceIdentity: GRANT.sourceIdentity,
  }),
  // Another request's key must not become this grant's.
  {
    ...issued(10, 'credentials.issued', '2026-11-22T10:21:00.000Z', { accessKeyId: 'ASIAOTHERREQUEST0001' }),
    requestId: 'req_other',
  },
];

const TRAIL = grantTrail(request(), EVENTS);
const SCENARIO = grantActivityScenario({
  grant: GRANT,
  secondKey: KEY_2,
  from: FROM,
  until: UNTIL,
  attributableUntil: TRAIL.attributableUntil,
});

function summarize(trail: GrantTrail, records: TrailRecord[]) {
  const summarizer = new ActivitySummarizer(trail);
  for (const record of records) if (belongsToGrant(record, trail)) summarizer.push(record);
  return summarizer.build();
}

describe('grantTrail: the grant as CloudTrail sees it', () => {
  it('collects the keys the grant issued, its session name and SourceIdentity, and its sessions’ last moment', () => {
    expect(TRAIL).toEqual({
      requestId: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
      accountId: GRANT.accountId,
      roleArn: GRANT.roleArn,
      sourceIdentity: 'alice@example.com',
      roleSessionName: GRANT.roleSessionName,
      accessKeyIds: [KEY_1, KEY_2],
      window: { from: FROM, to: UNTIL },
      endedBy: 'expired',
      attributableUntil: STS_EXPIRY,
    });
  });

  it('ends the window at a revocation and keeps console sessions attributable for their hour', () => {
    const revokedAt = '2026-11-22T10:40:00.000Z';
    const trail = grantTrail(
      request({
        status: 'revoked',
        revocation: { by: { subject: 's', email: 'bob@example.com' }, at: revokedAt, reason: 'x' },
      }),
      [issued(3, 'console.issued', '2026-11-22T10:30:00.000Z', { accessKeyId: 'ASIACONSOLEKEY000001' })],
    );
    expect(trail.window).toEqual({ from: FROM, to: revokedAt });
    expect(trail.endedBy).toBe('revoked');
    expect(trail.accessKeyIds).toEqual(['ASIACONSOLEKEY000001']);
    expect(trail.attributableUntil).toBe('2026-11-22T11:30:00.000Z');
  });

  it('refuses requests that never granted access', () => {
    for (const status of ['pending', 'denied', 'cancelled'] as const) {
      const attempt = () => grantTrail(request({ status, startAt: null, endAt: null }), []);
      expect(attempt).toThrow(DomainError);
      try {
        attempt();
      } catch (error) {
        expect((error as DomainError).code).toBe('invalid_state');
      }
    }
  });
});

describe('the join: exactly the grant’s own records', () => {
  const records = (calls: typeof SCENARIO.mine) => calls.map(trailRecord);

  it('attributes every call of the grant (CLI keys, console sign-in and console calls) and nothing else', () => {
    const all = [...records(SCENARIO.mine), ...records(SCENARIO.foreign), ...records(SCENARIO.outside)];
    const attributed = all.filter((record) => belongsToGrant(record, TRAIL)).map((r) => r.eventID);
    expect(attributed.sort()).toEqual(
      records(SCENARIO.mine)
        .map((r) => r.eventID)
        .sort(),
    );
  });

  it('attributes none of another person’s calls on the same role in the same minutes', () => {
    for (const record of records(SCENARIO.foreign))
      expect(belongsToGrant(record, TRAIL), record.eventName).toBe(false);
  });

  it('needs both SourceIdentity and session name when the key is not one the grant issued', () => {
    const [call] = SCENARIO.mine;
    const withoutKey = { ...GRANT, accessKeyId: 'ASIACONSOLEKEY999999' };
    expect(belongsToGrant(trailRecord({ ...call!, who: withoutKey }), TRAIL)).toBe(true);
    expect(
      belongsToGrant(
        trailRecord({ ...call!, who: { ...withoutKey, sourceIdentity: 'mallory@example.com' } }),
        TRAIL,
      ),
    ).toBe(false);
    expect(
      belongsToGrant(trailRecord({ ...call!, who: { ...withoutKey, sourceIdentity: null } }), TRAIL),
    ).toBe(false);
    expect(
      belongsToGrant(
        trailRecord({ ...call!, who: { ...withoutKey, roleSessionName: 'alice.req_other' } }),
        TRAIL,
      ),
    ).toBe(false);
    expect(
      belongsToGrant(
        trailRecord({ ...call!, who: { ...withoutKey, roleArn: 'arn:aws:iam::123456789012:role/other' } }),
        TRAIL,
      ),
    ).toBe(false);
  });

  it('includes both window edges and nothing beyond them', () => {
    const call = SCENARIO.mine[1]!;
    const at = (time: string) => belongsToGrant(trailRecord({ ...call, time }), TRAIL);
    expect(at(FROM)).toBe(true);
    expect(at(TRAIL.attributableUntil)).toBe(true);
    expect(at('2026-11-22T09:59:59.000Z')).toBe(false);
    expect(at('2026-11-22T11:20:01.000Z')).toBe(false);
  });

  it('counts a call in the grant’s first second although CloudTrail drops the milliseconds', () => {
    const trail = { ...TRAIL, window: { ...TRAIL.window, from: '2026-11-22T10:00:00.700Z' } };
    expect(
      belongsToGrant(trailRecord({ ...SCENARIO.mine[1]!, time: '2026-11-22T10:00:00.700Z' }), trail),
    ).toBe(true);
  });
});

describe('the summary', () => {
  const summary = summarize(
    TRAIL,
    [...SCENARIO.mine, ...SCENARIO.foreign, ...SCENARIO.outside].map(trailRecord),
  );

  it('counts the grant’s calls by service and action, reads and writes, errors and AccessDenied', () => {
    expect(summary.records).toBe(SCENARIO.mine.length);
    expect(summary.byService).toEqual({
      sts: 2,
      ec2: 4,
      iam: 4,
      cloudtrail: 1,
      signin: 1,
      s3: 4,
      kms: 1,
      organizations: 1,
      guardduty: 1,
      securityhub: 1,
      config: 1,
    });
    expect(summary.byAction['iam:PutRolePolicy']).toBe(1);
    expect(summary.byAction['s3:ListBuckets']).toBe(2);
    expect(summary.byAction['iam:DeleteUser']).toBeUndefined();
    // Reads: GetCallerIdentity ×2, DescribeSecurityGroups, DescribeInstances, ListBuckets ×2.
    expect(summary.reads).toBe(6);
    expect(summary.unclassified).toBe(1);
    expect(summary.writes).toBe(SCENARIO.mine.length - 7);
    expect(summary.errors).toBe(5);
    expect(summary.accessDenied).toBe(5);
    expect(summary.console).toEqual({ signIns: 1, calls: 1 });
    expect(summary.firstCall).toBe('2026-11-22T10:00:00Z');
  });

  it('shows that calls after the end were refused, GetCallerIdentity aside', () => {
    expect(summary.afterEnd.endedBy).toBe('expired');
    expect(summary.afterEnd.refused).toBe(3);
    expect(summary.afterEnd.allowed).toBe(0);
    expect(summary.afterEnd.calls.map((c) => c.eventName)).toEqual([
      'ListBuckets',
      'DescribeInstances',
      'ListBuckets',
    ]);
  });

  it('reports a call that was allowed after the end', () => {
    const late = trailRecord({
      ...SCENARIO.mine[1]!,
      time: '2026-11-22T11:05:00.000Z',
      eventId: 'late-allowed',
    });
    const result = summarize(TRAIL, [late]);
    expect(result.afterEnd).toMatchObject({
      refused: 0,
      allowed: 1,
      calls: [{ eventId: 'late-allowed', errorCode: null }],
    });
  });

  it('raises one finding per checklist call, each with its event id, time, outcome and target', () => {
    expect(summary.findings.map((f) => f.kind)).toEqual([
      'security-group-change',
      'iam-policy-change',
      'iam-access-key-change',
      'cloudtrail-tampering',
      's3-bucket-policy-change',
      'kms-key-deletion',
      's3-public-access-change',
      'organizations-change',
      'guardduty-tampering',
      'securityhub-tampering',
      'config-tampering',
      'iam-role-change',
      'iam-user-change',
    ]);
    const byKind = new Map(summary.findings.map((f) => [f.kind, f]));
    const stop = trailRecord(SCENARIO.mine.find((c) => c.eventName === 'StopLogging')!);
    expect(byKind.get('cloudtrail-tampering')).toEqual({
      kind: 'cloudtrail-tampering',
      eventName: 'StopLogging',
      eventSource: 'cloudtrail.amazonaws.com',
      eventId: stop.eventID,
      time: stop.eventTime,
      region: 'us-east-1',
      outcome: 'failed',
      errorCode: 'AccessDenied',
      target: 'org-trail',
    });
    expect(byKind.get('iam-policy-change')).toMatchObject({ outcome: 'succeeded', target: 'app-deploy' });
    expect(byKind.get('kms-key-deletion')).toMatchObject({ region: 'eu-west-1' });
    expect(new Set(summary.findings.map((f) => f.kind))).toEqual(
      new Set(FINDING_RULES.map((rule) => rule.kind)),
    );
  });

  it('ignores a record delivered twice', () => {
    const record = trailRecord(SCENARIO.mine[3]!);
    const result = summarize(TRAIL, [record, { ...record }]);
    expect(result.records).toBe(1);
    expect(result.findings).toHaveLength(1);
  });
});

describe('the checklist table', () => {
  it.each(FINDING_RULES.map((rule) => [rule.kind, rule] as const))(
    '%s: every listed call raises it',
    (kind, rule) => {
      for (const eventName of rule.eventNames) {
        const finding = findingFor(
          trailRecord({ who: GRANT, time: FROM, eventSource: rule.eventSource, eventName }),
        );
        expect(finding?.kind, `${rule.eventSource} ${eventName}`).toBe(kind);
      }
    },
  );

  it('raises nothing for reads, or for the same name on another service', () => {
    expect(
      findingFor(
        trailRecord({ who: GRANT, time: FROM, eventSource: 'iam.amazonaws.com', eventName: 'GetRolePolicy' }),
      ),
    ).toBeNull();
    expect(
      findingFor(
        trailRecord({
          who: GRANT,
          time: FROM,
          eventSource: 'ec2.amazonaws.com',
          eventName: 'DescribeSecurityGroups',
        }),
      ),
    ).toBeNull();
    expect(
      findingFor(
        trailRecord({ who: GRANT, time: FROM, eventSource: 'iam.amazonaws.com', eventName: 'AttachPolicy' }),
      ),
    ).toBeNull();
  });
});

describe('docs/audit.md', () => {
  it('lists exactly the checklist kinds of FINDING_RULES, each with its service', () => {
    const doc = readFileSync(new URL('../../docs/audit.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z0-9-]+)` \| ([a-z0-9]+) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(FINDING_RULES.map((rule) => [rule.kind, rule.eventSource.split('.')[0]]));
  });
});

describe('the log layout', () => {
  it('reads the day folders from the window start to its end plus the delivery delay, across midnight', () => {
    const plan = readPlan('2026-11-22T23:30:12.000Z', '2026-11-22T23:50:00.000Z', 15);
    expect(plan).toEqual({
      deliveredFrom: '2026-11-22T23:30:00.000Z',
      deliveredUntil: '2026-11-23T00:05:00.000Z',
      days: ['2026/11/22/', '2026/11/23/'],
    });
  });

  it('selects only the account’s, region’s and window’s files', () => {
    const plan = readPlan(FROM, STS_EXPIRY, 15);
    const key = (account: string, region: string, stamp: string) =>
      `AWSLogs/o-abc1234567/${account}/CloudTrail/${region}/2026/11/22/${account}_CloudTrail_${region}_${stamp}_ABCDEF0123456789.json.gz`;
    expect(parseLogFileKey(key('123456789012', 'us-east-1', '20261122T1005Z'))).toEqual({
      accountId: '123456789012',
      region: 'us-east-1',
      deliveredAt: '2026-11-22T10:05:00.000Z',
    });
    expect(
      inPlan(key('123456789012', 'us-east-1', '20261122T1000Z'), '123456789012', 'us-east-1', plan),
    ).toBe(true);
    expect(
      inPlan(key('123456789012', 'us-east-1', '20261122T1135Z'), '123456789012', 'us-east-1', plan),
    ).toBe(true);
    expect(
      inPlan(key('123456789012', 'us-east-1', '20261122T1136Z'), '123456789012', 'us-east-1', plan),
    ).toBe(false);
    expect(
      inPlan(key('123456789012', 'us-east-1', '20261122T0955Z'), '123456789012', 'us-east-1', plan),
    ).toBe(false);
    expect(
      inPlan(key('210987654321', 'us-east-1', '20261122T1005Z'), '123456789012', 'us-east-1', plan),
    ).toBe(false);
    expect(
      inPlan(key('123456789012', 'eu-west-1', '20261122T1005Z'), '123456789012', 'us-east-1', plan),
    ).toBe(false);
    expect(
      inPlan(
        'AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/22/x.json.gz',
        '123456789012',
        'us-east-1',
        plan,
      ),
    ).toBe(false);
  });
});

describe('RecordSplitter', () => {
  const records = [
    trailRecord(SCENARIO.mine[3]!),
    {
      ...trailRecord(SCENARIO.mine[5]!),
      requestParameters: { tricky: 'a "quoted" {brace} [x] \\ back\\\\slash \\"', empty: '' },
    },
    trailRecord(SCENARIO.foreign[0]!),
  ];
  const file = Buffer.from(JSON.stringify({ Records: records }));

  it.each([1, 2, 3, 7, 64, 1000, file.length])('gives every record whole with %i-byte chunks', (size) => {
    const seen: unknown[] = [];
    const splitter = new RecordSplitter((bytes) => seen.push(JSON.parse(bytes.toString('utf8'))));
    for (let offset = 0; offset < file.length; offset += size)
      splitter.push(file.subarray(offset, offset + size));
    splitter.end();
    expect(seen).toEqual(records);
  });

  it('splits generated gzip log files back into their records', () => {
    const generatedFiles = trailFiles(SCENARIO.foreign.slice(0, 3).map((call) => ({ ...call, time: FROM })));
    expect(generatedFiles).toHaveLength(1);
    const [generated] = generatedFiles;
    const seen: TrailRecord[] = [];
    const splitter = new RecordSplitter((bytes) =>
      seen.push(JSON.parse(bytes.toString('utf8')) as TrailRecord),
    );
    splitter.push(gunzipSync(generated!.body));
    splitter.end();
    expect(seen.map((r) => r.eventName)).toEqual(['PutRolePolicy', 'DeleteTrail', 'ConsoleLogin']);
  });

  it('refuses a file cut off in the middle of a record', () => {
    const splitter = new RecordSplitter(() => {});
    splitter.push(file.subarray(0, file.length - 40));
    expect(() => splitter.end()).toThrow(SyntaxError);
  });
});
