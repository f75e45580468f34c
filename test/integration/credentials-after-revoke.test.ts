/**
 * Invariant 4, "never after a revoke has committed", against DynamoDB Local: `credentials.issued` commits in the
 * transaction that checks the grant is still active, and the credentials are sent only after it. A revoke that
 * wins the race — during AssumeRole, or in the last gap between AssumeRole and the commit — turns the fetch into
 * 409 `grant_not_active` with no credentials; the audit never shows an issue after `grant.revoked`, and the CSV
 * has one row per request. STS and IAM are aws-sdk-client-mock answers (simulated AWS); storage is real.
 */
import type { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import {
  GetRolePolicyCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { liveAws } from '../../api/adapters/aws/index.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import { type Api, auditEvents, tally } from '../support/fixtures.js';
import {
  apiClient,
  exampleConfig,
  settledAndSealed,
  startTestStack,
  type TestStack,
  tokenFor,
} from '../support/stack.js';

const clients = {
  sts: new STSClient({ region: 'us-east-1' }),
  iam: new IAMClient({ region: 'us-east-1' }),
  scheduler: new SchedulerClient({ region: 'us-east-1' }),
  // The federation endpoint, simulated: it hands out a sign-in token for any session.
  fetch: (async () => Response.json({ SigninToken: 'RACE-SIGNIN-TOKEN' })) as typeof fetch,
};
const sts = mockClient(clients.sts);
const iam = mockClient(clients.iam);
mockClient(clients.scheduler);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/breakglass-prod-readonly';
let issued = 0;

/** What STS answers: a fresh session per call, like the real service. */
function session() {
  issued += 1;
  return {
    Credentials: {
      AccessKeyId: `ASIARACE${String(issued).padStart(8, '0')}`,
      SecretAccessKey: `race-secret-${issued}`,
      SessionToken: `race-token-${issued}`,
      Expiration: new Date(Date.now() + 3600_000),
    },
    AssumedRoleUser: { Arn: `${ROLE_ARN}/alice`, AssumedRoleId: 'AROARACE:alice' },
    PackedPolicySize: 12,
    $metadata: { requestId: `sts-race-${issued}` },
  };
}

/**
 * Runs `inject` once, just before the next TransactWriteItems that commits a journal entry of `eventType` is sent
 * to DynamoDB: for `credentials.issued`, after AssumeRole and every check, in the last gap before the commit; for
 * `grant.revoked`, after the revoke was decided on the version it read.
 */
function beforeCommitOf(client: DynamoDBClient, eventType: string) {
  let armed: (() => Promise<void>) | null = null;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (armed && context.commandName === 'TransactWriteItemsCommand') {
        const items = (args.input as TransactWriteItemsCommand['input']).TransactItems ?? [];
        if (items.some((item) => item.Put?.Item?.type?.S === eventType)) {
          const inject = armed;
          armed = null;
          await inject();
        }
      }
      return next(args);
    },
    { step: 'initialize', name: `testBeforeCommitOf-${eventType}`, override: true },
  );
  return {
    arm(inject: () => Promise<void>) {
      armed = inject;
    },
  };
}

/** The reviewer's CSV rows of one request, as header → cell maps. */
function csvRows(text: string, requestId: string): Record<string, string>[] {
  const lines = text.split('\r\n');
  const header = lines[0]!.split(',');
  return lines
    .filter((line) => line.startsWith(`${requestId},`))
    .map((line) => Object.fromEntries(line.split(',').map((cell, index) => [header[index], cell])));
}

interface Credentials {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
  code?: string;
}

