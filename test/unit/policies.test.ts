import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import {
  atExpression,
  buildRevocationPolicy,
  INLINE_POLICY_BUDGET,
  iamTime,
  parseRevocationPolicy,
  policySize,
  REQUEST_TAG,
  type RevocationEntry,
  revocationAliveUntil,
  roleSessionName,
  SESSION_POLICY_LIMIT,
  scheduleName,
  sessionDurationSeconds,
  sessionPolicy,
  sessionTagValue,
  sourceIdentity,
} from '../../api/domain/policies.js';

const ROLE_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
const SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/breakglass-prod-admin/alice.req_1';

/**
 * Effective permission of a role session: the role's policies (plus any inline revocation policy) AND the
 * session policy must both allow. iam-simulate does not model session policies, so each is evaluated as an
 * identity policy on its own.
 */
async function sessionMay(options: {
  at: string;
  session?: string;
  revocation?: string | null;
  tag?: string;
  issuedAt?: string;
}): Promise<boolean> {
  const context: Record<string, string> = { 'aws:CurrentTime': options.at };
  if (options.tag) context[`aws:PrincipalTag/${REQUEST_TAG}`] = options.tag;
  if (options.issuedAt) context['aws:TokenIssueTime'] = options.issuedAt;
  const evaluate = async (policies: Array<{ name: string; policy: unknown }>) => {
    const result = await runSimulation(
      {
        request: {
          principal: SESSION_ARN,
          action: 's3:ListBucket',
          resource: { resource: 'arn:aws:s3:::prod-data', accountId: '123456789012' },
          contextVariables: context,
        },
        identityPolicies: policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (!('overallResult' in result)) throw new Error(`simulation failed: ${JSON.stringify(result)}`);
    return result.overallResult;
  };
  const rolePolicies = [
    { name: 'admin', policy: ROLE_POLICY },
    ...(options.revocation
      ? [{ name: 'breakglass-revocations', policy: JSON.parse(options.revocation) }]
      : []),
  ];
  const role = await evaluate(rolePolicies);
  const session = options.session
    ? await evaluate([{ name: 'session', policy: JSON.parse(options.session) }])
    : 'Allowed';
  return role === 'Allowed' && session === 'Allowed';
}

const plusSeconds = (at: string, seconds: number) =>
  new Date(new Date(at).getTime() + seconds * 1000).toISOString();

const ACCOUNT = '123456789012';
const CLOSED = { managedSessionPolicies: false, allowRoleChaining: false };
/** A role's `sessionPolicyArns`, e.g. a read-only managed policy meant to narrow an admin role. */
const MANAGED_READ_ONLY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket', 'iam:GetRole'], Resource: '*' }],
};

/**
 * One request by a break-glass session, evaluated the way AWS does: the role's policies AND the session
 * policies (the inline one plus any managed ones, which AWS evaluates together as one set of statements),
 * optionally against a resource policy. The role here is an administrator, so only the session policies decide.
 */
async function sessionDecision(options: {
  action: string;
  resource: string;
  at: string;
  inline: string;
  managed?: Array<{ Statement: unknown[] }>;
  resourcePolicy?: unknown;
}): Promise<string> {
  const inline = JSON.parse(options.inline) as { Statement: unknown[] };
  const result = await runSimulation(
    {
      request: {
        principal: SESSION_ARN,
        action: options.action,
        resource: { resource: options.resource, accountId: ACCOUNT },
        contextVariables: {
          'aws:CurrentTime': options.at,
          'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/breakglass-prod-admin`,
        },
      },
      identityPolicies: [{ name: 'AdministratorAccess', policy: ROLE_POLICY }],
      sessionPolicy: {
        Version: '2012-10-17',
        Statement: [...inline.Statement, ...(options.managed ?? []).flatMap((policy) => policy.Statement)],
      },
      ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (!('overallResult' in result)) throw new Error(`simulation failed: ${JSON.stringify(result)}`);
  return result.overallResult;
}

describe('session policy', () => {
  const end = '2026-05-01T12:30:00.000Z';
  const object = 'arn:aws:s3:::prod-data/report.csv';
  const otherRole = 'arn:aws:iam::210987654321:role/OrganizationAccountAccessRole';

  it('without managed session policies: Allow * before the end, Deny * from the end second, no chaining', () => {
    expect(JSON.parse(sessionPolicy(end, CLOSED))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'BreakglassUntilGrantEnd',
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { DateLessThan: { 'aws:CurrentTime': '2026-05-01T12:30:00Z' } },
        },
        {
          Sid: 'BreakglassHardStop',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': '2026-05-01T12:30:00Z' } },
        },
        {
          Sid: 'BreakglassNoRoleChaining',
          Effect: 'Deny',
          Action: [
            'sts:AssumeRole',
            'sts:AssumeRoleWithSAML',
            'sts:AssumeRoleWithWebIdentity',
            'sts:AssumeRoot',
            'sts:GetFederationToken',
            'sts:GetSessionToken',
          ],
          Resource: '*',
        },
      ],
    });
  });

  it('with managed session policies carries no Allow, so they narrow instead of uniting with it', () => {
    const statements = JSON.parse(sessionPolicy(end, { ...CLOSED, managedSessionPolicies: true })).Statement;
    expect(statements.map((statement: { Effect: string }) => statement.Effect)).toEqual(['Deny', 'Deny']);
  });

  it('stays within the 2,048-character plaintext limit in its largest configuration', () => {
    const sizes = [false, true].flatMap((managedSessionPolicies) =>
      [false, true].map(
        (allowRoleChaining) => sessionPolicy(end, { managedSessionPolicies, allowRoleChaining }).length,
      ),
    );
    // Measured: 558 (Allow + stop + no chaining), 343 (chaining allowed), 407 (managed), 192 (managed + chaining).
    expect(Math.max(...sizes)).toBe(sessionPolicy(end, CLOSED).length);
    expect(sessionPolicy(end, CLOSED).length).toBeLessThan(SESSION_POLICY_LIMIT);
  });

  it('rounds a fractional end down, so access never outlives the grant', () => {
    expect(iamTime('2026-05-01T12:30:00.999Z')).toBe('2026-05-01T12:30:00Z');
  });

  describe.each([
    ['without managed session policies', CLOSED, undefined],
    ['with a managed session policy', { ...CLOSED, managedSessionPolicies: true }, [MANAGED_READ_ONLY]],
  ])('%s', (_name, options, managed) => {
    const inline = sessionPolicy(end, options);
    const read = (at: string) =>
      sessionDecision({
        action: 's3:GetObject',
        resource: object,
        at,
        inline,
        ...(managed ? { managed } : {}),
      });

    it('allows s3:GetObject one second before the end', async () => {
      expect(await read(plusSeconds(end, -1))).toBe('Allowed');
    });

    it.each([0, 1, 600, 3600])('denies s3:GetObject explicitly at end + %is', async (seconds) => {
      expect(await read(plusSeconds(end, seconds))).toBe('ExplicitlyDenied');
    });

    it('denies a resource policy naming the session after the end (an Allow-only stop would not)', async () => {
      const bucketPolicy = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: SESSION_ARN }, Action: 's3:GetObject', Resource: object },
        ],
      };
      const at = plusSeconds(end, 60);
      const decide = (policy: string) =>
        sessionDecision({
          action: 's3:GetObject',
          resource: object,
          at,
          inline: policy,
          resourcePolicy: bucketPolicy,
          ...(managed ? { managed } : {}),
        });
      expect(await decide(inline)).toBe('ExplicitlyDenied');
    });

    it('denies chaining into another role, even before the end', async () => {
      for (const action of ['sts:AssumeRole', 'sts:GetFederationToken', 'sts:GetSessionToken']) {
        expect(
          await sessionDecision({
            action,
            resource: action === 'sts:AssumeRole' ? otherRole : '*',
            at: plusSeconds(end, -60),
            inline,
            managed: [
              { ...MANAGED_READ_ONLY, Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] },
            ],
          }),
        ).toBe('ExplicitlyDenied');
      }
    });
  });

  it('narrows to the managed session policy: what it does not allow is denied before the end', async () => {
    const inline = sessionPolicy(end, { ...CLOSED, managedSessionPolicies: true });
    const at = plusSeconds(end, -60);
    expect(
      await sessionDecision({
        action: 's3:PutObject',
        resource: object,
        at,
        inline,
        managed: [MANAGED_READ_ONLY],
      }),
    ).not.toBe('Allowed');
    expect(
      await sessionDecision({
        action: 's3:GetObject',
        resource: object,
        at,
        inline,
        managed: [MANAGED_READ_ONLY],
      }),
    ).toBe('Allowed');
  });

  it('lets a role that opts in chain before the end, and still stops the chaining call at the end', async () => {
    const inline = sessionPolicy(end, { ...CLOSED, allowRoleChaining: true });
    const assume = (at: string) =>
      sessionDecision({ action: 'sts:AssumeRole', resource: otherRole, at, inline });
    expect(await assume(plusSeconds(end, -1))).toBe('Allowed');
    expect(await assume(end)).toBe('ExplicitlyDenied');
  });
});

