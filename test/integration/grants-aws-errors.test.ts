/**
 * The local stack with live AWS adapters on mocked SDK clients: each AWS failure becomes a problem+json with a
 * stable code and an audit event, and leaves the grant exactly as it was.
 */
import {
  GetRolePolicyCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  AssumeRoleCommand,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  RegionDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveAws } from '../../api/adapters/aws/index.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import { type Api, auditEvents } from '../support/fixtures.js';
import { apiClient, exampleConfig, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const clients = {
  sts: new STSClient({ region: 'us-east-1' }),
  iam: new IAMClient({ region: 'us-east-1' }),
  scheduler: new SchedulerClient({ region: 'us-east-1' }),
};
const sts = mockClient(clients.sts);
const iam = mockClient(clients.iam);
mockClient(clients.scheduler);

const stsError = (name: string) =>
  new STSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

describe('AWS failures through the HTTP API', () => {
  let stack: TestStack;
  let alice: Api;
  let bob: Api;
  let carol: Api;
  const clock = new MutableClock();

  beforeAll(async () => {
    stack = await startTestStack({ aws: liveAws(exampleConfig(), clients), clock });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function activeGrant(): Promise<{ id: string; version?: number; updatedAt: string }> {
    const created = await alice<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 60,
      reason: 'investigate the outage',
    });
    const approved = await bob<{ id: string; status: string; updatedAt: string }>(
      'POST',
      `/v1/requests/${created.body.id}/approve`,
      {},
    );
    expect(approved.body.status).toBe('active');
    return approved.body;
  }

  const eventsFor = async (id: string): Promise<AuditEvent[]> =>
    (await auditEvents(carol)).filter((event) => event.requestId === id);

  it.each([
    ['AccessDenied', stsError('AccessDenied'), 'aws_access_denied', 502],
    [
      'MalformedPolicyDocument',
      new MalformedPolicyDocumentException({ $metadata: {}, message: 'x' }),
      'aws_policy_rejected',
      502,
    ],
    [
      'PackedPolicyTooLarge',
      new PackedPolicyTooLargeException({ $metadata: {}, message: 'x' }),
      'aws_policy_too_large',
      502,
    ],
    [
      'RegionDisabled',
      new RegionDisabledException({ $metadata: {}, message: 'x' }),
      'aws_region_disabled',
      502,
    ],
    ['Throttling', stsError('Throttling'), 'aws_throttled', 503],
    ['ConflictException', stsError('ConflictException'), 'aws_conflict', 502],
  ])(
    '%s → a 5xx problem+json with a stable code, credentials.refused, grant unchanged',
    async (_name, error, code, status) => {
      sts.reset();
      sts.on(AssumeRoleCommand).rejects(error);
      const grant = await activeGrant();
      const response = await alice<{ code: string; status: number; detail: string }>(
        'POST',
        `/v1/requests/${grant.id}/credentials`,
      );
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body).toMatchObject({ code, status });
      expect(response.body.detail).toContain(error.name);
      // The test client does not wait for sealing after a 503; this one is AWS's, not storage's.
      await stack.sealing.idle();
      const events = await eventsFor(grant.id);
      expect(events.at(-1)).toMatchObject({
        type: 'credentials.refused',
        data: { reason: code, awsError: error.name, purpose: 'credentials' },
      });
      expect(events.some((event) => event.type === 'credentials.issued')).toBe(false);
      const after = await alice<{ status: string; updatedAt: string }>('GET', `/v1/requests/${grant.id}`);
      expect(after.body).toMatchObject({ status: 'active', updatedAt: grant.updatedAt });
    },
  );

  it('a revocation AWS refuses is recorded and applied by the next sweep', async () => {
    sts.reset();
    iam.reset();
    iam.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'none' }));
    iam.on(PutRolePolicyCommand).rejects(stsError('AccessDenied'));
    const grant = await activeGrant();
    const revoked = await bob<{ status: string }>('POST', `/v1/requests/${grant.id}/revoke`, {
      reason: 'done',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    let types: string[] = [];
    for (let attempt = 0; attempt < 50 && !types.includes('revocation.failed'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      types = (await eventsFor(grant.id)).map((event) => event.type);
    }
    expect(types).toContain('revocation.failed');

    iam.reset();
    iam.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'none' }));
    iam.on(PutRolePolicyCommand).resolves({});
    // The sweeper leaves the revocation to the revoking process for a minute before it retries.
    clock.advanceMinutes(2);
    await stack.sweeper.runOnce();
    const applied = (await eventsFor(grant.id)).find((event) => event.type === 'revocation.applied');
    expect(applied?.data).toMatchObject({ attempt: 2, denied: [grant.id], fallback: false });
    const put = iam.commandCalls(PutRolePolicyCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ RoleName: 'breakglass-prod-readonly', PolicyName: 'breakglass-revocations' });
    expect(put.PolicyDocument).toContain(grant.id);
  });
});
