/**
 * The request lifecycle as a pure state machine. Every function takes the current request (or nothing, for
 * create), the caller and the time, and returns the next request together with the audit events that record
 * the change. Nothing here does I/O: the service layer persists both in one transaction.
 */
import type { BreakglassConfig, RoleConfig } from '../config/schema.js';
import { isAdmin, isApproverFor, isOwnRequest, isRequesterFor, requireMfa } from './access.js';
import { formatMinutes } from './duration.js';
import { DomainError } from './errors.js';
import {
  type AccessRequest,
  type Actor,
  type Approval,
  type AuditEventDraft,
  actorOf,
  type Caller,
  identityOf,
  type RequestStatus,
  TERMINAL_STATUSES,
  type Transition,
} from './types.js';

export interface Outcome {
  request: AccessRequest;
  events: AuditEventDraft[];
}

export interface CreateInput {
  id: string;
  roleId: string;
  durationMinutes: number;
  reason: string;
  ticket?: string | null;
  startAt?: string | null;
  emergency?: boolean;
}

/** How far ahead a scheduled start may be. */
export const MAX_SCHEDULE_AHEAD_MINUTES = 7 * 24 * 60;
/** A start time this far in the past is still accepted as "now" (clock skew between client and broker). */
const START_GRACE_MS = 60_000;
const MINUTE = 60_000;

const iso = (date: Date) => date.toISOString();
const plusMinutes = (at: string | Date, minutes: number) =>
  new Date(new Date(at).getTime() + minutes * MINUTE);
const SYSTEM: Actor = { type: 'system', subject: 'scheduler' };

export function findRole(config: BreakglassConfig, roleId: string): RoleConfig | undefined {
  return config.roles.find((role) => role.id === roleId);
}

function eventFor(
  request: AccessRequest,
  type: AuditEventDraft['type'],
  actor: Actor,
  data = {},
): AuditEventDraft {
  return { type, actor, requestId: request.id, roleId: request.roleId, accountId: request.accountId, data };
}

function evolve(request: AccessRequest, now: Date, patch: Partial<AccessRequest>): AccessRequest {
  return { ...request, ...patch, updatedAt: iso(now), version: request.version + 1 };
}

function requireStatus(request: AccessRequest, allowed: RequestStatus[], action: string): void {
  if (!allowed.includes(request.status)) {
    // Not `status`: that member of a problem document is the HTTP status.
    throw new DomainError('invalid_state', `cannot ${action} a request that is ${request.status}`, {
      requestStatus: request.status,
    });
  }
}

