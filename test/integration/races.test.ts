/**
 * Invariant 3 under real concurrency: many HTTP calls at once against DynamoDB Local resolve to exactly one
 * outcome, the same approver never counts twice, terminal states stay terminal, and the chain stays intact.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import {
  type Api,
  approvers,
  auditEvents,
  eventTypesFor,
  TEST_USERS,
  tally,
  testConfig,
} from '../support/fixtures.js';
import { apiClient, settledAndSealed, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

type Req = AccessRequest & { url: string };
const TERMINAL_EVENTS = new Set([
  'request.denied',
  'request.cancelled',
  'request.timed_out',
  'grant.expired',
  'grant.revoked',
  'grant.failed',
]);

describe('races resolve to exactly one outcome', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let alice: Api;
  let bob: Api;
  let pat: Api;
  let carol: Api;
  let racers: Api[];

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig(), demoUsers: TEST_USERS });
    const as = async (name: string) => apiClient(stack, await tokenFor(stack, name));
    alice = await as('alice');
    bob = await as('bob');
    pat = await as('pat');
    carol = await as('carol');
    racers = await Promise.all(approvers(20).map((user) => as(user.name)));
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => clock.reset());

  async function create(body: Record<string, unknown>): Promise<Req> {
    const response = await alice<Req>('POST', '/v1/requests', { reason: 'incident response', ...body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  async function verifyChain() {
    // Let after-commit work (revocations, schedules, notifications) finish, so the head stands still.
    await settledAndSealed(stack);
    const headBefore = (await stack.broker.store.chainHead()).seq;
    const verify = await carol<{ ok: boolean; lastSeq: number }>('GET', '/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    // The verify covers everything sealed before it; the auditor's own `audit.read` may follow it in the chain.
    expect(verify.body.lastSeq).toBeGreaterThanOrEqual(headBefore);
    expect((await stack.broker.store.chainHead()).seq - verify.body.lastSeq).toBeLessThanOrEqual(1);
  }

  it('20 approvers approve at once a role that needs 3: exactly 3 count, one approval and one activation', async () => {
    const request = await create({ roleId: 'prod-triple', durationMinutes: 60 });
    const responses = await Promise.all(
      racers.map((racer) => racer<Req & { code: string }>('POST', `/v1/requests/${request.id}/approve`, {})),
    );
    expect(tally(responses.map((r) => r.status))).toEqual({ 200: 3, 409: 17 });
    expect(tally(responses.filter((r) => r.status === 409).map((r) => r.body.code))).toEqual({
      invalid_state: 17,
    });
    expect(responses.filter((r) => r.status === 200 && r.body.status === 'active')).toHaveLength(1);

    const stored = (await stack.broker.store.getRequest(request.id))!;
    expect(stored.status).toBe('active');
    expect(stored.approvals).toHaveLength(3);
    expect(new Set(stored.approvals.map((a) => a.approver.subject)).size).toBe(3);
    const winners = responses
      .filter((r) => r.status === 200)
      .map((r) => r.body.approvals.at(-1)?.approver.email);
    expect(new Set(winners)).toEqual(new Set(stored.approvals.map((a) => a.approver.email)));

    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'approval.recorded',
      'approval.recorded',
      'request.approved',
      'grant.activated',
    ]);
    await verifyChain();
  });

  it('one approver sends 20 identical approvals at once: one counts, 19 are already_approved', async () => {
    const request = await create({ roleId: 'prod-triple', durationMinutes: 60 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        bob<Req & { code: string }>('POST', `/v1/requests/${request.id}/approve`, {}),
      ),
    );
    expect(tally(responses.map((r) => r.status))).toEqual({ 200: 1, 409: 19 });
    expect(tally(responses.filter((r) => r.status === 409).map((r) => r.body.code))).toEqual({
      already_approved: 19,
    });
    const stored = (await stack.broker.store.getRequest(request.id))!;
    expect(stored).toMatchObject({ status: 'pending', version: 2 });
    expect(stored.approvals.map((a) => a.approver.email)).toEqual(['bob@example.com']);
    expect(await eventTypesFor(carol, request.id)).toEqual(['request.created', 'approval.recorded']);
    await verifyChain();
  });

  it('approvals racing a denial: either denied or approved, never both', async () => {
    for (let round = 0; round < 3; round++) {
      const request = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
      const responses = await Promise.all([
        ...racers.slice(0, 5).map((racer) => racer<Req>('POST', `/v1/requests/${request.id}/approve`, {})),
        ...racers
          .slice(5, 10)
          .map((racer) => racer<Req>('POST', `/v1/requests/${request.id}/deny`, { comment: 'no' })),
      ]);
      expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
      const types = await eventTypesFor(carol, request.id);
      const decided = types.filter((type) => type === 'request.denied' || type === 'request.approved');
      expect(decided).toHaveLength(1);
      const status = (await stack.broker.store.getRequest(request.id))!.status;
      expect(status).toBe(decided[0] === 'request.denied' ? 'denied' : 'active');
    }
    await verifyChain();
  });

  it('revoke, expiry (sweeper and scheduler firing together) and cancel on an ending grant: one terminal event', async () => {
    for (let round = 0; round < 4; round++) {
      clock.reset();
      const request = await create({ roleId: 'sandbox-auto', durationMinutes: 10 });
      expect(request.status).toBe('active');
      clock.advanceMinutes(10); // exactly at its end: both revoke and expire are possible
      const [aliceRevoke, patRevoke, cancel] = await Promise.all([
        alice<{ code: string }>('POST', `/v1/requests/${request.id}/revoke`, { reason: 'done' }),
        pat<{ code: string }>('POST', `/v1/requests/${request.id}/revoke`, { reason: 'done' }),
        alice<{ code: string }>('POST', `/v1/requests/${request.id}/cancel`),
        stack.sweeper.runOnce(),
        stack.broker.requests.applyTransition(request.id, 'expire'),
        stack.broker.requests.applyTransition(request.id, 'expire'),
      ]);
      expect(cancel.status).toBe(409);
      expect(cancel.body.code).toBe('invalid_state');
      const stored = (await stack.broker.store.getRequest(request.id))!;
      expect(['revoked', 'expired']).toContain(stored.status);
      const revokes = [aliceRevoke, patRevoke];
      expect(revokes.filter((r) => r.status === 200)).toHaveLength(stored.status === 'revoked' ? 1 : 0);
      for (const refused of revokes.filter((r) => r.status !== 200)) {
        expect([refused.status, refused.body.code]).toEqual([409, 'invalid_state']);
      }
      const terminal = (await eventTypesFor(carol, request.id)).filter((type) => TERMINAL_EVENTS.has(type));
      expect(terminal).toEqual([stored.status === 'revoked' ? 'grant.revoked' : 'grant.expired']);
    }
    await verifyChain();
  });

  it('cancel, revoke and activation on a scheduled grant at its start: one terminal outcome or active then revoked', async () => {
    for (let round = 0; round < 4; round++) {
      clock.reset();
      const startAt = new Date(clock.now().getTime() + 5 * 60_000).toISOString();
      const request = await create({ roleId: 'prod-readonly', durationMinutes: 30, startAt });
      expect((await bob<Req>('POST', `/v1/requests/${request.id}/approve`, {})).body.status).toBe('approved');
      clock.advanceMinutes(5);
      const [cancel, bobRevoke, patRevoke] = await Promise.all([
        alice<{ code: string }>('POST', `/v1/requests/${request.id}/cancel`),
        bob<{ code: string }>('POST', `/v1/requests/${request.id}/revoke`, { reason: 'not needed' }),
        pat<{ code: string }>('POST', `/v1/requests/${request.id}/revoke`, { reason: 'not needed' }),
        stack.broker.requests.applyTransition(request.id, 'activate'),
      ]);
      const succeeded = [cancel, bobRevoke, patRevoke].filter((r) => r.status === 200);
      expect(succeeded).toHaveLength(1);
      const stored = (await stack.broker.store.getRequest(request.id))!;
      expect(['cancelled', 'revoked']).toContain(stored.status);
      const types = await eventTypesFor(carol, request.id);
      expect(types.filter((type) => TERMINAL_EVENTS.has(type))).toHaveLength(1);
      expect(types.filter((type) => type === 'grant.activated').length).toBeLessThanOrEqual(1);
      // Cancellation is only possible before activation.
      if (stored.status === 'cancelled') expect(types).not.toContain('grant.activated');
    }
    await verifyChain();
  });

  it('concurrent creates with one Idempotency-Key make one request; the others replay it', async () => {
    const key = `race-${Date.now()}`;
    const body = { roleId: 'prod-readonly', durationMinutes: 45, reason: 'retrying client' };
    const head = (await stack.broker.store.chainHead()).seq;
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => alice<Req>('POST', '/v1/requests', body, { 'idempotency-key': key })),
    );
    expect(tally(responses.map((r) => r.status))).toEqual({ 200: 9, 201: 1 });
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    for (const replay of responses.filter((r) => r.status === 200)) {
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    }
    const created = (await auditEvents(carol, head + 1)).filter((event) => event.type === 'request.created');
    expect(created.map((event) => event.requestId)).toEqual([responses[0]!.body.id]);
    await verifyChain();
  });
});
