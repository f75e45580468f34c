import { describe, expect, it } from 'vitest';
import type { BreakglassConfig } from '../../api/config/schema.js';
import {
  applyTransition,
  approve,
  type CreateInput,
  cancel,
  createRequest,
  deny,
  isTerminal,
  nextDue,
  type Outcome,
  REVIEW_OWED_AT,
  requestExtension,
  review,
  revoke,
} from '../../api/domain/lifecycle.js';
import type { AccessRequest, Caller } from '../../api/domain/types.js';
import {
  alice,
  at,
  bob,
  carol,
  codeOf,
  configWith,
  dave,
  erin,
  frank,
  isoAt,
  NOW,
  pat,
  person,
} from './support.js';

const config = configWith();
const mfaConfig = configWith((raw) => {
  raw.oidc.requireMfa = true;
});
/** prod-readonly allows emergency access, without a ticket rule. */
const emergencyReadonly = configWith((raw) => {
  raw.roles[1].emergency = { allowed: true };
});
/** prod-readonly needs no approvals. */
const zeroApprovals = configWith((raw) => {
  raw.roles[1].approvalsRequired = 0;
});

const adminInput: CreateInput = {
  id: 'req_1',
  roleId: 'prod-admin',
  durationMinutes: 60,
  reason: 'database failover',
  ticket: 'INC-42',
};
const readonlyInput: CreateInput = {
  id: 'req_2',
  roleId: 'prod-readonly',
  durationMinutes: 60,
  reason: 'look',
};

const types = (outcome: Outcome) => outcome.events.map((event) => event.type);

function create(input: Partial<CreateInput> = {}, caller: Caller = alice, now = NOW, cfg = config) {
  return createRequest(cfg, caller, { ...adminInput, ...input }, now);
}

/** prod-admin approved by bob at +1 and dave at +2: active from +2 until +62. */
function activeGrant(cfg = config): AccessRequest {
  const pending = create({}, alice, NOW, cfg).request;
  const once = approve(cfg, pending, bob, null, at(1)).request;
  return approve(cfg, once, dave, null, at(2)).request;
}

function emergencyGrant(cfg = config): AccessRequest {
  return create({ emergency: true }, alice, NOW, cfg).request;
}