/** Validates a new request against its role and returns it in its first status. */
export function createRequest(
  config: BreakglassConfig,
  caller: Caller,
  input: CreateInput,
  now: Date,
): Outcome {
  const role = findRole(config, input.roleId);
  if (!role) throw new DomainError('unknown_role', `no role "${input.roleId}" is configured`);
  if (!isRequesterFor(role, caller)) {
    throw new DomainError('not_requester', `you are not in a group allowed to request ${role.id}`, {
      roleId: role.id,
    });
  }
  const reason = input.reason.trim();
  if (reason.length < 3) throw new DomainError('validation_failed', 'reason must say why access is needed');
  if (!Number.isInteger(input.durationMinutes) || input.durationMinutes < 1) {
    throw new DomainError('duration_out_of_range', 'duration must be at least one minute');
  }
  if (input.durationMinutes > role.maxDuration) {
    throw new DomainError(
      'duration_out_of_range',
      `duration must be at most ${formatMinutes(role.maxDuration)} for ${role.id}`,
      {
        maxDurationMinutes: role.maxDuration,
      },
    );
  }
  const emergency = input.emergency === true;
  // Emergency first: a role without emergency access must say so before asking for a ticket.
  if (emergency) {
    if (!role.emergency.allowed) {
      throw new DomainError('emergency_not_allowed', `${role.id} does not allow emergency access`);
    }
    requireMfa(config, caller, 'emergency access');
  }
  const ticket = input.ticket?.trim() || null;
  if (!ticket && (role.ticket.required || emergency)) {
    throw new DomainError(
      'ticket_required',
      `${role.id} requires a ticket${emergency ? ' for emergency access' : ''}`,
    );
  }
  if (ticket && role.ticket.pattern && !new RegExp(role.ticket.pattern).test(ticket)) {
    throw new DomainError('ticket_invalid', `ticket must match ${role.ticket.pattern}`, {
      pattern: role.ticket.pattern,
    });
  }

  let startAt: string | null = null;
  if (input.startAt) {
    const start = new Date(input.startAt);
    if (Number.isNaN(start.getTime()))
      throw new DomainError('validation_failed', 'startAt must be an ISO 8601 time');
    if (start.getTime() < now.getTime() - START_GRACE_MS) {
      throw new DomainError('start_out_of_range', 'startAt must not be in the past');
    }
    if (start.getTime() > plusMinutes(now, MAX_SCHEDULE_AHEAD_MINUTES).getTime()) {
      throw new DomainError('start_out_of_range', 'startAt must be within 7 days');
    }
    if (emergency) throw new DomainError('start_out_of_range', 'emergency access starts immediately');
    startAt = iso(new Date(Math.max(start.getTime(), now.getTime())));
  }
  const endAt = startAt ? iso(plusMinutes(startAt, input.durationMinutes)) : null;
  const timeout = role.pendingTimeout ?? config.defaults.pendingTimeout;
  let pendingUntil = plusMinutes(now, timeout);
  if (endAt && new Date(endAt) < pendingUntil) pendingUntil = new Date(endAt);

  const request: AccessRequest = {
    id: input.id,
    roleId: role.id,
    accountId: role.accountId,
    roleArn: role.roleArn,
    requester: identityOf(caller),
    requesterGroups: [...caller.groups],
    reason,
    ticket,
    emergency,
    durationMinutes: input.durationMinutes,
    startAt,
    endAt,
    scheduled: startAt !== null,
    status: 'pending',
    approvalsRequired: emergency ? 0 : role.approvalsRequired,
    approvals: [],
    denial: null,
    cancellation: null,
    revocation: null,
    postReview: null,
    extension: null,
    extensions: [],
    pendingUntil: iso(pendingUntil),
    endReason: null,
    createdAt: iso(now),
    updatedAt: iso(now),
    version: 1,
  };
  const actor = actorOf(caller);
  const created = eventFor(request, 'request.created', actor, {
    reason,
    ticket,
    durationMinutes: request.durationMinutes,
    startAt,
    emergency,
    approvalsRequired: request.approvalsRequired,
  });

  if (emergency) {
    const active = activateNow(config, request, now);
    const review: AccessRequest = {
      ...active.request,
      postReview: {
        dueAt: iso(plusMinutes(now, role.emergency.postReviewWithin)),
        outcome: null,
        by: null,
        at: null,
        comment: null,
        overdue: false,
      },
    };
    const emergencyEvent = eventFor(review, 'emergency.activated', actor, {
      endAt: review.endAt,
      postReviewDueAt: review.postReview?.dueAt,
    });
    // Fold the activation into the created version: a new request is stored exactly once.
    return { request: { ...review, version: 1 }, events: [created, ...active.events, emergencyEvent] };
  }
  if (request.approvalsRequired === 0) {
    const approved = approveFully(config, request, now, actor);
    return { request: { ...approved.request, version: 1 }, events: [created, ...approved.events] };
  }
  return { request, events: [created] };
}

/** Moves an approved request on: active at once when its start has come, else it waits as `approved`. */
function approveFully(config: BreakglassConfig, request: AccessRequest, now: Date, actor: Actor): Outcome {
  const approved = evolve(request, now, { status: 'approved' });
  const events = [eventFor(approved, 'request.approved', actor, { approvals: approved.approvals.length })];
  if (approved.startAt === null || new Date(approved.startAt) <= now) {
    const active = activateNow(config, approved, now);
    return {
      request: { ...active.request, version: approved.version },
      events: [...events, ...active.events],
    };
  }
  return { request: approved, events };
}

/**
 * Activation: the role must still be configured and the requester's groups must still make them eligible;
 * otherwise the grant fails closed.
 */
