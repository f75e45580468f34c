/** Lifecycle statuses, exactly as they appear on the wire. */
export const REQUEST_STATUSES = [
  'pending',
  'approved',
  'active',
  'expired',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'failed',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  'expired',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'failed',
]);

/** How a caller reached the broker; recorded on approvals and audit actors. */
export type Channel = 'api' | 'cli' | 'web' | 'slack';

export interface Identity {
  subject: string;
  email: string;
}

/** An authenticated person, as established from a verified token or session. */
export interface Caller extends Identity {
  groups: string[];
  /** True when the token's `amr` shows a multi-factor method. */
  mfa: boolean;
  via: Channel;
  ip?: string;
}

export interface Approval {
  approver: Identity;
  at: string;
  comment: string | null;
  via: Channel;
}

export interface Decision {
  by: Identity;
  at: string;
  comment: string | null;
  via: Channel;
}

export interface Revocation {
  by: Identity;
  at: string;
  reason: string;
}

export interface PostReview {
  dueAt: string;
  outcome: 'acknowledged' | 'flagged' | null;
  by: Identity | null;
  at: string | null;
  comment: string | null;
  /** Set once `review.overdue` has been recorded, so the sweeper raises it only once. */
  overdue: boolean;
}

export interface Extension {
  durationMinutes: number;
  reason: string;
  requestedAt: string;
  /** The role's approvals, even for an emergency grant: more time is never self-approved. */
  approvalsRequired: number;
  approvals: Approval[];
}

export interface AccessRequest {
  id: string;
  roleId: string;
  accountId: string;
  roleArn: string;
  requester: Identity;
  /** The requester's groups when they asked; re-checked against config at activation. */
  requesterGroups: string[];
  reason: string;
  ticket: string | null;
  emergency: boolean;
  durationMinutes: number;
  /** Null until activation for requests that start as soon as they are approved. */
  startAt: string | null;
  endAt: string | null;
  /** True when the requester asked for a specific start time. */
  scheduled: boolean;
  status: RequestStatus;
  approvalsRequired: number;
  approvals: Approval[];
  denial: Decision | null;
  cancellation: Decision | null;
  revocation: Revocation | null;
  postReview: PostReview | null;
  extension: Extension | null;
  extensions: Array<{
    durationMinutes: number;
    reason: string;
    approvedAt: string;
    previousEndAt: string;
    /** Who approved it (absent on extensions recorded before approvers were kept). */
    approvals?: Approval[];
  }>;
  /** Extensions an approver denied, so the request's own history shows them (absent on older items). */
  deniedExtensions?: Array<{
    durationMinutes: number;
    reason: string;
    requestedAt: string;
    approvals: Approval[];
    denial: Decision;
  }>;
  /** When a pending request times out. */
  pendingUntil: string;
  /** Why the grant ended, once it has (e.g. `expired`, `revoked`, `activation_failed: …`). */
  endReason: string | null;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency counter; every stored change increments it by one. */
  version: number;
}

export type Actor =
  | { type: 'user'; subject: string; email: string; via: Channel; ip?: string }
  | { type: 'system'; subject: string };

/** An audit event before the chain assigns seq, id, time and hashes. */
export interface AuditEventDraft {
  type: AuditEventType;
  actor: Actor;
  requestId?: string;
  roleId?: string;
  accountId?: string;
  data: Record<string, unknown>;
}

/**
 * An event as it commits with its state change: identified and timed, but not yet on the hash chain. The
 * sealer later gives it `seq`, `prevHash` and `hash` (an `AuditEvent`) without changing anything else.
 */
export interface CommittedEvent extends AuditEventDraft {
  id: string;
  time: string;
  simulated: boolean;
}

export interface AuditEvent extends CommittedEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

/** A request's event as its timeline shows it: sealed events carry their `seq`. */
export interface TimelineEvent extends CommittedEvent {
  seq?: number;
}

export const AUDIT_EVENT_TYPES = [
  'request.created',
  'approval.recorded',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.timed_out',
  'grant.activated',
  'grant.extension_requested',
  'grant.extension_denied',
  'grant.extended',
  'grant.expired',
  'grant.revoked',
  'grant.failed',
  'emergency.activated',
  'review.recorded',
  'review.overdue',
  'credentials.issued',
  'credentials.refused',
  'console.issued',
  'schedule.created',
  'schedule.failed',
  'revocation.applied',
  'revocation.failed',
  'notification.sent',
  'notification.failed',
  'access.forbidden',
  'access.throttled',
  'bunker.conflict',
  'effect.failed',
  'activity.viewed',
  'audit.read',
  'audit.sign_refused',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Time-driven transitions, run by EventBridge Scheduler and by the sweeper. */
export type Transition = 'activate' | 'expire' | 'timeout' | 'review_overdue';

export function actorOf(caller: Caller): Actor {
  return {
    type: 'user',
    subject: caller.subject,
    email: caller.email,
    via: caller.via,
    ...(caller.ip ? { ip: caller.ip } : {}),
  };
}

export function identityOf(caller: Caller): Identity {
  return { subject: caller.subject, email: caller.email };
}
