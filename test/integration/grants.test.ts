import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRevocationLedger } from '../../api/adapters/dynamodb/revocation-ledger.js';
import { sessionPolicy } from '../../api/domain/policies.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import { transactFaults } from '../support/faults.js';
import { type Api, auditEvents } from '../support/fixtures.js';
import { apiClient, settledAndSealed, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

interface Grant {
  id: string;
  status: string;
  endAt: string;
}

/**
 * Fails the next TransactWriteItems that removes a `REVOKE-PENDING` marker (the commit of `revocation.applied`):
 * `before` never reaches DynamoDB, `after` commits and then loses the response.
 */
function settleFaults(client: DynamoDBClient) {
  const planned: Array<'before' | 'after'> = [];
  let hits = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const items = (args.input as { TransactItems?: Array<{ Delete?: { Key?: { pk?: { S?: string } } } }> })
        .TransactItems;
      if (!items?.some((item) => item.Delete?.Key?.pk?.S === 'REVOKE-PENDING')) return next(args);
      const fault = planned.shift();
      if (!fault) return next(args);
      hits += 1;
      const lost = Object.assign(new Error('socket hang up (injected)'), { name: 'ECONNRESET' });
      if (fault === 'before') throw lost;
      await next(args);
      throw lost;
    },
    { step: 'initialize', name: 'testSettleFaults', override: true },
  );
  return {
    fail: (fault: 'before' | 'after') => planned.push(fault),
    get hits() {
      return hits;
    },
  };
}

/** Exactly the five keys of a credential_process document. */
const CREDENTIAL_KEYS = ['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version'];

