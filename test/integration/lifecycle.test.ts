/**
 * Every lifecycle transition through the real API, DynamoDB Local and the development provider's tokens. Time
 * moves only through an injected clock and explicit sweeps, so each time-driven transition happens exactly
 * when the test says, and the audit events each one writes are asserted exactly.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import {
  type Api,
  auditEvents,
  eventTypesFor,
  SIDE_EFFECT_EVENT,
  TEST_USERS,
  testConfig,
} from '../support/fixtures.js';
import { apiClient, settledAndSealed, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

type Req = AccessRequest & { url: string };

describe('lifecycle transitions through the API', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let alice: Api;
  let bob: Api;
  let dave: Api;
  let third: Api;
  let carol: Api;

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig(), demoUsers: TEST_USERS });
    const as = async (name: string) => apiClient(stack, await tokenFor(stack, name));
    alice = await as('alice');
    bob = await as('bob');
    dave = await as('dave');
    third = await as('approver01');
    carol = await as('carol');
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

  async function ok(api: Api, path: string, body: unknown = {}): Promise<Req> {
    const response = await api<Req>('POST', path, body);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body;
  }

  async function statusOf(id: string): Promise<string> {
    const response = await alice<Req>('GET', `/v1/requests/${id}`);
    expect(response.status).toBe(200);
    return response.body.status;
  }

  /** Moves the clock and runs one sweep, as the sweeper's timer would. */
  async function sweepAfter(minutes: number): Promise<void> {
    clock.advanceMinutes(minutes);
    await stack.sweeper.runOnce();
  }

  it('create → pending, approvals count up to N of M, then approved and active in one step', async () => {
    const request = await create({ roleId: 'prod-triple', durationMinutes: 60 });
    expect(request).toMatchObject({ status: 'pending', approvalsRequired: 3, approvals: [] });

    expect((await ok(bob, `/v1/requests/${request.id}/approve`, { comment: 'ok' })).status).toBe('pending');
    const second = await ok(dave, `/v1/requests/${request.id}/approve`);
    expect(second.status).toBe('pending');
    expect(second.approvals.map((a) => a.approver.email)).toEqual(['bob@example.com', 'dave@example.com']);

    const third_ = await ok(third, `/v1/requests/${request.id}/approve`);
    expect(third_.status).toBe('active');
    expect(third_.approvals).toHaveLength(3);
    expect(new Date(third_.endAt!).getTime() - new Date(third_.startAt!).getTime()).toBe(60 * 60_000);

    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'approval.recorded',
      'approval.recorded',
      'request.approved',
      'grant.activated',
    ]);
  });

  it('a role that needs no approvals is active as soon as it is requested', async () => {
    const request = await create({ roleId: 'sandbox-auto', durationMinutes: 30 });
    expect(request.status).toBe('active');
    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'request.approved',
      'grant.activated',
    ]);
  });

  it('deny ends a pending request; nothing moves it out of denied', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
    const denied = await ok(bob, `/v1/requests/${request.id}/deny`, { comment: 'use the runbook' });
    expect(denied.status).toBe('denied');
    expect(denied.denial?.by.email).toBe('bob@example.com');

    const late = await dave<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('invalid_state');
    const cancel = await alice<{ code: string }>('POST', `/v1/requests/${request.id}/cancel`);
    expect(cancel.body.code).toBe('invalid_state');
    await sweepAfter(25);
    expect(await statusOf(request.id)).toBe('denied');
    expect(await eventTypesFor(carol, request.id)).toEqual(['request.created', 'request.denied']);
  });

  it('the requester cancels a pending request, and an approved one that has not started', async () => {
    const pending = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
    expect((await ok(alice, `/v1/requests/${pending.id}/cancel`)).status).toBe('cancelled');
    expect(await eventTypesFor(carol, pending.id)).toEqual(['request.created', 'request.cancelled']);

    const startAt = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    const scheduled = await create({ roleId: 'prod-readonly', durationMinutes: 30, startAt });
    expect((await ok(bob, `/v1/requests/${scheduled.id}/approve`)).status).toBe('approved');
    expect((await ok(alice, `/v1/requests/${scheduled.id}/cancel`)).status).toBe('cancelled');
    await sweepAfter(15);
    expect(await statusOf(scheduled.id)).toBe('cancelled');
    expect(await eventTypesFor(carol, scheduled.id)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'request.cancelled',
    ]);
  });

  it('revoke ends an active grant early and the sweeper never expires it afterwards', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 10 });
    await ok(bob, `/v1/requests/${request.id}/approve`);
    const revoked = await ok(dave, `/v1/requests/${request.id}/revoke`, { reason: 'incident over' });
    expect(revoked.status).toBe('revoked');
    expect(revoked.revocation).toMatchObject({ by: { email: 'dave@example.com' }, reason: 'incident over' });
    await sweepAfter(15);
    expect(await statusOf(request.id)).toBe('revoked');
    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'grant.activated',
      'grant.revoked',
    ]);
    // The revocation policy, written after the commit (by the listener or the sweeper's retry), is recorded
    // as applied exactly once, and later sweeps do not record it again.
    await settledAndSealed(stack);
    await sweepAfter(90); // every session of the grant has lapsed by now
    await settledAndSealed(stack);
    clock.reset(); // the provider's tokens are valid again
    const revocations = (await auditEvents(carol))
      .filter((event) => event.requestId === request.id && event.type.startsWith('revocation.'))
      .map((event) => event.type);
    expect(revocations).toEqual(['revocation.applied']);
  });

  it('extension: requested by the requester, approved like the request, capped at maxDuration from the start', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
    const active = await ok(bob, `/v1/requests/${request.id}/approve`);
    const start = new Date(active.startAt!).getTime();

    const tooLong = await alice<{ code: string }>('POST', `/v1/requests/${request.id}/extend`, {
      durationMinutes: 451,
      reason: 'longer',
    });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.code).toBe('extension_too_long');

    const asked = await ok(alice, `/v1/requests/${request.id}/extend`, {
      durationMinutes: 450,
      reason: 'more',
    });
    expect(asked.extension).toMatchObject({ durationMinutes: 450, approvals: [] });
    expect(asked.endAt).toBe(active.endAt);
    const again = await alice<{ code: string }>('POST', `/v1/requests/${request.id}/extend`, {
      durationMinutes: 10,
      reason: 'more',
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('extension_pending');

    const extended = await ok(dave, `/v1/requests/${request.id}/approve`);
    expect(extended.status).toBe('active');
    expect(extended.extension).toBeNull();
    expect(new Date(extended.endAt!).getTime() - start).toBe(480 * 60_000);
    expect(extended.extensions).toHaveLength(1);

    // A second extension beyond the cap is refused; a denied extension leaves the end unchanged.
    const capped = await alice<{ code: string }>('POST', `/v1/requests/${request.id}/extend`, {
      durationMinutes: 1,
      reason: 'one more minute',
    });
    expect(capped.body.code).toBe('extension_too_long');

    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'grant.activated',
      'grant.extension_requested',
      'approval.recorded',
      'grant.extended',
    ]);
  });

  it('a denied extension leaves the grant running with its original end', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
    const active = await ok(bob, `/v1/requests/${request.id}/approve`);
    await ok(alice, `/v1/requests/${request.id}/extend`, { durationMinutes: 30, reason: 'more' });
    const denied = await ok(dave, `/v1/requests/${request.id}/deny`, { comment: 'not needed' });
    expect(denied).toMatchObject({ status: 'active', endAt: active.endAt, extension: null });
    expect((await eventTypesFor(carol, request.id)).slice(-2)).toEqual([
      'grant.extension_requested',
      'grant.extension_denied',
    ]);
  });

  it('emergency access is active at once and needs exactly one post-review by an approver', async () => {
    const request = await create({
      roleId: 'prod-admin',
      durationMinutes: 60,
      ticket: 'INC-7',
      emergency: true,
    });
    expect(request).toMatchObject({ status: 'active', emergency: true, approvalsRequired: 0 });
    expect(request.postReview).toMatchObject({ outcome: null, overdue: false });

    const self = await alice<{ code: string }>('POST', `/v1/requests/${request.id}/review`, {
      outcome: 'acknowledged',
      comment: 'fine',
    });
    expect(self.body.code).toBe('self_approval');
    const reviewed = await ok(bob, `/v1/requests/${request.id}/review`, {
      outcome: 'flagged',
      comment: 'ask for a postmortem',
    });
    expect(reviewed.postReview).toMatchObject({ outcome: 'flagged', by: { email: 'bob@example.com' } });
    const twice = await dave<{ code: string }>('POST', `/v1/requests/${request.id}/review`, {
      outcome: 'acknowledged',
      comment: 'fine',
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('invalid_state');

    await sweepAfter(35); // past the review deadline: already reviewed, so nothing is overdue
    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'grant.activated',
      'emergency.activated',
      'access.forbidden',
      'review.recorded',
    ]);
  });

  it('an emergency grant not reviewed in time raises review.overdue exactly once', async () => {
    const request = await create({
      roleId: 'prod-admin',
      durationMinutes: 60,
      ticket: 'INC-8',
      emergency: true,
    });
    await sweepAfter(29);
    expect((await alice<Req>('GET', `/v1/requests/${request.id}`)).body.postReview?.overdue).toBe(false);
    await sweepAfter(2);
    await stack.sweeper.runOnce();
    const overdue = (await alice<Req>('GET', `/v1/requests/${request.id}`)).body;
    expect(overdue.status).toBe('active');
    expect(overdue.postReview?.overdue).toBe(true);

    await ok(dave, `/v1/requests/${request.id}/review`, { outcome: 'acknowledged', comment: 'late' });
    // Lifecycle events only: notifications, schedules and revocations are written after the commit.
    const events = (await auditEvents(carol)).filter(
      (event) => event.requestId === request.id && !SIDE_EFFECT_EVENT.test(event.type),
    );
    expect(events.map((event) => event.type)).toEqual([
      'request.created',
      'grant.activated',
      'emergency.activated',
      'review.overdue',
      'review.recorded',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ outcome: 'acknowledged', overdue: true });
  });

  it('a scheduled start waits as approved, the sweeper activates it on time and expires it at its end', async () => {
    const startAt = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 15, startAt });
    const approved = await ok(bob, `/v1/requests/${request.id}/approve`);
    expect(approved.status).toBe('approved');

    await sweepAfter(9);
    expect(await statusOf(request.id)).toBe('approved');
    await sweepAfter(1);
    const active = (await alice<Req>('GET', `/v1/requests/${request.id}`)).body;
    expect(active.status).toBe('active');
    expect(active.startAt).toBe(new Date(startAt).toISOString());

    await sweepAfter(14);
    expect(await statusOf(request.id)).toBe('active');
    await sweepAfter(1);
    expect(await statusOf(request.id)).toBe('expired');
    expect(await eventTypesFor(carol, request.id)).toEqual([
      'request.created',
      'approval.recorded',
      'request.approved',
      'grant.activated',
      'grant.expired',
    ]);
  });

  it('a pending request nobody decides times out; approving it afterwards is refused', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 30 });
    await sweepAfter(19);
    expect(await statusOf(request.id)).toBe('pending');
    await sweepAfter(1);
    expect(await statusOf(request.id)).toBe('timed_out');
    const late = await bob<{ code: string }>('POST', `/v1/requests/${request.id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('invalid_state');
    expect(await eventTypesFor(carol, request.id)).toEqual(['request.created', 'request.timed_out']);
  });

  it('an active grant expires at its end, and repeated sweeps write nothing more', async () => {
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 10 });
    await ok(bob, `/v1/requests/${request.id}/approve`);
    await sweepAfter(10);
    expect(await statusOf(request.id)).toBe('expired');
    // Once the after-commit work has finished, nothing at all (lifecycle or side effect) is written again.
    await settledAndSealed(stack);
    const everything = async () =>
      (await auditEvents(carol)).filter((event) => event.requestId === request.id).map((event) => event.id);
    const before = await everything();
    await stack.sweeper.runOnce();
    expect(await stack.broker.requests.applyTransition(request.id, 'expire')).toBeNull();
    await settledAndSealed(stack);
    expect(await everything()).toEqual(before);
    const types = await eventTypesFor(carol, request.id);
    expect(types.at(-1)).toBe('grant.expired');
    expect(types.filter((type) => type === 'grant.expired')).toHaveLength(1);
  });

  it('activation fails closed when the requester is no longer eligible for the role', async () => {
    const startAt = new Date(clock.now().getTime() + 5 * 60_000).toISOString();
    const request = await create({ roleId: 'prod-readonly', durationMinutes: 15, startAt });
    await ok(bob, `/v1/requests/${request.id}/approve`);
    const role = stack.config.roles.find((candidate) => candidate.id === 'prod-readonly')!;
    const requesters = role.requesters;
    role.requesters = ['someone-else'];
    try {
      await sweepAfter(5);
    } finally {
      role.requesters = requesters;
    }
    const failed = (await alice<Req>('GET', `/v1/requests/${request.id}`)).body;
    expect(failed.status).toBe('failed');
    expect(failed.endReason).toMatch(/^activation_failed/);
    expect((await eventTypesFor(carol, request.id)).at(-1)).toBe('grant.failed');
  });

  it('the chain verifies after all of the above', async () => {
    const verify = await carol<{ ok: boolean }>('GET', '/v1/audit/verify');
    expect(verify.body.ok).toBe(true);
  });
});
