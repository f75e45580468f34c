/**
 * One request's whole story, folded from its audit events: who asked, why, who approved or denied it (with
 * their comments), every extension and its approvers, the planned and actual end, and every credential issue
 * with its access key id. The CSV rows and the report's access-review table are both views of this record, so
 * they cannot disagree about a request. Pure: events in, record out.
 */
import type { CommittedEvent } from '../types.js';

/** An event as the exports read it: sealed events carry `seq`; a request's earlier history may not. */
export type RecordEvent = CommittedEvent & { seq?: number };

export interface Decision {
  by: string;
  at: string;
  comment: string;
}

export interface ExtensionRecord {
  requestedAt: string;
  requestedBy: string;
  reason: string;
  durationMinutes: number;
  approvals: Decision[];
  outcome: 'pending' | 'approved' | 'denied';
  decidedAt: string | null;
  denial: Decision | null;
  /** The grant's end before and after, once approved. */
  previousEndAt: string | null;
  endAt: string | null;
}

export interface CredentialIssue {
  at: string;
  accessKeyId: string;
  expiration: string | null;
}

export interface RequestRecord {
  requestId: string;
  roleId: string;
  accountId: string;
  requester: string;
  requesterSubject: string;
  reason: string;
  ticket: string;
  emergency: boolean;
  status: string;
  /** True once the record saw `request.created`: the story is complete from its start. */
  complete: boolean;
  requestedAt: string | null;
  approvedAt: string | null;
  activatedAt: string | null;
  /** Where the grant is planned to end (moves with each approved extension). */
  plannedEndAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  approvals: Decision[];
  denial: Decision | null;
  cancelledBy: string | null;
  revocation: (Decision & { plannedEndAt: string | null }) | null;
  failure: string | null;
  extensions: ExtensionRecord[];
  credentials: CredentialIssue[];
  consoles: string[];
  review: (Decision & { outcome: string; late: boolean }) | null;
  reviewDueAt: string | null;
  reviewOverdue: boolean;
  /** `credentials.refused` and `access.forbidden` events that named this request. */
  refusals: number;
}

const TERMINAL: Record<string, string> = {
  'request.denied': 'denied',
  'request.cancelled': 'cancelled',
  'request.timed_out': 'timed_out',
  'grant.expired': 'expired',
  'grant.revoked': 'revoked',
  'grant.failed': 'failed',
};

/** Event types that belong to a request's own story; others (notifications, schedules) never start a record. */
export const STORY_EVENT = /^(request|approval|grant|emergency|review|credentials\.issued|console\.issued)/;

export const personOf = (event: RecordEvent) =>
  event.actor.type === 'user' ? event.actor.email : `system:${event.actor.subject}`;

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));

export function newRecord(event: RecordEvent): RequestRecord {
  return {
    requestId: event.requestId ?? '',
    roleId: event.roleId ?? '',
    accountId: event.accountId ?? '',
    requester: '',
    requesterSubject: '',
    reason: '',
    ticket: '',
    emergency: false,
    status: '',
    complete: false,
    requestedAt: null,
    approvedAt: null,
    activatedAt: null,
    plannedEndAt: null,
    endedAt: null,
    endReason: null,
    approvals: [],
    denial: null,
    cancelledBy: null,
    revocation: null,
    failure: null,
    extensions: [],
    credentials: [],
    consoles: [],
    review: null,
    reviewDueAt: null,
    reviewOverdue: false,
    refusals: 0,
  };
}

