/**
 * Property tests: random sequences of commands, callers and clock steps against the lifecycle, checking the
 * invariants that must hold whatever happens (DESIGN.md invariant 3 and the state machine's shape).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BreakglassConfig } from '../../api/config/schema.js';
import { DomainError } from '../../api/domain/errors.js';
import {
  applyTransition,
  approve,
  type CreateInput,
  cancel,
  createRequest,
  deny,
  findRole,
  isTerminal,
  nextDue,
  type Outcome,
  requestExtension,
  review,
  revoke,
} from '../../api/domain/lifecycle.js';
import {
  type AccessRequest,
  AUDIT_EVENT_TYPES,
  type Caller,
  type RequestStatus,
  type Transition,
} from '../../api/domain/types.js';
import { alice, at, bob, carol, configWith, dave, erin, frank, NOW, pat, person } from './support.js';

const base = configWith((raw) => {
  raw.oidc.requireMfa = true;
  raw.roles.push(
    { ...raw.roles[1], id: 'zero', approvalsRequired: 0, pendingTimeout: '30m' },
    { ...raw.roles[1], id: 'triple', approvalsRequired: 3, maxDuration: '2h' },
  );
});
/** The same policy after an edit: prod-admin removed and prod-readonly no longer requestable by `sre`. */
const edited: BreakglassConfig = {
  ...base,
  roles: base.roles
    .filter((role) => role.id !== 'prod-admin')
    .map((role) => (role.id === 'prod-readonly' ? { ...role, requesters: ['oncall'] } : role)),
};

const callers: Caller[] = [
  alice,
  person('alice', ['sre', 'sre-leads']),
  bob,
  person('bob', ['sre-leads'], { mfa: false, via: 'slack' }),
  dave,
  frank,
  carol,
  pat,
  erin,
];

type Command =
  | { kind: 'approve' | 'deny' | 'cancel' | 'revoke' | 'review'; who: number }
  | { kind: 'extend'; who: number; minutes: number }
  | { kind: 'transition'; transition: Transition }
  | { kind: 'sweep' };

interface Step {
  command: Command;
  advanceMinutes: number;
  editedConfig: boolean;
}

// Eligible approvers (bob, dave, frank) more often than the rest, so that decisions actually land.
const who = fc.oneof(
  { weight: 1, arbitrary: fc.nat({ max: callers.length - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(2, 4, 5) },
);
// Weighted so that runs reach deep states (extensions, reviews) before the clock ends them.
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('approve'), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deny'), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('cancel', 'revoke', 'review'), who }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('extend'),
      // Mostly the requester, who alone may extend.
      who: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: who }),
      minutes: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('transition'),
      transition: fc.constantFrom<Transition>('activate', 'expire', 'timeout', 'review_overdue'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sweep') }) },
);
const stepArb: fc.Arbitrary<Step> = fc.record({
  command: commandArb,
  advanceMinutes: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 15 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2000 }) },
  ),
  editedConfig: fc.nat({ max: 9 }).map((n) => n === 0),
});
const common = {
  id: fc.constant('req_prop'),
  durationMinutes: fc.integer({ min: 1, max: 120 }),
  reason: fc.constant('property test'),
  ticket: fc.constant('INC-7'),
};
const createArb: fc.Arbitrary<CreateInput> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      ...common,
      roleId: fc.constantFrom('prod-admin', 'prod-readonly', 'zero', 'triple'),
      startAt: fc.option(
        fc.integer({ min: 0, max: 600 }).map((minutes) => at(minutes).toISOString()),
        { nil: null, freq: 2 },
      ),
      emergency: fc.constant(false),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ ...common, roleId: fc.constant('prod-admin'), emergency: fc.constant(true) }),
  },
);

/** Which statuses a status may move to in one stored change. */
const NEXT: Record<RequestStatus, RequestStatus[]> = {
  pending: ['pending', 'approved', 'active', 'denied', 'cancelled', 'timed_out', 'failed'],
  approved: ['active', 'expired', 'failed', 'cancelled', 'revoked'],
  active: ['active', 'expired', 'revoked'],
  expired: ['expired'],
  revoked: ['revoked'],
  denied: ['denied'],
  cancelled: ['cancelled'],
  timed_out: ['timed_out'],
  failed: ['failed'],
};

function run(config: BreakglassConfig, request: AccessRequest, command: Command, now: Date): Outcome | null {
  const caller = 'who' in command ? callers[command.who]! : alice;
  switch (command.kind) {
    case 'approve':
      return approve(config, request, caller, null, now);
    case 'deny':
      return deny(config, request, caller, 'no', now);
    case 'cancel':
      return cancel(request, caller, now);
    case 'revoke':
      return revoke(config, request, caller, 'stop', now);
    case 'review':
      return review(config, request, caller, { outcome: 'acknowledged', comment: 'ok' }, now);
    case 'extend':
      return requestExtension(
        config,
        request,
        caller,
        { durationMinutes: command.minutes, reason: 'more' },
        now,
      );
    case 'transition':
      return applyTransition(config, request, command.transition, now);
    case 'sweep': {
      const due = nextDue(request);
      return due ? applyTransition(config, request, due.transition, now) : null;
    }
  }
}