describe('AWS grants in simulated mode, against the local stack', () => {
  let stack: TestStack;
  let alice: Api;
  let bob: Api;
  let carol: Api;
  const clock = new MutableClock();

  beforeAll(async () => {
    stack = await startTestStack({ clock });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function activeGrant(durationMinutes = 60): Promise<Grant> {
    const created = await alice<Grant>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes,
      reason: 'investigate the outage',
    });
    expect(created.status).toBe(201);
    const approved = await bob<Grant>('POST', `/v1/requests/${created.body.id}/approve`, {});
    expect(approved.body.status).toBe('active');
    return approved.body;
  }

  const eventsFor = async (id: string): Promise<AuditEvent[]> =>
    (await auditEvents(carol)).filter((event) => event.requestId === id);

  it('after approval the requester gets credential_process JSON that the SDK process provider accepts', async () => {
    const grant = await activeGrant();
    const response = await alice<Record<string, unknown>>('POST', `/v1/requests/${grant.id}/credentials`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-breakglass-simulated')).toBe('true');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(CREDENTIAL_KEYS);
    expect(response.body.Version).toBe(1);
    expect(String(response.body.AccessKeyId)).toMatch(/^ASIASIMULATED[A-Z2-7]{7}$/);
    expect(new Date(String(response.body.Expiration)).getTime()).toBeLessThanOrEqual(
      new Date(grant.endAt).getTime(),
    );

    // The AWS SDK's own credential_process provider reads it.
    const dir = mkdtempSync(join(tmpdir(), 'bg-process-'));
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(response.body));
    writeFileSync(
      join(dir, 'config'),
      `[profile bg]\ncredential_process = cat ${join(dir, 'credentials.json')}\n`,
    );
    const provided = await fromProcess({
      profile: 'bg',
      configFilepath: join(dir, 'config'),
      filepath: join(dir, 'none'),
    })();
    expect(provided.accessKeyId).toBe(response.body.AccessKeyId);
    expect(provided.sessionToken).toBe(response.body.SessionToken);
    expect(provided.expiration?.toISOString()).toBe(response.body.Expiration);

    const events = await eventsFor(grant.id);
    const issued = events.find((event) => event.type === 'credentials.issued')!;
    expect(issued.simulated).toBe(true);
    expect(issued.actor).toMatchObject({ type: 'user', email: 'alice@example.com' });
    expect(issued.data).toMatchObject({
      accessKeyId: response.body.AccessKeyId,
      expiration: response.body.Expiration,
      sessionPolicy: sessionPolicy(grant.endAt, { managedSessionPolicies: false, allowRoleChaining: false }),
      allowRoleChaining: false,
      sourceIdentity: 'alice@example.com',
    });
    expect(String(issued.data.stsRequestId)).toMatch(/^simulated-/);
    const log = JSON.stringify(await auditEvents(carol));
    expect(log).not.toContain(String(response.body.SecretAccessKey));
    expect(log).not.toContain(String(response.body.SessionToken));
  });

  it('bob is refused alice’s grant: 403 and exactly one audit event, credentials.refused', async () => {
    const grant = await activeGrant();
    const refused = await bob<{ code: string }>('POST', `/v1/requests/${grant.id}/credentials`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.code).toBe('forbidden');
    const events = await eventsFor(grant.id);
    const refusals = events.filter((event) =>
      ['access.forbidden', 'credentials.refused'].includes(event.type),
    );
    expect(refusals.map((event) => event.type)).toEqual(['credentials.refused']);
    const refusal = refusals[0]!;
    expect(refusal.actor).toMatchObject({ email: 'bob@example.com' });
    expect(refusal.data).toMatchObject({ purpose: 'credentials', reason: 'forbidden' });
    expect(events.some((event) => event.type === 'credentials.issued')).toBe(false);
  });

  it('documents both routes in the OpenAPI document', async () => {
    const doc = await alice<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/requests/{id}/credentials', '/v1/requests/{id}/console']),
    );
  });

  it('refuses a request that does not exist with 404 and records the refusal', async () => {
    const missing = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';
    const response = await alice<{ code: string }>('POST', `/v1/requests/${missing}/credentials`);
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('not_found');
    const refusal = (await auditEvents(carol)).find(
      (event) => event.type === 'credentials.refused' && event.data.requestedId === missing,
    );
    expect(refusal?.data.reason).toBe('not_found');
  });

  it('gives a console sign-in URL and records console.issued without the sign-in token', async () => {
    const grant = await activeGrant(10);
    const response = await alice<{ url: string; expiresAt: string; simulated: boolean }>(
      'POST',
      `/v1/requests/${grant.id}/console`,
    );
    expect(response.status).toBe(200);
    expect(response.body.simulated).toBe(true);
    const url = new URL(response.body.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://signin.aws.amazon.com/federation');
    expect(url.searchParams.get('Action')).toBe('login');
    expect(url.searchParams.get('Issuer')).toBe(stack.url);
    const token = url.searchParams.get('SigninToken')!;
    expect(token).toMatch(/^SIMULATED-SIGNIN-/);
    // A 10-minute grant: the console session (900 s minimum) is reported as ending with the grant.
    expect(response.body.expiresAt).toBe(new Date(grant.endAt).toISOString().replace(/\.\d{3}Z$/, '.000Z'));
    const events = await eventsFor(grant.id);
    const issued = events.find((event) => event.type === 'console.issued')!;
    expect(issued.data).toMatchObject({ durationSeconds: 900, expiresAt: response.body.expiresAt });
    expect(JSON.stringify(await auditEvents(carol))).not.toContain(token);
  });

  it('grant-status: active for the requester, inactive with the role revocation after revoke, 403 for others', async () => {
    const grant = await activeGrant();
    const before = await alice<Record<string, unknown>>('GET', `/v1/requests/${grant.id}/grant-status`);
    expect(before.status).toBe(200);
    expect(before.headers.get('cache-control')).toBe('no-store');
    expect(before.body).toMatchObject({ id: grant.id, status: 'active', active: true, endAt: grant.endAt });
    expect((await bob<{ code: string }>('GET', `/v1/requests/${grant.id}/grant-status`)).body.code).toBe(
      'forbidden',
    );
    await bob('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'done early' });
    const after = await alice<Record<string, unknown>>('GET', `/v1/requests/${grant.id}/grant-status`);
    expect(after.body).toMatchObject({ status: 'revoked', active: false });
    expect(typeof after.body.lastRevocationOnRoleAt).toBe('string');
  });

  it('after revoke, credentials are refused and the revocation policy is recorded', async () => {
    const grant = await activeGrant();
    expect((await alice('POST', `/v1/requests/${grant.id}/credentials`)).status).toBe(200);
    const revoked = await bob<Grant>('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'done early' });
    expect(revoked.body.status).toBe('revoked');
    const refused = await alice<{ code: string; status: number; requestStatus: string }>(
      'POST',
      `/v1/requests/${grant.id}/credentials`,
    );
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('grant_not_active');
    // `status` is the HTTP status; the request's own status is `requestStatus`.
    expect(refused.body).toMatchObject({ status: 409, requestStatus: 'revoked' });

    // The revocation listener runs after the commit; wait for its audit event.
    let applied: AuditEvent | undefined;
    for (let attempt = 0; attempt < 50 && !applied; attempt++) {
      applied = (await eventsFor(grant.id)).find((event) => event.type === 'revocation.applied');
      if (!applied) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(applied).toBeDefined();
    expect(applied!.simulated).toBe(true);
    expect(applied!.data).toMatchObject({ policyName: 'breakglass-revocations', fallback: false });
    expect(applied!.data.denied).toContain(grant.id);
    const policy = JSON.parse(String(applied!.data.policy));
    expect(policy.Statement[0].Condition.StringEquals['aws:PrincipalTag/breakglass:request']).toContain(
      grant.id,
    );
    const types = (await eventsFor(grant.id)).map((event) => event.type);
    expect(types.filter((type) => type === 'credentials.refused')).toHaveLength(1);
  });

  it('one revoke followed by sweeps records exactly one revocation.applied for the grant', async () => {
    const grant = await activeGrant();
    await bob('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'done early' });
    // Straight past the retry grace, without waiting: the sweeper's retry may race the after-commit listener.
    clock.advanceMinutes(2);
    try {
      await Promise.all([stack.sweeper.runOnce(), stack.broker.requests.settled()]);
      await settledAndSealed(stack);
      await stack.sweeper.runOnce();
      clock.advanceMinutes(120); // the grant's sessions have all lapsed by now
      await stack.sweeper.runOnce();
      await settledAndSealed(stack);
    } finally {
      clock.reset();
    }
    const revocations = (await eventsFor(grant.id)).filter((event) => event.type.startsWith('revocation.'));
    expect(revocations.map((event) => event.type)).toEqual(['revocation.applied']);
    expect(revocations[0]!.data.denied).toContain(grant.id);
  });

  it('the ledger settles an entry for exactly one of several concurrent writers (DynamoDB Local)', async () => {
    const ledger = new DynamoRevocationLedger({ client: stack.broker.dynamodb, tableName: stack.tableName });
    const now = clock.now();
    const entry = {
      roleArn: 'arn:aws:iam::123456789012:role/breakglass-ledger-probe',
      requestId: 'req_01JD3Y7S5Q7W8X9Y0Z1A2BLDGR',
      revokedAt: now.toISOString(),
      aliveUntil: new Date(now.getTime() + 3600_000).toISOString(),
      retryAfter: now.toISOString(),
    };
    await ledger.record(entry);
    expect(await ledger.pending(10, now)).toContainEqual(entry);
    const results = await Promise.all([1, 2, 3, 4].map(() => ledger.settle([entry])));
    expect(results.map((settled) => settled.length).sort()).toEqual([0, 0, 0, 1]);
    expect(await ledger.pending(10, now)).not.toContainEqual(entry);
    // Settled, not forgotten: the entry still counts for the role's policy until its sessions lapse.
    expect(await ledger.alive(entry.roleArn, now)).toContainEqual(entry);
  });

  describe('early revocation is durable from the revoke commit', () => {
    const ledger = () =>
      new DynamoRevocationLedger({ client: stack.broker.dynamodb, tableName: stack.tableName });
    /** Events straight from the table (the clock may be past the tokens' lifetime). */
    const storedEvents = async (id: string) => {
      const events: AuditEvent[] = [];
      for await (const event of stack.broker.store.readEvents())
        if (event.requestId === id) events.push(event);
      return events;
    };
    const revocationTypes = async (id: string) =>
      (await storedEvents(id)).map((event) => event.type).filter((type) => type.startsWith('revocation.'));
    const later = () => new Date(clock.now().getTime() + 2 * 60_000);

    it('a crash right after the revoke commits (listener never runs): the entry is already pending and the sweeper applies it', async () => {
      const grant = await activeGrant();
      await settledAndSealed(stack);
      const faults = transactFaults(stack.broker.dynamodb);
      // The revoke's transaction commits, then the process "dies": the caller gets an error, no listener runs.
      faults.fail('network-after');
      const revoke = await bob<{ code: string }>('POST', `/v1/requests/${grant.id}/revoke`, {
        reason: 'leak',
      });
      expect(revoke.status).toBe(500);
      expect(faults.pending).toBe(0);
      await settledAndSealed(stack);
      expect((await stack.broker.store.getRequest(grant.id))!.status).toBe('revoked');
      expect(await revocationTypes(grant.id)).toEqual([]);
      const pending = await ledger().pending(100, later());
      expect(pending.map((entry) => entry.requestId)).toContain(grant.id);
      const entry = pending.find((candidate) => candidate.requestId === grant.id)!;
      expect(await ledger().alive(entry.roleArn, clock.now())).toContainEqual(entry);

      clock.advanceMinutes(2);
      try {
        await stack.sweeper.runOnce();
        await settledAndSealed(stack);
        await stack.sweeper.runOnce();
      } finally {
        clock.reset();
      }
      const applied = (await storedEvents(grant.id)).filter((event) => event.type === 'revocation.applied');
      expect(applied).toHaveLength(1);
      expect(applied[0]!.simulated).toBe(true);
      expect(applied[0]!.data).toMatchObject({ attempt: 2, policyName: 'breakglass-revocations' });
      expect(applied[0]!.data.denied).toContain(grant.id);
      expect(await ledger().pending(100, later())).not.toContainEqual(entry);
    });

    it('the audit write after the policy write fails: the marker stays, the sweeper records revocation.applied once', async () => {
      const faults = settleFaults(stack.broker.dynamodb);
      const grant = await activeGrant();
      faults.fail('before');
      await bob('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'leak' });
      await settledAndSealed(stack);
      expect(faults.hits).toBe(1);
      expect(await revocationTypes(grant.id)).toEqual([]);
      expect((await ledger().pending(100, later())).map((entry) => entry.requestId)).toContain(grant.id);

      clock.advanceMinutes(2);
      try {
        await stack.sweeper.runOnce();
        await settledAndSealed(stack);
        await stack.sweeper.runOnce();
      } finally {
        clock.reset();
      }
      const applied = (await storedEvents(grant.id)).filter((event) => event.type === 'revocation.applied');
      expect(applied.map((event) => event.data.attempt)).toEqual([2]);
      expect(await revocationTypes(grant.id)).toEqual(['revocation.applied']);
      expect((await ledger().pending(100, later())).map((entry) => entry.requestId)).not.toContain(grant.id);
    });

    it('the audit write commits but its response is lost: the sweeper retry adds no second event', async () => {
      const faults = settleFaults(stack.broker.dynamodb);
      const grant = await activeGrant();
      faults.fail('after');
      await bob('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'leak' });
      await settledAndSealed(stack);
      expect(faults.hits).toBe(1);
      expect(await revocationTypes(grant.id)).toEqual(['revocation.applied']);
      expect((await ledger().pending(100, later())).map((entry) => entry.requestId)).not.toContain(grant.id);

      clock.advanceMinutes(2);
      try {
        await stack.sweeper.runOnce();
        await settledAndSealed(stack);
      } finally {
        clock.reset();
      }
      expect(await revocationTypes(grant.id)).toEqual(['revocation.applied']);
      expect((await carol('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
    });
  });

  it('a grant of a few minutes is expired by the sweeper after its end, with grant.expired', async () => {
    const grant = await activeGrant(3);
    expect((await alice('POST', `/v1/requests/${grant.id}/credentials`)).status).toBe(200);
    clock.advanceMinutes(4);
    try {
      await stack.sweeper.runOnce();
      const after = await alice<Grant>('GET', `/v1/requests/${grant.id}`);
      expect(after.body.status).toBe('expired');
      const types = (await eventsFor(grant.id)).map((event) => event.type);
      expect(types).toContain('grant.expired');
      const refused = await alice<{ code: string }>('POST', `/v1/requests/${grant.id}/credentials`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('grant_not_active');
    } finally {
      clock.reset();
    }
  });
});