/** Folds one event of the request into its record. */
export function applyEvent(record: RequestRecord, event: RecordEvent): void {
  const data = event.data as Record<string, unknown>;
  const decision = (): Decision => ({ by: personOf(event), at: event.time, comment: text(data.comment) });
  const pendingExtension = () => record.extensions.findLast((extension) => extension.outcome === 'pending');
  switch (event.type) {
    case 'request.created':
      record.complete = true;
      record.requester = personOf(event);
      record.requesterSubject = event.actor.subject;
      record.reason = text(data.reason);
      record.ticket = text(data.ticket);
      record.emergency = data.emergency === true;
      record.requestedAt = event.time;
      record.status = 'pending';
      return;
    case 'approval.recorded':
      if (data.extension) pendingExtension()?.approvals.push(decision());
      else record.approvals.push(decision());
      return;
    case 'request.approved':
      record.approvedAt = event.time;
      record.status = 'approved';
      return;
    case 'grant.activated':
      record.activatedAt = event.time;
      record.plannedEndAt = text(data.endAt) || record.plannedEndAt;
      record.status = 'active';
      return;
    case 'emergency.activated':
      record.emergency = true;
      record.plannedEndAt = text(data.endAt) || record.plannedEndAt;
      record.reviewDueAt = text(data.postReviewDueAt) || null;
      return;
    case 'grant.extension_requested':
      record.extensions.push({
        requestedAt: event.time,
        requestedBy: personOf(event),
        reason: text(data.reason),
        durationMinutes: Number(data.durationMinutes ?? 0),
        approvals: [],
        outcome: 'pending',
        decidedAt: null,
        denial: null,
        previousEndAt: null,
        endAt: null,
      });
      return;
    case 'grant.extension_denied': {
      const extension = pendingExtension();
      if (extension) {
        extension.outcome = 'denied';
        extension.decidedAt = event.time;
        extension.denial = decision();
      }
      return;
    }
    case 'grant.extended': {
      const extension = pendingExtension();
      if (extension) {
        extension.outcome = 'approved';
        extension.decidedAt = event.time;
        extension.previousEndAt = text(data.previousEndAt) || null;
        extension.endAt = text(data.endAt) || null;
      }
      record.plannedEndAt = text(data.endAt) || record.plannedEndAt;
      return;
    }
    case 'credentials.issued':
      record.credentials.push({
        at: event.time,
        accessKeyId: text(data.accessKeyId),
        expiration: text(data.expiration) || null,
      });
      return;
    case 'console.issued':
      record.consoles.push(event.time);
      return;
    case 'credentials.refused':
    case 'access.forbidden':
      record.refusals += 1;
      return;
    case 'review.overdue':
      record.reviewOverdue = true;
      return;
    case 'review.recorded':
      record.review = { ...decision(), outcome: text(data.outcome), late: data.overdue === true };
      return;
    default:
      break;
  }
  const end = TERMINAL[event.type];
  if (!end) return;
  record.status = end;
  record.endedAt = event.time;
  record.endReason = end;
  if (end === 'denied') record.denial = decision();
  if (end === 'cancelled') record.cancelledBy = personOf(event);
  if (end === 'failed') record.failure = text(data.reason);
  if (end === 'revoked') {
    record.revocation = {
      by: personOf(event),
      at: event.time,
      comment: text(data.reason),
      plannedEndAt: text(data.plannedEndAt) || record.plannedEndAt,
    };
    record.plannedEndAt = record.revocation.plannedEndAt;
  }
}

/** Done: ended, and reviewed if it was an emergency (nothing later can change it). */
export function isSettled(record: RequestRecord): boolean {
  return record.endedAt !== null && (!record.emergency || record.review !== null);
}

/**
 * When the grant held access: from activation to its end, or (still active) to its planned end or `now`,
 * whichever is first. Null when it never became active.
 */
export function activeInterval(record: RequestRecord, now: Date): { from: number; to: number } | null {
  if (!record.activatedAt) return null;
  const from = Date.parse(record.activatedAt);
  if (record.endedAt) return { from, to: Date.parse(record.endedAt) };
  const planned = record.plannedEndAt ? Date.parse(record.plannedEndAt) : Number.POSITIVE_INFINITY;
  return { from, to: Math.min(planned, Math.max(now.getTime(), from)) };
}
