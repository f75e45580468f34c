import { CreateScheduleCommand, DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import {
  AssumeRoleCommand,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  RegionDisabledException,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { beforeEach, describe, expect, it } from 'vitest';
import { DomainError, ERROR_STATUS } from '../../api/domain/errors.js';
import { sessionPolicy } from '../../api/domain/policies.js';
import { harness, settle } from './aws-support.js';
import {
  activeGrant,
  config,
  eventsOf,
  type Harness,
  ROLE_ARN,
  statefulIam,
  stsAnswers,
} from './grant-fixtures.js';
import { alice, bob, isoAt, NOW } from './support.js';

describe('credentials', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
  });

  it('an ordinary grant: exact AssumeRole input, Expiration = STS expiry, credentials.issued', async () => {
    stsAnswers(h);
    const grant = await activeGrant(h, 120);
    const credentials = await h.grants.issueCredentials(alice, grant.id);

    const calls = h.sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      RoleArn: ROLE_ARN,
      RoleSessionName: `alice.${grant.id}`,
      SourceIdentity: 'alice@example.com',
      Tags: [
        { Key: 'breakglass:request', Value: grant.id },
        { Key: 'breakglass:requester', Value: 'alice@example.com' },
      ],
      ExternalId: 'bg-prod',
      // With managed session policies the inline one only denies: its Allow would union with theirs.
      Policy:
        '{"Version":"2012-10-17","Statement":[{"Sid":"BreakglassHardStop","Effect":"Deny","Action":"*",' +
        '"Resource":"*","Condition":{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-22T12:00:00Z"}}},' +
        '{"Sid":"BreakglassNoRoleChaining","Effect":"Deny","Action":["sts:AssumeRole","sts:AssumeRoleWithSAML",' +
        '"sts:AssumeRoleWithWebIdentity","sts:AssumeRoot","sts:GetFederationToken","sts:GetSessionToken"],' +
        '"Resource":"*"}]}',
      PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
      DurationSeconds: 3600,
    });
    expect(credentials).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAEXAMPLE1',
      SecretAccessKey: 'secret-1',
      SessionToken: 'token-1',
      Expiration: isoAt(60),
    });
    const [issued] = eventsOf(h, 'credentials.issued', grant.id);
    expect(issued!.data).toEqual({
      accessKeyId: 'ASIAEXAMPLE1',
      expiration: isoAt(60),
      stsExpiration: isoAt(60),
      stsRequestId: 'sts-request-1',
      sessionPolicy: sessionPolicy(isoAt(120), { managedSessionPolicies: true, allowRoleChaining: false }),
      policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      allowRoleChaining: false,
      durationSeconds: 3600,
      roleSessionName: `alice.${grant.id}`,
      sourceIdentity: 'alice@example.com',
      assumedRoleArn: `${ROLE_ARN}/alice`,
      packedPolicySize: 12,
    });
    expect(JSON.stringify(h.store.events)).not.toMatch(/secret-1|token-1/);
  });

  it('a grant ending in under 15 minutes: DurationSeconds 900 and Expiration = grant end', async () => {
    stsAnswers(h, 900);
    const grant = await activeGrant(h, 10);
    h.clock.advanceMinutes(4);
    const credentials = await h.grants.issueCredentials(alice, grant.id);
    const input = h.sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input;
    expect(input.DurationSeconds).toBe(900);
    expect(input.Policy).toContain('"aws:CurrentTime":"2026-11-22T10:10:00Z"');
    expect(credentials.Expiration).toBe(isoAt(10));
  });

  it('after an extension the session policy ends at the new end; schedules move with it', async () => {
    stsAnswers(h);
    const grant = await activeGrant(h, 30);
    h.clock.advanceMinutes(10);
    await h.requests.extend(alice, grant.id, { durationMinutes: 30, reason: 'still on it' });
    const extended = await h.requests.approve(bob, grant.id, null);
    expect(extended.endAt).toBe(isoAt(60));
    await settle();
    await h.grants.issueCredentials(alice, grant.id);
    const input = h.sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input;
    expect(input.Policy).toBe(
      sessionPolicy(isoAt(60), { managedSessionPolicies: true, allowRoleChaining: false }),
    );
    expect(input.DurationSeconds).toBe(3000);

    const created = h.scheduler.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input.Name);
    const deleted = h.scheduler.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input);
    expect(created).toContain(`bg-${grant.id}-exp-202611221100`);
    expect(deleted).toContainEqual({ Name: `bg-${grant.id}-exp-202611221030`, GroupName: 'breakglass' });
  });

  it('checks eligibility on every call: a token without the requester group is refused before AWS', async () => {
    stsAnswers(h);
    const grant = await activeGrant(h, 60);
    const leftTeam = { ...alice, groups: [] };
    await expect(h.grants.issueCredentials(leftTeam, grant.id)).rejects.toMatchObject({
      code: 'not_requester',
    });
    await expect(h.grants.issueCredentials(bob, grant.id)).rejects.toMatchObject({ code: 'forbidden' });
    expect(h.sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(eventsOf(h, 'credentials.refused', grant.id).map((event) => event.data.reason)).toEqual([
      'not_requester',
      'forbidden',
    ]);
    // One refused fetch is one audit event: credentials.refused, never also access.forbidden.
    expect(eventsOf(h, 'access.forbidden', grant.id)).toHaveLength(0);
  });

  it('requires MFA when oidc.requireMfa is set', async () => {
    h = harness(config(true));
    h.scheduler.on(CreateScheduleCommand).resolves({});
    stsAnswers(h);
    const grant = await activeGrant(h, 60);
    await expect(h.grants.issueCredentials({ ...alice, mfa: false }, grant.id)).rejects.toMatchObject({
      code: 'mfa_required',
    });
    await expect(h.grants.issueCredentials(alice, grant.id)).resolves.toMatchObject({ Version: 1 });
  });

  it('refuses outside [start, end): at the end, before the sweeper has expired it', async () => {
    stsAnswers(h);
    const grant = await activeGrant(h, 30);
    h.clock.advanceMinutes(30);
    await expect(h.grants.issueCredentials(alice, grant.id)).rejects.toMatchObject({
      code: 'grant_not_active',
      // Not `status`: in a problem document that member is the HTTP status.
      extra: { requestStatus: 'active', startAt: grant.startAt, endAt: grant.endAt },
    });
    expect(h.sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('a revocation that commits while AssumeRole is in flight wins: the credentials are not handed out', async () => {
    const grant = await activeGrant(h, 60);
    statefulIam(h);
    h.sts.on(AssumeRoleCommand).callsFake(async () => {
      await h.requests.revoke(bob, grant.id, 'incident over');
      return {
        Credentials: {
          AccessKeyId: 'ASIARACE',
          SecretAccessKey: 's',
          SessionToken: 't',
          Expiration: new Date(NOW.getTime() + 3600_000),
        },
        $metadata: {},
      };
    });
    const refusal = await h.grants.issueCredentials(alice, grant.id).catch((caught: unknown) => caught);
    expect(refusal).toMatchObject({ code: 'grant_not_active', extra: { requestStatus: 'revoked' } });
    expect((refusal as DomainError).extra).not.toHaveProperty('status');
    expect(eventsOf(h, 'credentials.issued', grant.id)).toHaveLength(0);
  });

  it('a revocation that commits after AssumeRole and before credentials.issued wins: 409, nothing handed out', async () => {
    stsAnswers(h);
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    // The revoke lands in the last gap: after every check and after AssumeRole, just before the issue commits.
    const append = h.store.appendEvents.bind(h.store);
    h.store.appendEvents = async (drafts, effects, guard) => {
      if (drafts.some((draft) => draft.type === 'credentials.issued')) {
        await h.requests.revoke(bob, grant.id, 'incident over');
      }
      return append(drafts, effects, guard);
    };
    const refusal = await h.grants.issueCredentials(alice, grant.id).catch((caught: unknown) => caught);
    expect(refusal).toMatchObject({ code: 'grant_not_active', extra: { requestStatus: 'revoked' } });
    expect(h.sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(eventsOf(h, 'credentials.issued', grant.id)).toHaveLength(0);
    const types = h.store.events.filter((event) => event.requestId === grant.id).map((event) => event.type);
    expect(types.indexOf('credentials.refused')).toBeGreaterThan(types.indexOf('grant.revoked'));
    expect(eventsOf(h, 'credentials.refused', grant.id)[0]!.data).toMatchObject({
      purpose: 'credentials',
      reason: 'grant_not_active',
    });
  });

  it('a change that leaves the grant active (an extension asked for) does not stop the issue', async () => {
    const grant = await activeGrant(h, 60);
    h.sts.on(AssumeRoleCommand).callsFake(async () => {
      await h.requests.extend(alice, grant.id, { durationMinutes: 30, reason: 'still on it' });
      return {
        Credentials: {
          AccessKeyId: 'ASIAEXTEND',
          SecretAccessKey: 's',
          SessionToken: 't',
          Expiration: new Date(NOW.getTime() + 3600_000),
        },
        $metadata: {},
      };
    });
    const before = (await h.store.getRequest(grant.id))!.version;
    const credentials = await h.grants.issueCredentials(alice, grant.id);
    expect(credentials.AccessKeyId).toBe('ASIAEXTEND');
    expect(eventsOf(h, 'credentials.issued', grant.id)).toHaveLength(1);
    // The extension request moved the version once, the guarded issue once more.
    expect((await h.store.getRequest(grant.id))!.version).toBe(before + 2);
  });

  const stsError = (name: string) =>
    new STSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

  it.each([
    ['AccessDenied', 'aws_access_denied', 502, stsError('AccessDenied')],
    [
      'MalformedPolicyDocument',
      'aws_policy_rejected',
      502,
      new MalformedPolicyDocumentException({ $metadata: {}, message: 'bad' }),
    ],
    [
      'PackedPolicyTooLarge',
      'aws_policy_too_large',
      502,
      new PackedPolicyTooLargeException({ $metadata: {}, message: 'big' }),
    ],
    [
      'RegionDisabled',
      'aws_region_disabled',
      502,
      new RegionDisabledException({ $metadata: {}, message: 'off' }),
    ],
    ['Throttling', 'aws_throttled', 503, stsError('Throttling')],
    ['ConflictException', 'aws_conflict', 502, stsError('ConflictException')],
  ] as const)(
    '%s from STS → %s (%i), credentials.refused, nothing issued, grant unchanged',
    async (_name, code, status, error) => {
      h.sts.on(AssumeRoleCommand).rejects(error);
      const grant = await activeGrant(h, 60);
      const before = await h.store.getRequest(grant.id);
      const failure = await h.grants.issueCredentials(alice, grant.id).catch((caught: unknown) => caught);
      expect(failure).toBeInstanceOf(DomainError);
      expect((failure as DomainError).code).toBe(code);
      expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS]).toBe(status);
      expect((failure as DomainError).extra.awsError).toBe(error.name);
      const [refusal] = eventsOf(h, 'credentials.refused', grant.id);
      expect(refusal!.data).toMatchObject({ purpose: 'credentials', reason: code, awsError: error.name });
      expect(eventsOf(h, 'credentials.issued')).toHaveLength(0);
      expect(await h.store.getRequest(grant.id)).toEqual(before);
    },
  );
});

describe('console', () => {
  it('exact federation call and URL; no SessionDuration with the chained credentials', async () => {
    const h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    stsAnswers(h);
    const grant = await activeGrant(h, 20);
    h.clock.advanceMinutes(2);
    const session = await h.grants.openConsole(alice, grant.id);

    const call = new URL(h.fetchCalls[0]!);
    expect(`${call.origin}${call.pathname}`).toBe('https://signin.aws.amazon.com/federation');
    expect(call.searchParams.get('Action')).toBe('getSigninToken');
    // getSigninToken refuses SessionDuration with chained credentials (HTTP 400); the broker's always are.
    expect(call.searchParams.has('SessionDuration')).toBe(false);
    expect([...call.searchParams.keys()].sort()).toEqual(['Action', 'Session']);
    expect(JSON.parse(call.searchParams.get('Session')!)).toEqual({
      sessionId: 'ASIAEXAMPLE1',
      sessionKey: 'secret-1',
      sessionToken: 'token-1',
    });
    const url = new URL(session.url);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: 'login',
      Issuer: 'https://breakglass.example.com',
      Destination: 'https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1',
      SigninToken: 'SECRET-SIGNIN-TOKEN',
    });
    expect(session.expiresAt).toBe(isoAt(20));
    expect(session.simulated).toBe(false);
    const [issued] = eventsOf(h, 'console.issued', grant.id);
    expect(issued!.data).toMatchObject({
      durationSeconds: 1080,
      expiresAt: isoAt(20),
      allowRoleChaining: false,
    });
    expect(JSON.stringify(h.store.events)).not.toMatch(/SECRET-SIGNIN-TOKEN|secret-1|token-1/);
  });

  it('a revocation that commits before console.issued does: 409 grant_not_active, no URL', async () => {
    const h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    stsAnswers(h);
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    const append = h.store.appendEvents.bind(h.store);
    h.store.appendEvents = async (drafts, effects, guard) => {
      if (drafts.some((draft) => draft.type === 'console.issued')) {
        await h.requests.revoke(bob, grant.id, 'incident over');
      }
      return append(drafts, effects, guard);
    };
    await expect(h.grants.openConsole(alice, grant.id)).rejects.toMatchObject({ code: 'grant_not_active' });
    expect(eventsOf(h, 'console.issued')).toHaveLength(0);
    expect(eventsOf(h, 'credentials.refused', grant.id)[0]!.data).toMatchObject({
      purpose: 'console',
      reason: 'grant_not_active',
    });
  });

  it('a federation failure is a 502 aws_federation_failed and a recorded refusal', async () => {
    const h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    stsAnswers(h);
    const grant = await activeGrant(h, 60);
    // Swap in a federation endpoint that answers 400.
    (
      h.grants as unknown as { deps: { aws: { federation: { fetchImpl: typeof fetch } } } }
    ).deps.aws.federation.fetchImpl = (async () =>
      new Response('Bad Request', { status: 400 })) as unknown as typeof fetch;
    await expect(h.grants.openConsole(alice, grant.id)).rejects.toMatchObject({
      code: 'aws_federation_failed',
    });
    const [refusal] = eventsOf(h, 'credentials.refused', grant.id);
    expect(refusal!.data).toMatchObject({ purpose: 'console', reason: 'aws_federation_failed' });
    expect(eventsOf(h, 'console.issued')).toHaveLength(0);
  });
});