function activateNow(config: BreakglassConfig, request: AccessRequest, now: Date): Outcome {
  const role = findRole(config, request.roleId);
  const problem = !role
    ? `role ${request.roleId} is no longer configured`
    : !isRequesterFor(role, { groups: request.requesterGroups })
      ? `${request.requester.email} is no longer eligible for ${request.roleId}`
      : null;
  if (problem) {
    const failed = evolve(request, now, { status: 'failed', endReason: `activation_failed: ${problem}` });
    return { request: failed, events: [eventFor(failed, 'grant.failed', SYSTEM, { reason: problem })] };
  }
  const startAt = request.scheduled && request.startAt ? request.startAt : iso(now);
  const endAt =
    request.scheduled && request.endAt ? request.endAt : iso(plusMinutes(now, request.durationMinutes));
  if (new Date(endAt) <= now) {
    const expired = evolve(request, now, { status: 'expired', startAt, endAt, endReason: 'expired' });
    return {
      request: expired,
      events: [eventFor(expired, 'grant.expired', SYSTEM, { endAt, activated: false })],
    };
  }
  const active = evolve(request, now, { status: 'active', startAt, endAt });
  return { request: active, events: [eventFor(active, 'grant.activated', SYSTEM, { startAt, endAt })] };
}

function requireApprover(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  action: string,
): RoleConfig {
  const role = findRole(config, request.roleId);
  // The same person can arrive with different subjects (OIDC vs Slack), so the email counts too.
  if (isOwnRequest(request, caller) || sameEmail(request.requester.email, caller.email)) {
    throw new DomainError('self_approval', `you cannot ${action} your own request`);
  }
  if (!role || !isApproverFor(role, caller)) {
    throw new DomainError('not_approver', `you are not an approver for ${request.roleId}`, {
      roleId: request.roleId,
    });
  }
  return role;
}

const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function addApproval(approvals: Approval[], caller: Caller, now: Date, comment: string | null): Approval[] {
  if (
    approvals.some(
      (approval) =>
        approval.approver.subject === caller.subject || sameEmail(approval.approver.email, caller.email),
    )
  ) {
    throw new DomainError('already_approved', 'you have already approved this request');
  }
  return [...approvals, { approver: identityOf(caller), at: iso(now), comment, via: caller.via }];
}

/** An approval counts toward the request (pending) or toward its pending extension (active). */
export function approve(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  comment: string | null,
  now: Date,
): Outcome {
  requireApprover(config, request, caller, 'approve');
  requireMfa(config, caller, 'approving');
  const actor = actorOf(caller);
  if (request.status === 'active' && request.extension) {
    requireNotEnded(request, now, 'approve an extension of');
    const approvals = addApproval(request.extension.approvals, caller, now, comment);
    const extension = { ...request.extension, approvals };
    const recorded = evolve(request, now, { extension });
    const events = [
      eventFor(recorded, 'approval.recorded', actor, {
        extension: true,
        comment,
        count: approvals.length,
        required: extension.approvalsRequired,
      }),
    ];
    if (approvals.length < extension.approvalsRequired) return { request: recorded, events };
    const extended = applyExtension(recorded, now, actor);
    // One stored change, one version step, however many events it carries.
    return {
      request: { ...extended.request, version: recorded.version },
      events: [...events, ...extended.events],
    };
  }
  requireStatus(request, ['pending'], 'approve');
  // The sweeper may not have timed the request out yet; a late approval must not grant access.
  if (new Date(request.pendingUntil) <= now) {
    throw new DomainError('invalid_state', 'cannot approve a request that has timed out', {
      requestStatus: 'timed_out',
    });
  }
  const approvals = addApproval(request.approvals, caller, now, comment);
  const recorded = evolve(request, now, { approvals });
  const events = [
    eventFor(recorded, 'approval.recorded', actor, {
      comment,
      count: approvals.length,
      required: request.approvalsRequired,
    }),
  ];
  if (approvals.length < request.approvalsRequired) return { request: recorded, events };
  const next = approveFully(config, recorded, now, actor);
  return { request: { ...next.request, version: recorded.version }, events: [...events, ...next.events] };
}

/** Deny a pending request, or a pending extension of an active grant. */
export function deny(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  comment: string,
  now: Date,
): Outcome {
  requireApprover(config, request, caller, 'deny');
  const actor = actorOf(caller);
  const decision = { by: identityOf(caller), at: iso(now), comment, via: caller.via };
  if (request.status === 'active' && request.extension) {
    const { durationMinutes, reason, requestedAt, approvals } = request.extension;
    const next = evolve(request, now, {
      extension: null,
      deniedExtensions: [
        ...(request.deniedExtensions ?? []),
        { durationMinutes, reason, requestedAt, approvals, denial: decision },
      ],
    });
    return {
      request: next,
      events: [
        eventFor(next, 'grant.extension_denied', actor, {
          comment,
          durationMinutes: request.extension.durationMinutes,
        }),
      ],
    };
  }
  requireStatus(request, ['pending'], 'deny');
  const next = evolve(request, now, { status: 'denied', denial: decision, endReason: 'denied' });
  return { request: next, events: [eventFor(next, 'request.denied', actor, { comment })] };
}

