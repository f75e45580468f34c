/**
 * Invariant 1: a state change and its audit events commit in one DynamoDB transaction or not at all. Faults are
 * injected into the live client (lost connection before or after the commit, transaction conflicts), and one
 * case makes DynamoDB Local itself cancel the transaction because the audit half cannot be written.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import { transactFaults } from '../support/faults.js';
import { type Api, auditEvents, eventTypesFor, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

type Req = AccessRequest & { url: string };

describe('state changes and audit events commit together or not at all', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let faults: ReturnType<typeof transactFaults>;
  let alice: Api;
  let bob: Api;
  let carol: Api;

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig() });
    faults = transactFaults(stack.broker.dynamodb);
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(() => {
    faults.clear();
    clock.reset();
  });

  async function pendingRequest(): Promise<Req> {
    const response = await alice<Req>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'incident response',
    });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function snapshot(id: string) {
    return {
      request: await stack.broker.store.getRequest(id),
      head: await stack.broker.store.chainHead(),
    };
  }

  async function expectChainIntact() {
    expect((await carol('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
  }

  it('a transaction that never reaches DynamoDB changes nothing and writes no event', async () => {
    const request = await pendingRequest();
    const before = await snapshot(request.id);
    faults.fail('network-before');
    const response = await bob<{ code: string; detail: string }>(
      'POST',
      `/v1/requests/${request.id}/approve`,
      {},
    );
    expect(response.status).toBe(500);
    expect(response.body.code).toBe('internal');
    expect(JSON.stringify(response.body)).not.toMatch(/ECONNRESET|socket|at .*\.ts/);
    expect(await snapshot(request.id)).toEqual(before);

    expect((await bob<Req>('POST', `/v1/requests/${request.id}/approve`, {})).body.status).toBe('active');
    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'grant.activated',
    ]);
    await expectChainIntact();
  });

  it('a transaction DynamoDB keeps cancelling changes nothing, and the retries are bounded', async () => {
    const request = await pendingRequest();
    const before = await snapshot(request.id);
    const sentBefore = faults.transactions;
    faults.fail('conflict', 10_000);
    const response = await bob<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('concurrent_update');
    expect(faults.transactions - sentBefore).toBeLessThanOrEqual(100);
    expect(await snapshot(request.id)).toEqual(before);
    faults.clear();
    await expectChainIntact();
  });

  it('a transient conflict is retried: the change lands once, and is sealed once after the current head', async () => {
    const head = await stack.broker.store.chainHead();
    faults.fail('conflict', 2);
    const request = await pendingRequest();
    expect(faults.pending).toBe(0);
    const written = await auditEvents(carol, head.seq + 1);
    expect(written.map((event) => [event.seq, event.type, event.requestId])).toEqual([
      [head.seq + 1, 'request.created', request.id],
    ]);
    await expectChainIntact();
  });

  it('a response lost after the commit leaves both the change and its events, never one without the other', async () => {
    const request = await pendingRequest();
    const before = await snapshot(request.id);
    faults.fail('network-after');
    const response = await bob<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect(response.status).toBe(500);

    const after = await snapshot(request.id);
    expect(after.request).toMatchObject({ status: 'active', version: before.request!.version + 1 });
    expect(after.head.seq).toBeGreaterThanOrEqual(before.head.seq + 3);
    expect((await stack.broker.store.requestEvents(request.id)).map((event) => event.type)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'grant.activated',
    ]);
    expect(await eventTypesFor(carol, request.id, before.head.seq + 1)).toEqual([
      'approval.recorded',
      'request.approved',
      'grant.activated',
    ]);
    // The client's retry is refused by the state the lost response would have shown; nothing is doubled.
    const retry = await bob<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect([retry.status, retry.body.code]).toEqual([409, 'invalid_state']);
    await expectChainIntact();
  });

  it('DynamoDB rolls back the request write when the audit events in the same transaction cannot be written', async () => {
    const request = await pendingRequest();
    const before = await snapshot(request.id);
    const timelineBefore = await stack.broker.store.requestEvents(request.id);
    // The journal entries' condition cannot hold, so DynamoDB cancels the whole transaction, including the
    // request update that came first in it.
    faults.fail('journal-condition');
    const response = await bob<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect(response.status).toBe(500);
    expect(response.body.code).toBe('internal');
    expect(await snapshot(request.id)).toEqual(before);
    expect(await stack.broker.store.requestEvents(request.id)).toEqual(timelineBefore);
    expect((await bob<Req>('POST', `/v1/requests/${request.id}/approve`, {})).body.status).toBe('active');
    await expectChainIntact();
  });

  it('a failed expiry leaves the grant active with no event; the next sweep expires it exactly once', async () => {
    const grant = (
      await alice<Req>('POST', '/v1/requests', {
        roleId: 'sandbox-auto',
        durationMinutes: 10,
        reason: 'test',
      })
    ).body;
    expect(grant.status).toBe('active');
    clock.advanceMinutes(10);
    const before = await snapshot(grant.id);
    faults.fail('network-before');
    await stack.sweeper.runOnce();
    expect(await snapshot(grant.id)).toEqual(before);

    await stack.sweeper.runOnce();
    expect((await stack.broker.store.getRequest(grant.id))?.status).toBe('expired');
    expect((await eventTypesFor(carol, grant.id)).filter((type) => type === 'grant.expired')).toHaveLength(1);
    await expectChainIntact();
  });
});