describe('STS parameters', () => {
  const now = new Date('2026-05-01T12:00:00.000Z');

  it.each([
    ['2026-05-01T12:00:30.000Z', 900],
    ['2026-05-01T12:14:59.000Z', 900],
    ['2026-05-01T12:15:00.000Z', 900],
    ['2026-05-01T12:20:00.500Z', 1201],
    ['2026-05-01T13:00:00.000Z', 3600],
    ['2026-05-01T16:00:00.000Z', 3600],
  ])('DurationSeconds for a grant ending at %s is %i', (endAt, seconds) => {
    expect(sessionDurationSeconds(now, endAt)).toBe(seconds);
  });

  it.each([
    ['alice@example.com', 'alice@example.com'],
    ["o'brien+ops@example.com", 'o-brien+ops@example.com'],
    ['aws:root@example.com', 'aws-root@example.com'],
    ['a', 'user-a'],
    ['jürgen@example.de', 'j-rgen@example.de'],
    [`${'x'.repeat(80)}@example.com`, 'x'.repeat(64)],
  ])('SourceIdentity for %s is %s', (email, expected) => {
    const value = sourceIdentity(email);
    expect(value).toBe(expected);
    expect(value).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(value.toLowerCase().startsWith('aws:')).toBe(false);
  });

  it('RoleSessionName names the person and the grant within 64 valid characters', () => {
    const id = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';
    expect(roleSessionName('alice@example.com', id)).toBe(`alice.${id}`);
    const long = roleSessionName(`${'y'.repeat(70)}@example.com`, id);
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(long.endsWith(id)).toBe(true);
    expect(roleSessionName('@example.com', id)).toBe(`bg.${id}`);
  });

  it('session tag values keep emails and replace what STS rejects', () => {
    expect(sessionTagValue('alice+ops@example.com')).toBe('alice+ops@example.com');
    expect(sessionTagValue("o'brien@example.com")).toBe('o-brien@example.com');
  });
});

