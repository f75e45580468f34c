/** Early revocation (api/services/grants/revocation.ts). */
import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  LimitExceededException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateScheduleCommand, DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import { STSServiceException } from '@aws-sdk/client-sts';
import { beforeEach, describe, expect, it } from 'vitest';
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
import { alice, bob, isoAt, NOW, person } from './support.js';

const sam = person('sam', ['sre']);
describe('early revocation', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
  });

  const lastPolicy = () => {
    const puts = h.iam.commandCalls(PutRolePolicyCommand);
    return puts.at(-1)!.args[0].input;
  };

  it('several live grants: denies exactly the revoked ones, keeps the others working', async () => {
    statefulIam(h);
    const a = await activeGrant(h, 60);
    const b = await activeGrant(h, 120, sam);
    const c = await activeGrant(h, 60);
    await h.requests.revoke(bob, a.id, 'done');
    await settle();
    h.clock.advanceMinutes(5);
    await h.requests.revoke(bob, b.id, 'done');
    await settle();

    const input = lastPolicy();
    expect(input.RoleName).toBe('breakglass-prod-readonly');
    expect(input.PolicyName).toBe('breakglass-revocations');
    // a: planned end 11:00 (+5 min skew) → bucket 11:15; b: revoked 10:05 + 80 min = 11:25 → bucket 11:30.
    expect(JSON.parse(input.PolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RevokedUntil20261122T1115Z',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            StringEquals: { 'aws:PrincipalTag/breakglass:request': [a.id] },
            DateLessThan: { 'aws:CurrentTime': '2026-11-22T11:15:00Z' },
          },
        },
        {
          Sid: 'RevokedUntil20261122T1130Z',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            StringEquals: { 'aws:PrincipalTag/breakglass:request': [b.id] },
            DateLessThan: { 'aws:CurrentTime': '2026-11-22T11:30:00Z' },
          },
        },
      ],
    });
    expect(input.PolicyDocument).not.toContain(c.id);
    const applied = eventsOf(h, 'revocation.applied', b.id)[0]!;
    expect(applied.data).toMatchObject({
      fallback: false,
      policy: input.PolicyDocument,
      denied: [a.id, b.id],
    });
    expect(h.ledger.waiting.size).toBe(0);
  });

  it("writes the policy through IAM of the target role's own account when a revoker role is configured", async () => {
    const routed: Array<[string, string]> = [];
    h = harness(config(), (aws) => ({
      ...aws,
      iamForAccount: (accountId, partition) => {
        routed.push([accountId, partition]);
        return aws.iam;
      },
    }));
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
    stsAnswers(h);
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await settle();
    expect(routed.length).toBeGreaterThan(0);
    expect(new Set(routed.map(([account, partition]) => `${partition}:${account}`))).toEqual(
      new Set(['aws:123456789012']),
    );
    expect(lastPolicy().RoleName).toBe('breakglass-prod-readonly');
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
  });

  it('concurrent revocations on one role never lose an entry', async () => {
    statefulIam(h);
    const grants = await Promise.all([activeGrant(h, 60), activeGrant(h, 60, sam), activeGrant(h, 60)]);
    await Promise.all(grants.map((grant) => h.requests.revoke(bob, grant.id, 'cleanup')));
    await settle();
    await settle();
    const document = lastPolicy().PolicyDocument!;
    for (const grant of grants) expect(document).toContain(grant.id);
    expect(eventsOf(h, 'revocation.applied')).toHaveLength(3);
  });

  it('budget overflow: falls back to a role-wide aws:TokenIssueTime cut-off and says so', async () => {
    statefulIam(h);
    for (let i = 0; i < 300; i++) {
      await h.ledger.record({
        roleArn: ROLE_ARN,
        requestId: `req_01JD3Y7S5Q7W8X9Y0Z1A2B${String(i).padStart(4, '0')}`,
        revokedAt: NOW.toISOString(),
        aliveUntil: isoAt(45),
        retryAfter: isoAt(1),
      });
    }
    await h.ledger.settle([...h.ledger.entries.values()]);
    const grant = await activeGrant(h, 60);
    h.clock.advanceMinutes(1);
    await h.requests.revoke(bob, grant.id, 'done');
    await settle();
    expect(JSON.parse(lastPolicy().PolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RevokeOlderSessions',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            DateLessThan: {
              'aws:TokenIssueTime': '2026-11-22T10:01:01Z',
              'aws:CurrentTime': '2026-11-22T11:05:00Z',
            },
          },
        },
      ],
    });
    expect(eventsOf(h, 'revocation.applied', grant.id)[0]!.data).toMatchObject({
      fallback: true,
      cutoff: { issuedBefore: '2026-11-22T10:01:01Z' },
    });
  });

  it('IAM refusing the size (other inline policies) also falls back to the cut-off', async () => {
    const policies = statefulIam(h);
    let first = true;
    h.iam.on(PutRolePolicyCommand).callsFake((input) => {
      if (first) {
        first = false;
        throw new LimitExceededException({ $metadata: {}, message: 'too big' });
      }
      policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument);
      return {};
    });
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await settle();
    const puts = h.iam.commandCalls(PutRolePolicyCommand);
    expect(puts).toHaveLength(2);
    expect(puts[1]!.args[0].input.PolicyDocument).toContain('aws:TokenIssueTime');
    expect(eventsOf(h, 'revocation.applied', grant.id)[0]!.data.fallback).toBe(true);
  });

  it('a failed write is recorded, left pending and applied by the sweeper’s retry', async () => {
    statefulIam(h);
    h.iam
      .on(PutRolePolicyCommand)
      .rejectsOnce(
        new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'no' }),
      );
    const grant = await activeGrant(h, 60);
    const revoked = await h.requests.revoke(bob, grant.id, 'done');
    await settle();
    expect(revoked.status).toBe('revoked');
    expect(eventsOf(h, 'revocation.failed', grant.id)[0]!.data).toMatchObject({
      reason: 'aws_access_denied',
      awsError: 'AccessDenied',
      attempt: 1,
    });
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(0);
    expect(h.ledger.waiting.size).toBe(1);

    // The revoking process gets a minute of grace before the sweeper steps in.
    expect(await h.grants.retryRevocations()).toBe(0);
    h.clock.advanceMinutes(2);
    expect(await h.grants.retryRevocations()).toBe(1);
    expect(eventsOf(h, 'revocation.applied', grant.id)[0]!.data).toMatchObject({
      attempt: 2,
      denied: [grant.id],
    });
    expect(h.ledger.waiting.size).toBe(0);
    expect(await h.grants.retryRevocations()).toBe(0);
  });

  it('a retry after the grant’s sessions lapsed removes the policy and says the entry lapsed', async () => {
    statefulIam(h);
    h.iam.on(DeleteRolePolicyCommand).resolves({});
    h.iam
      .on(PutRolePolicyCommand)
      .rejects(
        new STSServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'slow' }),
      );
    const grant = await activeGrant(h, 30);
    await h.requests.revoke(bob, grant.id, 'done');
    await settle();
    expect(eventsOf(h, 'revocation.failed', grant.id)[0]!.data.reason).toBe('aws_throttled');
    h.clock.advanceMinutes(40);
    expect(await h.grants.retryRevocations()).toBe(1);
    expect(h.iam.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toEqual({
      RoleName: 'breakglass-prod-readonly',
      PolicyName: 'breakglass-revocations',
    });
    expect(eventsOf(h, 'revocation.applied', grant.id)[0]!.data).toMatchObject({
      lapsed: true,
      policy: null,
    });
  });

  it('one revoke and later sweeps record exactly one revocation.applied', async () => {
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
    h.clock.advanceMinutes(2);
    expect(await h.grants.retryRevocations()).toBe(0);
    // Later still, after the grant's sessions lapsed: nothing rewrites or re-records the entry.
    h.clock.advanceMinutes(120);
    expect(await h.grants.retryRevocations()).toBe(0);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
    expect(eventsOf(h, 'revocation.failed', grant.id)).toHaveLength(0);
  });

  // The listener's steps that can yield: alive, GetRolePolicy, PutRolePolicy, alive, and the commit that records
  // revocation.applied and removes the pending marker (the entry itself committed with grant.revoked).
  it.each([0, 1, 2, 3, 4])(
    'a sweeper retry that starts at step %i of the after-commit revocation: still one revocation.applied',
    async (step) => {
      const policies = statefulIam(h);
      const grant = await activeGrant(h, 60);
      // Every ledger and IAM call yields; at the chosen one, past the grace period, the sweeper retries.
      let calls = 0;
      let sweep: Promise<number> | null = null;
      const yieldHere = async () => {
        if (calls++ === step) {
          h.clock.advanceMinutes(2);
          sweep = h.grants.retryRevocations();
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      };
      const alive = h.ledger.alive.bind(h.ledger);
      h.ledger.alive = async (...args) => {
        const result = await alive(...args);
        await yieldHere();
        return result;
      };
      const append = h.store.appendEvents.bind(h.store);
      h.store.appendEvents = async (drafts) => {
        if (drafts.some((draft) => draft.type === 'revocation.applied')) await yieldHere();
        return append(drafts);
      };
      h.iam.on(GetRolePolicyCommand).callsFake(async (input) => {
        await yieldHere();
        const document = policies.get(`${input.RoleName}/${input.PolicyName}`);
        if (!document) throw Object.assign(new Error('no such policy'), { name: 'NoSuchEntityException' });
        return { PolicyDocument: encodeURIComponent(document) };
      });
      h.iam.on(PutRolePolicyCommand).callsFake(async (input) => {
        await yieldHere();
        policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument);
        return {};
      });

      await h.requests.revoke(bob, grant.id, 'done');
      await h.requests.settled();
      expect(sweep).not.toBeNull();
      const swept = await sweep!;
      expect(await h.grants.retryRevocations()).toBe(0);

      const applied = eventsOf(h, 'revocation.applied', grant.id);
      expect(applied).toHaveLength(1);
      // The sweeper reports only what it settled itself.
      expect(swept).toBe(applied[0]!.data.attempt === 2 ? 1 : 0);
      expect(applied[0]!.data.denied).toEqual([grant.id]);
      expect(lastPolicy().PolicyDocument).toContain(grant.id);
      expect(h.ledger.waiting.size).toBe(0);
    },
  );

  it('the obligation commits with grant.revoked: a crash before the listener runs is still revoked by the sweeper', async () => {
    h = harness(config(), undefined, { revocationListener: false });
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    // Right after the commit, with nothing run after it: the entry and its pending marker exist.
    expect([...h.ledger.entries.values()]).toEqual([
      {
        roleArn: ROLE_ARN,
        requestId: grant.id,
        revokedAt: NOW.toISOString(),
        aliveUntil: isoAt(65),
        retryAfter: isoAt(1),
      },
    ]);
    expect(h.ledger.waiting.size).toBe(1);
    expect(h.iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(0);

    expect(await h.grants.retryRevocations()).toBe(0); // still within the revoking process's grace
    h.clock.advanceMinutes(2);
    expect(await h.grants.retryRevocations()).toBe(1);
    expect(lastPolicy().PolicyDocument).toContain(grant.id);
    expect(eventsOf(h, 'revocation.applied', grant.id).map((event) => event.data)).toEqual([
      expect.objectContaining({ attempt: 2, denied: [grant.id] }),
    ]);
    expect(h.ledger.waiting.size).toBe(0);
    expect(await h.grants.retryRevocations()).toBe(0);
  });

  it('a revoke whose commit fails leaves no ledger entry behind', async () => {
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    const update = h.store.updateRequest.bind(h.store);
    h.store.updateRequest = async () => {
      throw new Error('storage down');
    };
    await expect(h.requests.revoke(bob, grant.id, 'done')).rejects.toThrow('storage down');
    h.store.updateRequest = update;
    expect(h.ledger.entries.size).toBe(0);
    expect((await h.store.getRequest(grant.id))!.status).toBe('active');
  });

  it('policy written but the revocation.applied write fails: the sweeper records it once, later', async () => {
    statefulIam(h);
    const append = h.store.appendEvents.bind(h.store);
    let failures = 0;
    h.store.appendEvents = async (drafts) => {
      if (failures === 0 && drafts.some((draft) => draft.type === 'revocation.applied')) {
        failures += 1;
        throw new Error('audit store unavailable');
      }
      return append(drafts);
    };
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    expect(failures).toBe(1);
    expect(lastPolicy().PolicyDocument).toContain(grant.id);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(0);
    // Not settled: the failed commit carried the marker's removal with it.
    expect(h.ledger.waiting.size).toBe(1);

    h.clock.advanceMinutes(2);
    expect(await h.grants.retryRevocations()).toBe(1);
    expect(eventsOf(h, 'revocation.applied', grant.id).map((event) => event.data)).toEqual([
      expect.objectContaining({ attempt: 2, denied: [grant.id] }),
    ]);
    expect(await h.grants.retryRevocations()).toBe(0);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
    expect(eventsOf(h, 'revocation.failed', grant.id)).toHaveLength(0);
  });

  it('a revocation.applied commit whose marker another writer removed is cancelled, not duplicated', async () => {
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    // Another writer settles the entry while this one is writing the policy.
    h.iam.on(PutRolePolicyCommand).callsFake(async () => {
      h.ledger.waiting.clear();
      return {};
    });
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(0);
    expect(h.ledger.entries.size).toBe(1);
  });

  it('without the store contributor the listener records the entry itself and still applies it once', async () => {
    h = harness(config(), undefined, { ledgerInTransaction: false });
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
    statefulIam(h);
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    expect(lastPolicy().PolicyDocument).toContain(grant.id);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
    expect(h.ledger.waiting.size).toBe(0);
    h.clock.advanceMinutes(2);
    expect(await h.grants.retryRevocations()).toBe(0);
  });

  it('two sweepers retrying the same failed revocation at once record it as applied once', async () => {
    statefulIam(h);
    h.iam
      .on(PutRolePolicyCommand)
      .rejectsOnce(
        new STSServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'slow' }),
      );
    const grant = await activeGrant(h, 60);
    await h.requests.revoke(bob, grant.id, 'done');
    await h.requests.settled();
    expect(eventsOf(h, 'revocation.failed', grant.id)).toHaveLength(1);
    h.clock.advanceMinutes(2);
    const settled = await Promise.all([h.grants.retryRevocations(), h.grants.retryRevocations()]);
    expect(settled.sort()).toEqual([0, 1]);
    expect(eventsOf(h, 'revocation.applied', grant.id)).toHaveLength(1);
    expect(h.ledger.waiting.size).toBe(0);
  });

  it('revoking an approved grant that never started writes no policy', async () => {
    statefulIam(h);
    const { request } = await h.requests.create(alice, {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'later today',
      startAt: isoAt(120),
    });
    await h.requests.approve(bob, request.id, null);
    await h.requests.revoke(alice, request.id, 'not needed');
    await settle();
    expect(h.iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });
});