function checkShape(request: AccessRequest): void {
  const role = findRole(base, request.roleId)!;
  for (const approvals of [request.approvals, request.extension?.approvals ?? []]) {
    const subjects = approvals.map((approval) => approval.approver.subject);
    expect(subjects).not.toContain(request.requester.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
  }
  if (request.status === 'approved' || request.status === 'active') {
    expect(request.approvals.length).toBeGreaterThanOrEqual(request.approvalsRequired);
  }
  if (request.status === 'active') {
    expect(request.startAt).not.toBeNull();
    expect(request.endAt).not.toBeNull();
  }
  if (request.startAt && request.endAt) {
    const minutes = (Date.parse(request.endAt) - Date.parse(request.startAt)) / 60_000;
    expect(minutes).toBeGreaterThan(0);
    expect(minutes).toBeLessThanOrEqual(role.maxDuration);
  }
  if (isTerminal(request.status)) expect(request.endReason).not.toBeNull();
}

describe('lifecycle properties', () => {
  it('hold for random sequences of commands and clock steps', { timeout: 60_000 }, () => {
    // Event types and refusal codes the runs reached; checked at the end so the generator keeps exercising
    // the interesting paths rather than passing vacuously. Only paths reached 20+ times per 1000 runs are
    // required (so this never flakes); the rarer ones (extension denial, failed activation) have example tests.
    const reached = new Set<string>();
    fc.assert(
      fc.property(
        createArb,
        fc.array(stepArb, { minLength: 1, maxLength: 40, size: 'max' }),
        (input, steps) => {
          let now = NOW;
          let outcome: Outcome;
          try {
            outcome = createRequest(base, alice, input, now);
          } catch (error) {
            // Only a few valid-looking inputs are refused: emergency on a role without it, or with a start.
            expect(error).toBeInstanceOf(DomainError);
            reached.add((error as DomainError).code);
            return;
          }
          for (const event of outcome.events) reached.add(event.type);
          let request = outcome.request;
          expect(request.version).toBe(1);
          expect(outcome.events[0]?.type).toBe('request.created');
          checkShape(request);

          for (const step of steps) {
            now = new Date(now.getTime() + step.advanceMinutes * 60_000);
            const config = step.editedConfig ? edited : base;
            let next: Outcome | null;
            try {
              next = run(config, request, step.command, now);
            } catch (error) {
              expect(error).toBeInstanceOf(DomainError);
              reached.add((error as DomainError).code);
              continue;
            }
            if (!next) continue;
            expect(NEXT[request.status]).toContain(next.request.status);
            expect(next.request.version).toBe(request.version + 1);
            expect(next.request.updatedAt).toBe(now.toISOString());
            expect(next.events.length).toBeGreaterThanOrEqual(1);
            for (const event of next.events) {
              reached.add(event.type);
              expect(AUDIT_EVENT_TYPES).toContain(event.type);
              expect(event.requestId).toBe(request.id);
            }
            // Fields fixed at creation never change.
            expect(next.request.requester).toEqual(request.requester);
            expect(next.request.roleId).toBe(request.roleId);
            expect(next.request.createdAt).toBe(request.createdAt);
            checkShape(next.request);
            request = next.request;
          }
        },
      ),
      { numRuns: 1000 },
    );
    expect([...reached].sort()).toEqual(
      expect.arrayContaining([
        'already_approved',
        'emergency.activated',
        'forbidden',
        'extension_too_long',
        'grant.activated',
        'grant.expired',
        'grant.extended',
        'grant.revoked',
        'invalid_state',
        'mfa_required',
        'not_approver',
        'request.approved',
        'request.cancelled',
        'request.denied',
        'request.timed_out',
        'review.overdue',
        'review.recorded',
        'self_approval',
      ]),
    );
  });

  it('time-driven transitions fire at most once however often they are retried', () => {
    fc.assert(
      fc.property(
        createArb,
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 10 }),
        (input, offsets) => {
          let request: AccessRequest;
          try {
            request = createRequest(
              base,
              alice,
              { ...input, emergency: true, roleId: 'prod-admin' },
              NOW,
            ).request;
          } catch {
            return;
          }
          for (const offset of [...offsets].sort((a, b) => a - b)) {
            const now = at(offset);
            const first = applyTransition(base, request, 'expire', now);
            if (first) {
              expect(applyTransition(base, first.request, 'expire', now)).toBeNull();
              request = first.request;
            }
            const overdue = applyTransition(base, request, 'review_overdue', now);
            if (overdue) {
              expect(applyTransition(base, overdue.request, 'review_overdue', now)).toBeNull();
              request = overdue.request;
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