describe('revocation policy', () => {
  const now = new Date('2026-05-01T12:00:00.000Z');
  const entry = (requestId: string, minutes = 30): RevocationEntry => ({
    requestId,
    aliveUntil: new Date(now.getTime() + minutes * 60_000).toISOString(),
    revokedAt: now.toISOString(),
  });

  it('denies a session tagged with a revoked id and allows one tagged with another id', async () => {
    const plan = buildRevocationPolicy({ entries: [entry('req_REVOKED')], now });
    expect(plan.fallback).toBe(false);
    expect(plan.denied).toEqual(['req_REVOKED']);
    const at = plusSeconds(now.toISOString(), 60);
    expect(await sessionMay({ at, revocation: plan.text, tag: 'req_REVOKED' })).toBe(false);
    expect(await sessionMay({ at, revocation: plan.text, tag: 'req_OTHER' })).toBe(true);
    // A session with both the grant-end session policy and the revocation: the revocation wins.
    expect(
      await sessionMay({
        at,
        session: sessionPolicy(plusSeconds(now.toISOString(), 1800), CLOSED),
        revocation: plan.text,
        tag: 'req_REVOKED',
      }),
    ).toBe(false);
  });

  it('groups several live grants, prunes expired ones and reads back what it wrote', () => {
    const plan = buildRevocationPolicy({
      entries: [entry('req_B', 20), entry('req_A', 25), entry('req_C', 70), entry('req_OLD', -1)],
      now,
    });
    expect(plan.denied).toEqual(['req_A', 'req_B', 'req_C']);
    expect(plan.pruned).toEqual(['req_OLD']);
    const document = JSON.parse(plan.text!);
    expect(document.Statement).toEqual([
      {
        Sid: 'RevokedUntil20260501T1230Z',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:PrincipalTag/breakglass:request': ['req_A', 'req_B'] },
          DateLessThan: { 'aws:CurrentTime': '2026-05-01T12:30:00Z' },
        },
      },
      {
        Sid: 'RevokedUntil20260501T1315Z',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:PrincipalTag/breakglass:request': ['req_C'] },
          DateLessThan: { 'aws:CurrentTime': '2026-05-01T13:15:00Z' },
        },
      },
    ]);
    const parsed = parseRevocationPolicy(plan.text);
    expect(parsed.entries.map((e) => e.requestId).sort()).toEqual(['req_A', 'req_B', 'req_C']);
    expect(parsed.cutoff).toBeNull();
  });

  it('an entry stops denying once its sessions cannot be alive', async () => {
    const plan = buildRevocationPolicy({ entries: [entry('req_X', 10)], now });
    const later = plusSeconds(now.toISOString(), 16 * 60);
    expect(await sessionMay({ at: later, revocation: plan.text, tag: 'req_X' })).toBe(true);
  });

  it('returns no policy when every entry has expired', () => {
    const plan = buildRevocationPolicy({ entries: [entry('req_OLD', -5)], now });
    expect(plan.text).toBeNull();
    expect(plan.pruned).toEqual(['req_OLD']);
  });

  it('falls back to an aws:TokenIssueTime cut-off for the whole role when the ids overflow the budget', async () => {
    const many = Array.from({ length: 400 }, (_, i) =>
      entry(`req_01JD3Y7S5Q7W8X9Y0Z1A2B${String(i).padStart(4, '0')}`, 30 + (i % 40)),
    );
    const plan = buildRevocationPolicy({ entries: many, now });
    expect(plan.fallback).toBe(true);
    expect(plan.denied).toEqual([]);
    expect(plan.size).toBeLessThanOrEqual(INLINE_POLICY_BUDGET);
    expect(plan.cutoff).toEqual({ issuedBefore: '2026-05-01T12:00:01Z', aliveUntil: many[39]!.aliveUntil });
    const at = plusSeconds(now.toISOString(), 60);
    // Sessions issued before the cut-off are denied whatever their tag; fresh ones work.
    expect(
      await sessionMay({ at, revocation: plan.text, tag: 'req_ANY', issuedAt: '2026-05-01T11:59:00Z' }),
    ).toBe(false);
    expect(
      await sessionMay({ at, revocation: plan.text, tag: 'req_ANY', issuedAt: '2026-05-01T12:00:30Z' }),
    ).toBe(true);
    expect(parseRevocationPolicy(plan.text).cutoff).toEqual({
      issuedBefore: '2026-05-01T12:00:01Z',
      aliveUntil: iamTime(many[39]!.aliveUntil),
    });
  });

  it('respects a smaller budget left by other inline policies', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(`req_${i}`));
    const roomy = buildRevocationPolicy({ entries, now });
    expect(roomy.fallback).toBe(false);
    const tight = buildRevocationPolicy({ entries, now, budget: policySize(roomy.text!) - 1 });
    expect(tight.fallback).toBe(true);
  });

  it('keeps a live cut-off and adds ids revoked after it', () => {
    const cutoff = { issuedBefore: '2026-05-01T11:50:00Z', aliveUntil: '2026-05-01T13:00:00.000Z' };
    const covered = { ...entry('req_OLD', 40), revokedAt: '2026-05-01T11:49:00.000Z' };
    const plan = buildRevocationPolicy({ entries: [covered, entry('req_NEW')], existingCutoff: cutoff, now });
    expect(plan.fallback).toBe(false);
    expect(plan.cutoff).toEqual(cutoff);
    expect(plan.denied).toEqual(['req_NEW']);
    expect(JSON.parse(plan.text!).Statement[0].Sid).toBe('RevokeOlderSessions');
  });

  it('an entry lives until the planned end, but at most 80 minutes after revocation', () => {
    expect(revocationAliveUntil(now, '2026-05-01T12:10:00.000Z')).toBe('2026-05-01T12:15:00.000Z');
    expect(revocationAliveUntil(now, '2026-05-01T16:00:00.000Z')).toBe('2026-05-01T13:20:00.000Z');
  });
});

describe('schedule identifiers', () => {
  const id = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';

  it('names fit Scheduler and double as ClientTokens', () => {
    const name = scheduleName(id, 'expire', '2026-05-01T12:30:00.000Z');
    expect(name).toBe(`bg-${id}-exp-202605011230`);
    expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    for (const transition of ['activate', 'expire', 'timeout', 'review_overdue'] as const) {
      expect(
        scheduleName(`req_${'Z'.repeat(60)}`, transition, '2026-05-01T12:30:00Z').length,
      ).toBeLessThanOrEqual(64);
    }
  });

  it('rounds up to the whole minute so a schedule never fires before the transition is due', () => {
    expect(atExpression('2026-05-01T12:30:00.000Z')).toBe('at(2026-05-01T12:30:00)');
    expect(atExpression('2026-05-01T12:30:00.001Z')).toBe('at(2026-05-01T12:31:00)');
    expect(scheduleName(id, 'expire', '2026-05-01T12:30:20Z')).toBe(`bg-${id}-exp-202605011231`);
  });
});