/**
 * An active grant whose end has passed is over even before the sweeper records `grant.expired`: extending it
 * then would bring back access that has already ended.
 */
function requireNotEnded(request: AccessRequest, now: Date, action: string): void {
  if (request.endAt !== null && new Date(request.endAt) <= now) {
    throw new DomainError('invalid_state', `cannot ${action} a grant that has ended`, {
      requestStatus: 'expired',
    });
  }
}

/** The requester withdraws a request that has not started. */
export function cancel(request: AccessRequest, caller: Caller, now: Date): Outcome {
  if (!isOwnRequest(request, caller)) {
    throw new DomainError('forbidden', 'only the requester can cancel a request');
  }
  requireStatus(request, ['pending', 'approved'], 'cancel');
  const decision = { by: identityOf(caller), at: iso(now), comment: null, via: caller.via };
  const next = evolve(request, now, { status: 'cancelled', cancellation: decision, endReason: 'cancelled' });
  return { request: next, events: [eventFor(next, 'request.cancelled', actorOf(caller), {})] };
}

/** Revoke an approved or active grant: its requester, approvers of the role, or admins. */
export function revoke(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  reason: string,
  now: Date,
): Outcome {
  const role = findRole(config, request.roleId);
  const allowed =
    isOwnRequest(request, caller) ||
    (role !== undefined && isApproverFor(role, caller)) ||
    isAdmin(config, caller);
  if (!allowed)
    throw new DomainError('forbidden', 'only the requester, approvers of the role or admins can revoke');
  requireStatus(request, ['approved', 'active'], 'revoke');
  const wasActive = request.status === 'active';
  const next = evolve(request, now, {
    status: 'revoked',
    revocation: { by: identityOf(caller), at: iso(now), reason },
    endReason: 'revoked',
    extension: null,
  });
  return {
    request: next,
    events: [
      eventFor(next, 'grant.revoked', actorOf(caller), { reason, wasActive, plannedEndAt: request.endAt }),
    ],
  };
}

/** The requester of an active grant asks for more time; it needs the same approvals as the request did. */
export function requestExtension(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  input: { durationMinutes: number; reason: string },
  now: Date,
): Outcome {
  if (!isOwnRequest(request, caller))
    throw new DomainError('forbidden', 'only the requester can extend a grant');
  requireStatus(request, ['active'], 'extend');
  requireNotEnded(request, now, 'extend');
  if (request.extension)
    throw new DomainError('extension_pending', 'an extension is already waiting for approval');
  const role = findRole(config, request.roleId);
  if (!role) throw new DomainError('unknown_role', `role ${request.roleId} is no longer configured`);
  if (!Number.isInteger(input.durationMinutes) || input.durationMinutes < 1) {
    throw new DomainError('duration_out_of_range', 'an extension must be at least one minute');
  }
  const limit = plusMinutes(request.startAt!, role.maxDuration);
  const newEnd = plusMinutes(request.endAt!, input.durationMinutes);
  if (newEnd > limit) {
    throw new DomainError(
      'extension_too_long',
      `the grant cannot end after ${iso(limit)} (maxDuration from its start)`,
      {
        latestEndAt: iso(limit),
      },
    );
  }
  const actor = actorOf(caller);
  const extension = {
    durationMinutes: input.durationMinutes,
    reason: input.reason,
    requestedAt: iso(now),
    approvalsRequired: role.approvalsRequired,
    approvals: [],
  };
  const next = evolve(request, now, { extension });
  const events = [
    eventFor(next, 'grant.extension_requested', actor, {
      durationMinutes: input.durationMinutes,
      reason: input.reason,
    }),
  ];
  if (extension.approvalsRequired > 0) return { request: next, events };
  const extended = applyExtension(next, now, actor);
  return { request: { ...extended.request, version: next.version }, events: [...events, ...extended.events] };
}

function applyExtension(request: AccessRequest, now: Date, actor: Actor): Outcome {
  const extension = request.extension!;
  const previousEndAt = request.endAt!;
  const endAt = iso(plusMinutes(previousEndAt, extension.durationMinutes));
  const next = evolve(request, now, {
    endAt,
    durationMinutes: request.durationMinutes + extension.durationMinutes,
    extension: null,
    extensions: [
      ...request.extensions,
      {
        durationMinutes: extension.durationMinutes,
        reason: extension.reason,
        approvedAt: iso(now),
        previousEndAt,
        approvals: extension.approvals,
      },
    ],
  });
  return {
    request: next,
    events: [
      eventFor(next, 'grant.extended', actor, {
        previousEndAt,
        endAt,
        durationMinutes: extension.durationMinutes,
      }),
    ],
  };
}