describe('credentials are never handed out after a revoke has committed', () => {
  let stack: TestStack;
  let alice: Api;
  let bob: Api;
  let carol: Api;
  let beforeIssue: ReturnType<typeof beforeCommitOf>;
  let beforeRevoke: ReturnType<typeof beforeCommitOf>;
  const clock = new MutableClock();

  beforeAll(async () => {
    stack = await startTestStack({ aws: liveAws(exampleConfig(), clients), clock });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    beforeIssue = beforeCommitOf(stack.broker.dynamodb, 'credentials.issued');
    beforeRevoke = beforeCommitOf(stack.broker.dynamodb, 'grant.revoked');
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    sts.reset();
    iam.reset();
    sts.on(AssumeRoleCommand).callsFake(session);
    iam.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'none' }));
    iam.on(PutRolePolicyCommand).resolves({});
  });

  async function activeGrant(): Promise<{ id: string }> {
    const created = await alice<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 60,
      reason: 'investigate the outage',
    });
    const approved = await bob<{ id: string; status: string }>(
      'POST',
      `/v1/requests/${created.body.id}/approve`,
      {},
    );
    expect(approved.body.status).toBe('active');
    return approved.body;
  }

  const revoke = (id: string) =>
    bob<{ status: string }>('POST', `/v1/requests/${id}/revoke`, { reason: 'leak' });

  async function eventsFor(id: string): Promise<AuditEvent[]> {
    await settledAndSealed(stack);
    return (await auditEvents(carol)).filter((event) => event.requestId === id);
  }

  function expectNoCredentials(body: Credentials) {
    expect(body.code).toBe('grant_not_active');
    expect(body).not.toHaveProperty('AccessKeyId');
    expect(body).not.toHaveProperty('SecretAccessKey');
    expect(body).not.toHaveProperty('SessionToken');
    expect(JSON.stringify(body)).not.toMatch(/ASIARACE|race-secret|race-token/);
  }

  it('a revoke that commits between AssumeRole and the commit of credentials.issued: 409 grant_not_active', async () => {
    const grant = await activeGrant();
    let revokeStatus = 0;
    beforeIssue.arm(async () => {
      revokeStatus = (await revoke(grant.id)).status;
    });
    const fetched = await alice<Credentials>('POST', `/v1/requests/${grant.id}/credentials`);
    expect(revokeStatus).toBe(200);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(fetched.status).toBe(409);
    expectNoCredentials(fetched.body);

    const events = await eventsFor(grant.id);
    const types = events.map((event) => event.type);
    expect(types).not.toContain('credentials.issued');
    expect(types.indexOf('credentials.refused')).toBeGreaterThan(types.indexOf('grant.revoked'));
    expect(events.find((event) => event.type === 'credentials.refused')?.data).toMatchObject({
      purpose: 'credentials',
      reason: 'grant_not_active',
    });
    // The session STS made anyway carries the grant's request tag, which the revocation policy denies.
    expect(iam.commandCalls(PutRolePolicyCommand)[0]!.args[0].input.PolicyDocument).toContain(grant.id);
  });

  it('a revoke that commits while AssumeRole is in flight: 409 grant_not_active, no credentials', async () => {
    const grant = await activeGrant();
    sts.on(AssumeRoleCommand).callsFake(async () => {
      expect((await revoke(grant.id)).status).toBe(200);
      return session();
    });
    const fetched = await alice<Credentials>('POST', `/v1/requests/${grant.id}/credentials`);
    expect(fetched.status).toBe(409);
    expectNoCredentials(fetched.body);
    const types = (await eventsFor(grant.id)).map((event) => event.type);
    expect(types).not.toContain('credentials.issued');
    expect(types).toContain('revocation.applied');
  });

  it('the console URL obeys the same rule: a revoke before console.issued commits gives 409 and no URL', async () => {
    const grant = await activeGrant();
    sts.on(AssumeRoleCommand).callsFake(async () => {
      await revoke(grant.id);
      return session();
    });
    const opened = await alice<{ url?: string; code?: string }>('POST', `/v1/requests/${grant.id}/console`);
    expect(opened.status).toBe(409);
    expect(opened.body.code).toBe('grant_not_active');
    expect(JSON.stringify(opened.body)).not.toMatch(/RACE-SIGNIN-TOKEN|signin\.aws/);
    expect((await eventsFor(grant.id)).map((event) => event.type)).not.toContain('console.issued');
  });

  it('30 fetches racing a revoke: every 200 committed before grant.revoked, every later one is 409, one CSV row', async () => {
    const grant = await activeGrant();
    let releaseLate!: () => void;
    const late = new Promise<void>((resolve) => {
      releaseLate = resolve;
    });
    let calls = 0;
    // Half the AssumeRole calls answer at once; the other half only after the revoke has answered, so at least
    // those must be refused. The revoke itself races the early half.
    sts.on(AssumeRoleCommand).callsFake(async () => {
      calls += 1;
      if (calls > 15) await late;
      else await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      return session();
    });
    // The sealer waits until every call has answered, so the chain's order is the commits' order, not the
    // order a running sealer happened to find them in.
    await stack.sealing.stop();
    let revoked: { status: number; body: { status: string } };
    let responses: { status: number; body: Credentials }[];
    try {
      const fetches = Array.from({ length: 30 }, () =>
        alice<Credentials>('POST', `/v1/requests/${grant.id}/credentials`),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      revoked = await revoke(grant.id);
      releaseLate();
      responses = await Promise.all(fetches);
    } finally {
      stack.sealing.start();
    }
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');

    const statuses = tally(responses.map((response) => response.status));
    expect(responses.every((response) => response.status === 200 || response.status === 409)).toBe(true);
    expect(statuses['409'] ?? 0).toBeGreaterThanOrEqual(15);
    for (const response of responses.filter((r) => r.status === 409)) expectNoCredentials(response.body);

    const events = await eventsFor(grant.id);
    const revokedSeq = events.find((event) => event.type === 'grant.revoked')!.seq;
    const issuedEvents = events.filter((event) => event.type === 'credentials.issued');
    expect(issuedEvents.every((event) => event.seq < revokedSeq)).toBe(true);
    // Exactly the credentials handed out were recorded as issued, and nothing else.
    const handedOut = responses
      .filter((response) => response.status === 200)
      .map((response) => response.body.AccessKeyId)
      .sort();
    expect(issuedEvents.map((event) => event.data.accessKeyId).sort()).toEqual(handedOut);
    const refused = events.filter((event) => event.type === 'credentials.refused');
    expect(refused).toHaveLength(statuses['409'] ?? 0);
    expect(refused.every((event) => event.data.reason === 'grant_not_active')).toBe(true);

    // The reviewer's CSV: one complete row for the request, counting exactly the issues handed out.
    const csv = await carol<string>('GET', '/v1/audit/events?format=csv');
    expect(csv.status).toBe(200);
    const rows = csvRows(String(csv.body), grant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'revoked', credential_issues: String(handedOut.length) });
  });

  it('an issue that commits while a revoke is being decided seals before grant.revoked; one CSV row', async () => {
    const grant = await activeGrant();
    let fetched: { status: number; body: Credentials } | null = null;
    // The revoke has read the grant and decided; before its transaction is sent, a whole fetch commits.
    beforeRevoke.arm(async () => {
      fetched = await alice<Credentials>('POST', `/v1/requests/${grant.id}/credentials`);
    });
    // With the sealer paused, both commits wait unsealed and are chained together in the sealer's (id) order,
    // which must be their commit order.
    await stack.sealing.stop();
    let revoked: { status: number };
    try {
      revoked = await revoke(grant.id);
    } finally {
      stack.sealing.start();
    }
    expect(revoked.status).toBe(200);
    expect(fetched!.status).toBe(200);
    const issuedKey = fetched!.body.AccessKeyId;

    const events = await eventsFor(grant.id);
    const issued = events.filter((event) => event.type === 'credentials.issued');
    expect(issued.map((event) => event.data.accessKeyId)).toEqual([issuedKey]);
    // The issue moved the request's version, so the revoke decided again after it: commit order is seal order.
    expect(issued[0]!.seq).toBeLessThan(events.find((event) => event.type === 'grant.revoked')!.seq);

    const csv = await carol<string>('GET', '/v1/audit/events?format=csv');
    const rows = csvRows(String(csv.body), grant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'revoked', credential_issues: '1' });
  });
});
