/**
 * What identifies one grant in CloudTrail, and which records are its own. Built from the grant and its
 * `credentials.issued` / `console.issued` audit events, never from anything in the trail itself.
 */
import { DomainError } from '../errors.js';
import { roleSessionName, sourceIdentity } from '../policies.js';
import type { AccessRequest, CommittedEvent } from '../types.js';
import { assumedRoleParts, type TrailRecord } from './record.js';

/** STS sessions live at most one hour when chained (every broker session is); console sessions likewise. */
export const MAX_SESSION_MS = 60 * 60_000;

export interface GrantTrail {
  requestId: string;
  accountId: string;
  roleArn: string;
  sourceIdentity: string;
  roleSessionName: string;
  /** Every access key id the broker issued for this grant (credentials and console sessions). */
  accessKeyIds: string[];
  /** The grant's own window: activation until its end (or its revocation). */
  window: { from: string; to: string };
  /** How the window ended: `revoked`, `expired`, or null while the grant is still active. */
  endedBy: 'revoked' | 'expired' | null;
  /**
   * The last moment a record can still be the grant's: the latest expiry of a session it issued (≤ 1 h after
   * issue), or the window's end when later. Calls between `window.to` and this are the evidence that the
   * hard stop worked (they should all be refused).
   */
  attributableUntil: string;
}

interface IssuedData {
  accessKeyId?: unknown;
  stsExpiration?: unknown;
  expiresAt?: unknown;
  roleSessionName?: unknown;
  sourceIdentity?: unknown;
}

const ISSUING_EVENTS = new Set(['credentials.issued', 'console.issued']);

/** The grant's CloudTrail identity; refuses requests that never became active. */
export function grantTrail(request: AccessRequest, events: Iterable<CommittedEvent>): GrantTrail {
  if (!request.startAt || !request.endAt || !['active', 'expired', 'revoked'].includes(request.status)) {
    throw new DomainError(
      'invalid_state',
      `request ${request.id} is ${request.status} and never granted access: there is no activity to review`,
    );
  }
  const keys: string[] = [];
  let sessionName: string | null = null;
  let identity: string | null = null;
  let latestExpiry = 0;
  for (const event of events) {
    if (event.requestId !== request.id || !ISSUING_EVENTS.has(event.type)) continue;
    const data = event.data as IssuedData;
    if (typeof data.accessKeyId === 'string' && !keys.includes(data.accessKeyId)) keys.push(data.accessKeyId);
    if (typeof data.roleSessionName === 'string') sessionName = data.roleSessionName;
    if (typeof data.sourceIdentity === 'string') identity = data.sourceIdentity;
    // The STS expiry bounds what the key can do; a console session can outlive it by up to an hour.
    const issuedAt = Date.parse(event.time);
    const expiry = Math.max(
      typeof data.stsExpiration === 'string' ? Date.parse(data.stsExpiration) : 0,
      event.type === 'console.issued' ? issuedAt + MAX_SESSION_MS : 0,
    );
    if (Number.isFinite(expiry)) latestExpiry = Math.max(latestExpiry, expiry);
  }
  const ended = request.status === 'revoked' && request.revocation ? request.revocation.at : request.endAt;
  const to = new Date(Math.min(Date.parse(ended), Date.parse(request.endAt))).toISOString();
  return {
    requestId: request.id,
    accountId: request.accountId,
    roleArn: request.roleArn,
    sourceIdentity: identity ?? sourceIdentity(request.requester.email),
    roleSessionName: sessionName ?? roleSessionName(request.requester.email, request.id),
    accessKeyIds: keys,
    window: { from: new Date(request.startAt).toISOString(), to },
    endedBy: request.status === 'revoked' ? 'revoked' : request.status === 'expired' ? 'expired' : null,
    attributableUntil: new Date(Math.max(Date.parse(to), latestExpiry)).toISOString(),
  };
}

/** Substrings every record of the grant contains: a cheap pre-filter before parsing a record at all. */
export function trailNeedles(trail: GrantTrail): string[] {
  return [trail.roleSessionName, ...trail.accessKeyIds];
}

const SIGN_IN_SOURCE = 'signin.amazonaws.com';

/**
 * True when the record is the grant's: made with an access key the grant issued, or by an assumed-role
 * session of the grant's role whose SourceIdentity and role session name are the grant's (console sessions
 * get keys of their own; their calls carry the same identity). A console sign-in record may lack the
 * SourceIdentity; it is attributed on role + session name alone, which the broker makes unique per grant.
 * Records outside [window.from, attributableUntil] are never attributed.
 */
export function belongsToGrant(record: TrailRecord, trail: GrantTrail): boolean {
  // CloudTrail times have whole seconds: a call in the grant's first second shows before its exact start.
  const time = Date.parse(record.eventTime);
  const from = Math.floor(Date.parse(trail.window.from) / 1000) * 1000;
  if (!(time >= from && time <= Date.parse(trail.attributableUntil))) return false;
  const identity = record.userIdentity;
  if (!identity) return false;
  if (identity.accessKeyId && trail.accessKeyIds.includes(identity.accessKeyId)) {
    return identity.accountId === undefined || identity.accountId === trail.accountId;
  }
  if (identity.type !== 'AssumedRole') return false;
  const parts = assumedRoleParts(identity.arn);
  if (!parts || parts.account !== trail.accountId || parts.session !== trail.roleSessionName) return false;
  const issuer = identity.sessionContext?.sessionIssuer?.arn;
  const roleName = trail.roleArn.slice(trail.roleArn.lastIndexOf('/') + 1);
  if (issuer ? issuer !== trail.roleArn : parts.role !== roleName) return false;
  const recordIdentity = identity.sessionContext?.sourceIdentity;
  if (recordIdentity === undefined) return record.eventSource === SIGN_IN_SOURCE;
  return recordIdentity === trail.sourceIdentity;
}