/** An approver of the role records the mandatory post-review of an emergency grant. */
export function review(
  config: BreakglassConfig,
  request: AccessRequest,
  caller: Caller,
  input: { outcome: 'acknowledged' | 'flagged'; comment: string },
  now: Date,
): Outcome {
  requireApprover(config, request, caller, 'review');
  if (!request.postReview) throw new DomainError('not_emergency', 'only emergency grants are reviewed');
  if (request.postReview.outcome)
    throw new DomainError('invalid_state', 'this grant has already been reviewed');
  const next = evolve(request, now, {
    postReview: {
      ...request.postReview,
      outcome: input.outcome,
      by: identityOf(caller),
      at: iso(now),
      comment: input.comment,
    },
  });
  return {
    request: next,
    events: [
      eventFor(next, 'review.recorded', actorOf(caller), {
        outcome: input.outcome,
        comment: input.comment,
        overdue: request.postReview.overdue || new Date(request.postReview.dueAt) < now,
      }),
    ],
  };
}

/**
 * Where an emergency grant whose post-review deadline passed unreviewed sits in the due order: after every real
 * deadline, so no sweep or schedule ever reaches it. The review is still owed (a late one is recorded, marked
 * overdue, whatever the grant's status), so the request keeps a place in the due index, where the approvers'
 * review queue finds it, until someone reviews it.
 */
export const REVIEW_OWED_AT = '9999-12-31T23:59:59.999Z';

/**
 * The next time-driven transition of a request, if any. An unreviewed emergency grant past its review deadline
 * answers `review_overdue` at REVIEW_OWED_AT once nothing else is due: applying it changes nothing.
 */
export function nextDue(request: AccessRequest): { at: string; transition: Transition } | null {
  const candidates: Array<{ at: string; transition: Transition }> = [];
  if (request.status === 'pending') candidates.push({ at: request.pendingUntil, transition: 'timeout' });
  if (request.status === 'approved' && request.startAt)
    candidates.push({ at: request.startAt, transition: 'activate' });
  if (request.status === 'active' && request.endAt)
    candidates.push({ at: request.endAt, transition: 'expire' });
  const review = request.postReview;
  if (review && !review.outcome && request.status !== 'pending') {
    candidates.push({ at: review.overdue ? REVIEW_OWED_AT : review.dueAt, transition: 'review_overdue' });
  }
  candidates.sort((a, b) => a.at.localeCompare(b.at));
  return candidates[0] ?? null;
}

/**
 * Applies a time-driven transition if it is due; returns null when there is nothing to do (already applied,
 * no longer applicable or not yet due), which makes repeated firings harmless.
 */
export function applyTransition(
  config: BreakglassConfig,
  request: AccessRequest,
  transition: Transition,
  now: Date,
): Outcome | null {
  const due = (at: string | null) => at !== null && new Date(at) <= now;
  const actor = SYSTEM;
  switch (transition) {
    case 'timeout': {
      if (request.status !== 'pending' || !due(request.pendingUntil)) return null;
      const next = evolve(request, now, { status: 'timed_out', endReason: 'timed_out' });
      return {
        request: next,
        events: [eventFor(next, 'request.timed_out', actor, { pendingUntil: request.pendingUntil })],
      };
    }
    case 'activate': {
      if (request.status !== 'approved' || !due(request.startAt)) return null;
      return activateNow(config, request, now);
    }
    case 'expire': {
      if (request.status !== 'active' || !due(request.endAt)) return null;
      const next = evolve(request, now, { status: 'expired', endReason: 'expired', extension: null });
      return { request: next, events: [eventFor(next, 'grant.expired', actor, { endAt: request.endAt })] };
    }
    case 'review_overdue': {
      const review = request.postReview;
      if (!review || review.outcome || review.overdue || !due(review.dueAt)) return null;
      const next = evolve(request, now, { postReview: { ...review, overdue: true } });
      return { request: next, events: [eventFor(next, 'review.overdue', actor, { dueAt: review.dueAt })] };
    }
  }
}

export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
