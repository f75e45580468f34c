/** The grant use cases' shared test set-up: a live-mode config with Scheduler, STS and IAM answers, an active grant. */
import { GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { expect } from 'vitest';
import type { Caller } from '../../api/domain/types.js';
import { type harness, settle } from './aws-support.js';
import { alice, bob, configWith } from './support.js';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/breakglass-prod-readonly';
export const TARGET = 'arn:aws:lambda:us-east-1:111122223333:function:breakglass-transitions';
export const SCHEDULER_ROLE = 'arn:aws:iam::111122223333:role/breakglass-scheduler';
export const DLQ = 'arn:aws:sqs:us-east-1:111122223333:breakglass-dlq';

export const config = (requireMfa = false) =>
  configWith((raw) => {
    raw.oidc.requireMfa = requireMfa;
    raw.aws = {
      mode: 'live',
      region: 'us-east-1',
      externalId: 'bg-prod',
      scheduler: { group: 'breakglass', targetArn: TARGET, roleArn: SCHEDULER_ROLE, deadLetterArn: DLQ },
    };
    raw.roles[1].sessionPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess'];
  });

export type Harness = ReturnType<typeof harness>;

export function stsAnswers(h: Harness, expiresInSeconds = 3600) {
  let counter = 0;
  h.sts.on(AssumeRoleCommand).callsFake(() => {
    counter += 1;
    return {
      Credentials: {
        AccessKeyId: `ASIAEXAMPLE${counter}`,
        SecretAccessKey: `secret-${counter}`,
        SessionToken: `token-${counter}`,
        Expiration: new Date(h.clock.now().getTime() + expiresInSeconds * 1000),
      },
      AssumedRoleUser: { Arn: `${ROLE_ARN}/alice`, AssumedRoleId: 'AROAEXAMPLE:alice' },
      PackedPolicySize: 12,
      $metadata: { requestId: `sts-request-${counter}` },
    };
  });
}

/** IAM that remembers the policy it was given, like the real role would. */
export function statefulIam(h: Harness) {
  const policies = new Map<string, string>();
  h.iam.on(GetRolePolicyCommand).callsFake((input) => {
    const document = policies.get(`${input.RoleName}/${input.PolicyName}`);
    if (!document) {
      throw Object.assign(new Error('no such policy'), { name: 'NoSuchEntityException' });
    }
    return { PolicyDocument: encodeURIComponent(document) };
  });
  h.iam.on(PutRolePolicyCommand).callsFake((input) => {
    policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument);
    return {};
  });
  return policies;
}

export async function activeGrant(h: Harness, durationMinutes: number, requester: Caller = alice) {
  const { request } = await h.requests.create(requester, {
    roleId: 'prod-readonly',
    durationMinutes,
    reason: 'investigate the outage',
  });
  const active = await h.requests.approve(bob, request.id, null);
  expect(active.status).toBe('active');
  await settle();
  return active;
}

export const eventsOf = (h: Harness, type: string, requestId?: string) =>
  h.store.events.filter((event) => event.type === type && (!requestId || event.requestId === requestId));