describe('create', () => {
  it('starts pending and records request.created', () => {
    const outcome = create();
    expect(outcome.request).toMatchObject({
      id: 'req_1',
      roleId: 'prod-admin',
      accountId: '123456789012',
      roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
      requester: { subject: 'sub-alice', email: 'alice@example.com' },
      requesterGroups: ['sre'],
      status: 'pending',
      approvalsRequired: 2,
      approvals: [],
      startAt: null,
      endAt: null,
      scheduled: false,
      ticket: 'INC-42',
      emergency: false,
      pendingUntil: isoAt(120),
      createdAt: NOW.toISOString(),
      version: 1,
    });
    expect(outcome.events).toEqual([
      {
        type: 'request.created',
        actor: { type: 'user', subject: 'sub-alice', email: 'alice@example.com', via: 'cli' },
        requestId: 'req_1',
        roleId: 'prod-admin',
        accountId: '123456789012',
        data: {
          reason: 'database failover',
          ticket: 'INC-42',
          durationMinutes: 60,
          startAt: null,
          emergency: false,
          approvalsRequired: 2,
        },
      },
    ]);
    expect(nextDue(outcome.request)).toEqual({ at: isoAt(120), transition: 'timeout' });
  });

  it("a role's own pendingTimeout wins over the default", () => {
    const cfg = configWith((raw) => {
      raw.roles[0].pendingTimeout = '15m';
    });
    expect(create({}, alice, NOW, cfg).request.pendingUntil).toBe(isoAt(15));
  });

  it('is active at once when the role needs no approvals', () => {
    const outcome = createRequest(zeroApprovals, alice, readonlyInput, NOW);
    expect(outcome.request).toMatchObject({
      status: 'active',
      approvalsRequired: 0,
      startAt: NOW.toISOString(),
      endAt: isoAt(60),
      version: 1,
    });
    expect(types(outcome)).toEqual(['request.created', 'request.approved', 'grant.activated']);
    expect(nextDue(outcome.request)).toEqual({ at: isoAt(60), transition: 'expire' });
  });

  it('is approved, not active, when it needs no approvals but starts later', () => {
    const outcome = createRequest(zeroApprovals, alice, { ...readonlyInput, startAt: isoAt(30) }, NOW);
    expect(outcome.request).toMatchObject({
      status: 'approved',
      scheduled: true,
      startAt: isoAt(30),
      endAt: isoAt(90),
      version: 1,
    });
    expect(types(outcome)).toEqual(['request.created', 'request.approved']);
    expect(nextDue(outcome.request)).toEqual({ at: isoAt(30), transition: 'activate' });
    expect(applyTransition(zeroApprovals, outcome.request, 'activate', at(29))).toBeNull();
    const started = applyTransition(zeroApprovals, outcome.request, 'activate', at(30));
    expect(started?.request).toMatchObject({
      status: 'active',
      startAt: isoAt(30),
      endAt: isoAt(90),
      version: 2,
    });
    expect(started && types(started)).toEqual(['grant.activated']);
  });

  it('a scheduled start in the past by less than the clock-skew grace starts now', () => {
    const outcome = create({ startAt: new Date(NOW.getTime() - 30_000).toISOString() });
    expect(outcome.request.startAt).toBe(NOW.toISOString());
    expect(outcome.request.endAt).toBe(isoAt(60));
  });

  it('a pending scheduled request times out no later than its end', () => {
    const outcome = create({ startAt: isoAt(10), durationMinutes: 30 });
    expect(outcome.request.pendingUntil).toBe(isoAt(40));
  });

  it('emergency access is active at once with a post-review due', () => {
    const outcome = create({ emergency: true });
    expect(outcome.request).toMatchObject({
      status: 'active',
      emergency: true,
      approvalsRequired: 0,
      startAt: NOW.toISOString(),
      endAt: isoAt(60),
      postReview: {
        dueAt: isoAt(24 * 60),
        outcome: null,
        by: null,
        at: null,
        comment: null,
        overdue: false,
      },
      version: 1,
    });
    expect(types(outcome)).toEqual(['request.created', 'grant.activated', 'emergency.activated']);
    expect(outcome.events[2]?.data).toEqual({ endAt: isoAt(60), postReviewDueAt: isoAt(24 * 60) });
  });

  it.each<[string, Partial<CreateInput>, Caller, BreakglassConfig, string]>([
    ['unknown role', { roleId: 'nope' }, alice, config, 'unknown_role'],
    ['erin is no requester', {}, erin, config, 'not_requester'],
    ['an approver is no requester', {}, bob, config, 'not_requester'],
    ['an admin is no requester', {}, pat, config, 'not_requester'],
    ['reason too short', { reason: '  x ' }, alice, config, 'validation_failed'],
    ['zero duration', { durationMinutes: 0 }, alice, config, 'duration_out_of_range'],
    ['negative duration', { durationMinutes: -5 }, alice, config, 'duration_out_of_range'],
    ['fractional duration', { durationMinutes: 1.5 }, alice, config, 'duration_out_of_range'],
    ['over maxDuration', { durationMinutes: 241 }, alice, config, 'duration_out_of_range'],
    ['no ticket', { ticket: null }, alice, config, 'ticket_required'],
    ['blank ticket', { ticket: '   ' }, alice, config, 'ticket_required'],
    ['malformed ticket', { ticket: 'JIRA-1' }, alice, config, 'ticket_invalid'],
    ['ticket with a suffix', { ticket: 'INC-1x' }, alice, config, 'ticket_invalid'],
    ['start in the past', { startAt: isoAt(-2) }, alice, config, 'start_out_of_range'],
    ['start beyond 7 days', { startAt: isoAt(7 * 24 * 60 + 1) }, alice, config, 'start_out_of_range'],
    ['start not a time', { startAt: 'tomorrow' }, alice, config, 'validation_failed'],
    ['emergency without ticket', { emergency: true, ticket: null }, alice, config, 'ticket_required'],
    [
      'emergency with a start time',
      { emergency: true, startAt: isoAt(5) },
      alice,
      config,
      'start_out_of_range',
    ],
    [
      'emergency on a role that does not allow it',
      { ...readonlyInput, emergency: true, ticket: 'INC-1' },
      alice,
      config,
      'emergency_not_allowed',
    ],
    [
      'emergency without a ticket on a role that does not allow emergency: says so first, not "ticket"',
      { ...readonlyInput, emergency: true, ticket: null },
      alice,
      config,
      'emergency_not_allowed',
    ],
    [
      'emergency ticket even where tickets are optional',
      { ...readonlyInput, emergency: true, ticket: null },
      alice,
      emergencyReadonly,
      'ticket_required',
    ],
    [
      'emergency without MFA when MFA is required',
      { emergency: true },
      person('alice', ['sre'], { mfa: false }),
      mfaConfig,
      'mfa_required',
    ],
  ])('refuses: %s', (_name, input, caller, cfg, code) => {
    expect(codeOf(() => create(input, caller, NOW, cfg))).toBe(code);
  });

  it.each<[string, Partial<CreateInput>]>([
    ['exactly maxDuration', { durationMinutes: 240 }],
    ['a start exactly 7 days ahead', { startAt: isoAt(7 * 24 * 60) }],
    ['a role without a ticket rule', { ...readonlyInput, ticket: null }],
  ])('accepts %s', (_name, input) => {
    expect(create(input).request.status).toBe('pending');
  });

  it('states the maximum duration the way people write it (4h, not 240 minutes)', () => {
    let message = '';
    try {
      create({ durationMinutes: 241 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('duration must be at most 4h for prod-admin');
  });

  it('a normal request needs no MFA even when MFA is required', () => {
    const noMfa = person('alice', ['sre'], { mfa: false });
    expect(create({}, noMfa, NOW, mfaConfig).request.status).toBe('pending');
  });

  it('stores an optional ticket trimmed, and none as null', () => {
    expect(create({ ...readonlyInput, ticket: '  CHG-7 ' }).request.ticket).toBe('CHG-7');
    expect(create({ ...readonlyInput, ticket: '' }).request.ticket).toBeNull();
  });
});

describe('approve', () => {
  it('stays pending until the count is reached, then activates', () => {
    const pending = create().request;
    const first = approve(config, pending, bob, 'ok', at(1));
    expect(first.request).toMatchObject({ status: 'pending', version: 2, updatedAt: isoAt(1) });
    expect(first.request.approvals).toEqual([
      { approver: { subject: 'sub-bob', email: 'bob@example.com' }, at: isoAt(1), comment: 'ok', via: 'cli' },
    ]);
    expect(types(first)).toEqual(['approval.recorded']);
    expect(first.events[0]?.data).toEqual({ comment: 'ok', count: 1, required: 2 });

    const second = approve(config, first.request, dave, null, at(2));
    expect(second.request).toMatchObject({
      status: 'active',
      startAt: isoAt(2),
      endAt: isoAt(62),
      version: 3,
    });
    expect(second.request.approvals.map((a) => a.approver.email)).toEqual([
      'bob@example.com',
      'dave@example.com',
    ]);
    expect(types(second)).toEqual(['approval.recorded', 'request.approved', 'grant.activated']);
  });

  it('needs every one of N approvals', () => {
    const cfg = configWith((raw) => {
      raw.roles[0].approvalsRequired = 3;
    });
    let request = create({}, alice, NOW, cfg).request;
    request = approve(cfg, request, bob, null, at(1)).request;
    request = approve(cfg, request, dave, null, at(2)).request;
    expect(request.status).toBe('pending');
    request = approve(cfg, request, frank, null, at(3)).request;
    expect(request.status).toBe('active');
    expect(request.approvals).toHaveLength(3);
  });

  it('a scheduled request waits as approved until its start', () => {
    let request = create({ startAt: isoAt(60) }).request;
    request = approve(config, request, bob, null, at(1)).request;
    const outcome = approve(config, request, dave, null, at(2));
    expect(outcome.request).toMatchObject({ status: 'approved', startAt: isoAt(60), endAt: isoAt(120) });
    expect(types(outcome)).toEqual(['approval.recorded', 'request.approved']);
  });

  it('a scheduled request approved after its start activates at once, keeping its planned end', () => {
    let request = create({ startAt: isoAt(10) }).request;
    request = approve(config, request, bob, null, at(15)).request;
    const outcome = approve(config, request, dave, null, at(20));
    expect(outcome.request).toMatchObject({ status: 'active', startAt: isoAt(10), endAt: isoAt(70) });
  });

  it.each<[string, Caller, string]>([
    ['the requester', alice, 'self_approval'],
    ['the requester, even in an approver group', person('alice', ['sre', 'sre-leads']), 'self_approval'],
    ['an auditor', carol, 'not_approver'],
    ['an admin', pat, 'not_approver'],
    ['someone with no groups', erin, 'not_approver'],
    ['another requester', person('sam', ['sre']), 'not_approver'],
  ])('refuses %s', (_name, caller, code) => {
    expect(codeOf(() => approve(config, create().request, caller, null, at(1)))).toBe(code);
  });

  it('refuses a second approval by the same approver', () => {
    const once = approve(config, create().request, bob, null, at(1)).request;
    expect(codeOf(() => approve(config, once, bob, null, at(2)))).toBe('already_approved');
    // Same person through another channel is still the same approver.
    expect(codeOf(() => approve(config, once, { ...bob, via: 'slack' }, null, at(2)))).toBe(
      'already_approved',
    );
  });

  it('knows the same person by email when the subject differs (e.g. arriving through Slack)', () => {
    const aliceViaSlack = person('alice-slack', ['sre-leads'], { email: 'Alice@Example.com', via: 'slack' });
    expect(codeOf(() => approve(config, create().request, aliceViaSlack, null, at(1)))).toBe('self_approval');
    const once = approve(config, create().request, bob, null, at(1)).request;
    const bobViaSlack = person('bob-slack', ['sre-leads'], { email: 'BOB@example.com', via: 'slack' });
    expect(codeOf(() => approve(config, once, bobViaSlack, null, at(2)))).toBe('already_approved');
  });

  it('approverUsers approve by email, case-insensitively', () => {
    const cfg = configWith((raw) => {
      raw.roles[1].approverUsers = ['Erin@Example.com'];
    });
    const pending = createRequest(cfg, alice, readonlyInput, NOW).request;
    expect(approve(cfg, pending, erin, null, at(1)).request.status).toBe('active');
    expect(codeOf(() => approve(config, pending, erin, null, at(1)))).toBe('not_approver');
  });

  it('requires MFA when the config says so', () => {
    const pending = create({}, alice, NOW, mfaConfig).request;
    expect(codeOf(() => approve(mfaConfig, pending, { ...bob, mfa: false }, null, at(1)))).toBe(
      'mfa_required',
    );
    expect(approve(mfaConfig, pending, bob, null, at(1)).request.approvals).toHaveLength(1);
    expect(approve(config, pending, { ...bob, mfa: false }, null, at(1)).request.approvals).toHaveLength(1);
  });

  it('refuses requests that are no longer pending', () => {
    const active = activeGrant();
    expect(codeOf(() => approve(config, active, frank, null, at(3)))).toBe('invalid_state');
    const denied = deny(config, create().request, bob, 'no', at(1)).request;
    expect(codeOf(() => approve(config, denied, dave, null, at(2)))).toBe('invalid_state');
    const approved = createRequest(
      zeroApprovals,
      alice,
      { ...readonlyInput, startAt: isoAt(30) },
      NOW,
    ).request;
    expect(codeOf(() => approve(zeroApprovals, approved, bob, null, at(1)))).toBe('invalid_state');
  });

  it('refuses a late approval once the pending timeout has passed, even before the sweeper ran', () => {
    const once = approve(config, create().request, bob, null, at(1)).request;
    expect(codeOf(() => approve(config, once, dave, null, at(120)))).toBe('invalid_state');
    expect(approve(config, once, dave, null, at(119)).request.status).toBe('active');
  });
});

describe('deny', () => {
  it('ends a pending request', () => {
    const outcome = deny(config, create().request, bob, 'not needed', at(5));
    expect(outcome.request).toMatchObject({
      status: 'denied',
      endReason: 'denied',
      version: 2,
      denial: {
        by: { subject: 'sub-bob', email: 'bob@example.com' },
        at: isoAt(5),
        comment: 'not needed',
        via: 'cli',
      },
    });
    expect(types(outcome)).toEqual(['request.denied']);
    expect(nextDue(outcome.request)).toBeNull();
  });

  it('ends a request that already has some approvals', () => {
    const once = approve(config, create().request, bob, null, at(1)).request;
    expect(deny(config, once, dave, 'no', at(2)).request.status).toBe('denied');
  });

  it.each<[string, Caller, string]>([
    ['the requester', alice, 'self_approval'],
    ['an auditor', carol, 'not_approver'],
    ['someone with no groups', erin, 'not_approver'],
  ])('refuses %s', (_name, caller, code) => {
    expect(codeOf(() => deny(config, create().request, caller, 'no', at(1)))).toBe(code);
  });

  it('refuses an active grant without a pending extension', () => {
    expect(codeOf(() => deny(config, activeGrant(), bob, 'no', at(3)))).toBe('invalid_state');
  });
});

describe('cancel', () => {
  it('the requester cancels a pending request', () => {
    const outcome = cancel(create().request, alice, at(1));
    expect(outcome.request).toMatchObject({
      status: 'cancelled',
      endReason: 'cancelled',
      cancellation: { by: { subject: 'sub-alice' }, at: isoAt(1) },
      version: 2,
    });
    expect(types(outcome)).toEqual(['request.cancelled']);
  });

  it('the requester cancels an approved request that has not started', () => {
    const approved = createRequest(
      zeroApprovals,
      alice,
      { ...readonlyInput, startAt: isoAt(30) },
      NOW,
    ).request;
    expect(cancel(approved, alice, at(1)).request.status).toBe('cancelled');
  });

  it('nobody else may cancel', () => {
    for (const caller of [bob, carol, pat, erin]) {
      expect(codeOf(() => cancel(create().request, caller, at(1)))).toBe('forbidden');
    }
  });

  it('an active grant is revoked, not cancelled', () => {
    expect(codeOf(() => cancel(activeGrant(), alice, at(3)))).toBe('invalid_state');
  });
});

describe('revoke', () => {
  it.each<[string, Caller]>([
    ['its requester', alice],
    ['an approver of the role', bob],
    ['an approver who did not approve it', frank],
    ['an admin', pat],
  ])('%s may revoke an active grant', (_name, caller) => {
    const outcome = revoke(config, activeGrant(), caller, 'done early', at(10));
    expect(outcome.request).toMatchObject({
      status: 'revoked',
      endReason: 'revoked',
      revocation: { by: { subject: caller.subject }, at: isoAt(10), reason: 'done early' },
      version: 4,
    });
    expect(types(outcome)).toEqual(['grant.revoked']);
    expect(outcome.events[0]?.data).toEqual({
      reason: 'done early',
      wasActive: true,
      plannedEndAt: isoAt(62),
    });
    expect(nextDue(outcome.request)).toBeNull();
  });

  it.each<[string, Caller]>([
    ['an auditor', carol],
    ['someone with no groups', erin],
    ['another requester', person('sam', ['sre'])],
  ])('%s may not revoke', (_name, caller) => {
    expect(codeOf(() => revoke(config, activeGrant(), caller, 'x', at(10)))).toBe('forbidden');
  });

  it('revokes an approved grant before it starts', () => {
    const approved = createRequest(
      zeroApprovals,
      alice,
      { ...readonlyInput, startAt: isoAt(30) },
      NOW,
    ).request;
    const outcome = revoke(zeroApprovals, approved, bob, 'changed plans', at(1));
    expect(outcome.request.status).toBe('revoked');
    expect(outcome.events[0]?.data.wasActive).toBe(false);
  });

  it('only approved or active grants can be revoked', () => {
    expect(codeOf(() => revoke(config, create().request, bob, 'x', at(1)))).toBe('invalid_state');
    const expired = applyTransition(config, activeGrant(), 'expire', at(62))!.request;
    expect(codeOf(() => revoke(config, expired, pat, 'x', at(63)))).toBe('invalid_state');
  });

  it('drops a pending extension', () => {
    const extending = requestExtension(
      config,
      activeGrant(),
      alice,
      { durationMinutes: 30, reason: 'more' },
      at(10),
    );
    expect(revoke(config, extending.request, bob, 'stop', at(11)).request.extension).toBeNull();
  });
});

describe('extension', () => {
  const ask = (request: AccessRequest, minutes: number, now = at(10), caller = alice) =>
    requestExtension(config, request, caller, { durationMinutes: minutes, reason: 'still fixing' }, now);

  it('needs the role approvals even for an emergency grant, which started without any', () => {
    const emergency = emergencyGrant();
    expect(emergency.approvalsRequired).toBe(0);
    const asked = ask(emergency, 30, at(5));
    expect(asked.request.extension).toMatchObject({ approvalsRequired: 2, approvals: [] });
    expect(asked.request.endAt).toBe(emergency.endAt);
    expect(types(asked)).toEqual(['grant.extension_requested']);
    const once = approve(config, asked.request, bob, null, at(6));
    expect(once.request.endAt).toBe(emergency.endAt);
    const twice = approve(config, once.request, dave, null, at(7));
    expect(types(twice)).toEqual(['approval.recorded', 'grant.extended']);
  });

  it('needs the same approvals, then moves the end', () => {
    const active = activeGrant();
    const asked = ask(active, 60);
    expect(asked.request).toMatchObject({
      status: 'active',
      endAt: isoAt(62),
      version: 4,
      extension: { durationMinutes: 60, reason: 'still fixing', requestedAt: isoAt(10), approvals: [] },
    });
    expect(types(asked)).toEqual(['grant.extension_requested']);

    const once = approve(config, asked.request, bob, null, at(11));
    expect(once.request.endAt).toBe(isoAt(62));
    expect(once.request.extension?.approvals).toHaveLength(1);
    expect(once.events[0]?.data).toMatchObject({ extension: true, count: 1, required: 2 });
    expect(codeOf(() => approve(config, once.request, bob, null, at(12)))).toBe('already_approved');

    const done = approve(config, once.request, dave, null, at(12));
    expect(done.request).toMatchObject({
      status: 'active',
      startAt: isoAt(2),
      endAt: isoAt(122),
      durationMinutes: 120,
      extension: null,
      version: 6,
    });
    expect(done.request.extensions).toEqual([
      {
        durationMinutes: 60,
        reason: 'still fixing',
        approvedAt: isoAt(12),
        previousEndAt: isoAt(62),
        approvals: [expect.objectContaining({ at: isoAt(11) }), expect.objectContaining({ at: isoAt(12) })],
      },
    ]);
    expect(types(done)).toEqual(['approval.recorded', 'grant.extended']);
    expect(done.events[1]?.data).toEqual({
      previousEndAt: isoAt(62),
      endAt: isoAt(122),
      durationMinutes: 60,
    });
    expect(nextDue(done.request)).toEqual({ at: isoAt(122), transition: 'expire' });
  });

  it('never goes beyond maxDuration from the original start', () => {
    // Started at +2 for 60 minutes with a 240-minute maximum: at most 180 more minutes in total.
    expect(codeOf(() => ask(activeGrant(), 181))).toBe('extension_too_long');
    expect(ask(activeGrant(), 180).request.extension?.durationMinutes).toBe(180);

    const cfg = configWith((raw) => {
      raw.roles[0].approvalsRequired = 1;
    });
    let request = approve(cfg, create({}, alice, NOW, cfg).request, bob, null, at(2)).request;
    request = requestExtension(cfg, request, alice, { durationMinutes: 100, reason: 'r' }, at(5)).request;
    request = approve(cfg, request, dave, null, at(6)).request;
    expect(request.endAt).toBe(isoAt(162));
    // 240 - 160 already granted = 80 left.
    const more = (minutes: number) =>
      requestExtension(cfg, request, alice, { durationMinutes: minutes, reason: 'r' }, at(7));
    expect(codeOf(() => more(81))).toBe('extension_too_long');
    expect(more(80).request.extension?.durationMinutes).toBe(80);
  });

  it('only one extension waits at a time', () => {
    const asked = ask(activeGrant(), 30).request;
    expect(codeOf(() => ask(asked, 30, at(11)))).toBe('extension_pending');
  });

  it('a denied extension leaves the grant active and unchanged', () => {
    const asked = ask(activeGrant(), 30).request;
    const denied = deny(config, asked, bob, 'no', at(11));
    expect(denied.request).toMatchObject({ status: 'active', endAt: isoAt(62), extension: null, version: 5 });
    expect(types(denied)).toEqual(['grant.extension_denied']);
    // And a new one may be asked for afterwards.
    expect(ask(denied.request, 30, at(12)).request.extension).not.toBeNull();
  });

  it('keeps a denied extension, with its approvals and the denial, on the request', () => {
    const asked = ask(activeGrant(), 30).request;
    const once = approve(config, asked, dave, 'fine by me', at(11)).request;
    const denied = deny(config, once, bob, 'wrap it up', at(12)).request;
    expect(denied.deniedExtensions).toEqual([
      {
        durationMinutes: 30,
        reason: 'still fixing',
        requestedAt: isoAt(10),
        approvals: [
          expect.objectContaining({
            approver: expect.objectContaining({ email: 'dave@example.com' }),
            comment: 'fine by me',
          }),
        ],
        denial: expect.objectContaining({
          by: expect.objectContaining({ email: 'bob@example.com' }),
          at: isoAt(12),
          comment: 'wrap it up',
        }),
      },
    ]);
  });

  it('records who approved a granted extension', () => {
    const asked = ask(activeGrant(), 30).request;
    const once = approve(config, asked, bob, null, at(11)).request;
    const extended = approve(config, once, dave, null, at(12)).request;
    expect(extended.extensions.at(-1)?.approvals?.map((approval) => approval.approver.email)).toEqual([
      'bob@example.com',
      'dave@example.com',
    ]);
  });

  it('is applied at once when the role needs no approvals', () => {
    const active = createRequest(zeroApprovals, alice, readonlyInput, NOW).request;
    const outcome = requestExtension(
      zeroApprovals,
      active,
      alice,
      { durationMinutes: 30, reason: 'r' },
      at(5),
    );
    expect(outcome.request).toMatchObject({ endAt: isoAt(90), extension: null, version: 2 });
    expect(types(outcome)).toEqual(['grant.extension_requested', 'grant.extended']);
  });

  it.each<[string, () => AccessRequest, Caller, number, string]>([
    ['by someone else', activeGrant, bob, 30, 'forbidden'],
    ['of a pending request', () => create().request, alice, 30, 'invalid_state'],
    ['of zero minutes', activeGrant, alice, 0, 'duration_out_of_range'],
  ])('refuses an extension %s', (_name, build, caller, minutes, code) => {
    expect(codeOf(() => ask(build(), minutes, at(10), caller))).toBe(code);
  });

  it('refuses an extension, or its approval, once the grant has ended but is not yet expired', () => {
    const active = activeGrant();
    expect(codeOf(() => ask(active, 30, at(62)))).toBe('invalid_state');
    const once = approve(config, ask(active, 30, at(10)).request, bob, null, at(11)).request;
    expect(codeOf(() => approve(config, once, dave, null, at(62)))).toBe('invalid_state');
  });

  it('the requester cannot approve their own extension', () => {
    expect(codeOf(() => approve(config, ask(activeGrant(), 30).request, alice, null, at(11)))).toBe(
      'self_approval',
    );
  });

  it('expiry drops an extension that is still waiting', () => {
    const asked = ask(activeGrant(), 30).request;
    const expired = applyTransition(config, asked, 'expire', at(62));
    expect(expired?.request).toMatchObject({ status: 'expired', extension: null });
  });
});

describe('post-review of emergency grants', () => {
  it('an approver records it once', () => {
    const outcome = review(
      config,
      emergencyGrant(),
      bob,
      { outcome: 'acknowledged', comment: 'fine' },
      at(30),
    );
    expect(outcome.request.postReview).toEqual({
      dueAt: isoAt(24 * 60),
      outcome: 'acknowledged',
      by: { subject: 'sub-bob', email: 'bob@example.com' },
      at: isoAt(30),
      comment: 'fine',
      overdue: false,
    });
    expect(outcome.request.status).toBe('active');
    expect(types(outcome)).toEqual(['review.recorded']);
    expect(outcome.events[0]?.data).toEqual({ outcome: 'acknowledged', comment: 'fine', overdue: false });
    expect(
      codeOf(() => review(config, outcome.request, dave, { outcome: 'flagged', comment: 'x' }, at(31))),
    ).toBe('invalid_state');
  });

  it.each<[string, Caller, string]>([
    ['the requester', alice, 'self_approval'],
    ['an auditor', carol, 'not_approver'],
    ['an admin', pat, 'not_approver'],
  ])('refuses %s', (_name, caller, code) => {
    expect(
      codeOf(() => review(config, emergencyGrant(), caller, { outcome: 'flagged', comment: 'x' }, at(1))),
    ).toBe(code);
  });

  it('only emergency grants are reviewed', () => {
    expect(
      codeOf(() => review(config, activeGrant(), bob, { outcome: 'flagged', comment: 'x' }, at(5))),
    ).toBe('not_emergency');
  });

  it('a late review says it was overdue, and still counts after the grant ended', () => {
    const expired = applyTransition(config, emergencyGrant(), 'expire', at(60))!.request;
    const late = review(config, expired, bob, { outcome: 'flagged', comment: 'why?' }, at(25 * 60));
    expect(late.request.status).toBe('expired');
    expect(late.events[0]?.data.overdue).toBe(true);
  });
});

describe('time-driven transitions', () => {
  it('timeout: only a pending request, only when due, only once', () => {
    const pending = create().request;
    expect(applyTransition(config, pending, 'timeout', at(119))).toBeNull();
    const outcome = applyTransition(config, pending, 'timeout', at(120));
    expect(outcome?.request).toMatchObject({ status: 'timed_out', endReason: 'timed_out', version: 2 });
    expect(outcome && types(outcome)).toEqual(['request.timed_out']);
    expect(applyTransition(config, outcome!.request, 'timeout', at(121))).toBeNull();
    expect(applyTransition(config, activeGrant(), 'timeout', at(500))).toBeNull();
  });

  it('expire: only an active grant, only at its end, only once', () => {
    const active = activeGrant();
    expect(applyTransition(config, active, 'expire', at(61))).toBeNull();
    const outcome = applyTransition(config, active, 'expire', at(62));
    expect(outcome?.request).toMatchObject({ status: 'expired', endReason: 'expired', version: 4 });
    expect(outcome && types(outcome)).toEqual(['grant.expired']);
    expect(applyTransition(config, outcome!.request, 'expire', at(63))).toBeNull();
    expect(applyTransition(config, create().request, 'expire', at(500))).toBeNull();
  });

  it('activate: only an approved request, only from its start, only once', () => {
    let request = create({ startAt: isoAt(60) }).request;
    expect(applyTransition(config, request, 'activate', at(61))).toBeNull();
    request = approve(config, request, bob, null, at(1)).request;
    request = approve(config, request, dave, null, at(2)).request;
    expect(applyTransition(config, request, 'activate', at(59))).toBeNull();
    const outcome = applyTransition(config, request, 'activate', at(60));
    expect(outcome?.request.status).toBe('active');
    expect(applyTransition(config, outcome!.request, 'activate', at(61))).toBeNull();
  });

  it('activate after the planned end records expiry without activating', () => {
    const approved = createRequest(
      zeroApprovals,
      alice,
      { ...readonlyInput, startAt: isoAt(30) },
      NOW,
    ).request;
    const outcome = applyTransition(zeroApprovals, approved, 'activate', at(90));
    expect(outcome?.request.status).toBe('expired');
    expect(outcome?.events[0]).toMatchObject({ type: 'grant.expired', data: { activated: false } });
  });

  it('review_overdue: raised once when due and not yet reviewed', () => {
    const grant = emergencyGrant();
    expect(nextDue(grant)).toEqual({ at: isoAt(60), transition: 'expire' });
    const expired = applyTransition(config, grant, 'expire', at(60))!.request;
    expect(nextDue(expired)).toEqual({ at: isoAt(24 * 60), transition: 'review_overdue' });
    expect(applyTransition(config, expired, 'review_overdue', at(24 * 60 - 1))).toBeNull();
    const overdue = applyTransition(config, expired, 'review_overdue', at(24 * 60));
    expect(overdue?.request).toMatchObject({ status: 'expired', postReview: { overdue: true } });
    expect(overdue && types(overdue)).toEqual(['review.overdue']);
    expect(applyTransition(config, overdue!.request, 'review_overdue', at(24 * 60 + 1))).toBeNull();
    // Still owed: it keeps a place in the due order (the review queue reads it there), after every deadline.
    expect(nextDue(overdue!.request)).toEqual({ at: REVIEW_OWED_AT, transition: 'review_overdue' });
    const lateReview = review(
      config,
      overdue!.request,
      bob,
      { outcome: 'flagged', comment: 'late' },
      at(3000),
    );
    expect(lateReview.request.postReview).toMatchObject({ outcome: 'flagged', overdue: true });
    expect(lateReview.events[0]?.data).toMatchObject({ overdue: true });
    expect(nextDue(lateReview.request)).toBeNull();

    const reviewed = review(
      config,
      expired,
      bob,
      { outcome: 'acknowledged', comment: 'ok' },
      at(100),
    ).request;
    expect(applyTransition(config, reviewed, 'review_overdue', at(24 * 60))).toBeNull();
    expect(applyTransition(config, activeGrant(), 'review_overdue', at(24 * 60))).toBeNull();
  });

  describe('activation fails closed', () => {
    const scheduled = () => {
      let request = create({ startAt: isoAt(60) }).request;
      request = approve(config, request, bob, null, at(1)).request;
      return approve(config, request, dave, null, at(2)).request;
    };

    it('when the role was removed from config', () => {
      const withoutAdmin = configWith((raw) => {
        raw.roles.splice(0, 1);
      });
      const outcome = applyTransition(withoutAdmin, scheduled(), 'activate', at(60));
      expect(outcome?.request.status).toBe('failed');
      expect(outcome?.request.endReason).toMatch(/^activation_failed: /);
      expect(outcome && types(outcome)).toEqual(['grant.failed']);
      expect(outcome?.events[0]?.actor).toEqual({ type: 'system', subject: 'scheduler' });
    });

    it("when the requester's groups no longer qualify", () => {
      const narrowed = configWith((raw) => {
        raw.roles[0].requesters = ['oncall'];
      });
      const outcome = applyTransition(narrowed, scheduled(), 'activate', at(60));
      expect(outcome?.request.status).toBe('failed');
      expect(outcome && types(outcome)).toEqual(['grant.failed']);
      expect(isTerminal('failed')).toBe(true);
    });

    it('when the last approval arrives after the role changed', () => {
      const narrowed = configWith((raw) => {
        raw.roles[0].requesters = ['oncall'];
      });
      const once = approve(config, create().request, bob, null, at(1)).request;
      const outcome = approve(narrowed, once, dave, null, at(2));
      expect(outcome.request.status).toBe('failed');
      expect(types(outcome)).toEqual(['approval.recorded', 'request.approved', 'grant.failed']);
    });
  });
});

describe('nextDue', () => {
  it('names nothing for terminal requests without an outstanding review', () => {
    expect(nextDue(cancel(create().request, alice, at(1)).request)).toBeNull();
    expect(nextDue(deny(config, create().request, bob, 'no', at(1)).request)).toBeNull();
  });

  it('names the earliest of expiry and review deadline', () => {
    const cfg = configWith((raw) => {
      raw.roles[0].emergency.postReviewWithin = '30m';
    });
    expect(nextDue(emergencyGrant(cfg))).toEqual({ at: isoAt(30), transition: 'review_overdue' });
  });

  it('an active grant whose review is overdue is due at its end first; the owed review sorts after it', () => {
    const cfg = configWith((raw) => {
      raw.roles[0].emergency.postReviewWithin = '30m';
    });
    const overdue = applyTransition(cfg, emergencyGrant(cfg), 'review_overdue', at(30))!.request;
    expect(overdue.status).toBe('active');
    expect(nextDue(overdue)).toEqual({ at: isoAt(60), transition: 'expire' });
    const expired = applyTransition(cfg, overdue, 'expire', at(60))!.request;
    expect(nextDue(expired)).toEqual({ at: REVIEW_OWED_AT, transition: 'review_overdue' });
    // Applying the owed entry is a no-op, however late: a sweep that somehow reached it changes nothing.
    expect(applyTransition(cfg, expired, 'review_overdue', new Date(REVIEW_OWED_AT))).toBeNull();
  });
});
