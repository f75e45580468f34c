/**
 * OCSF 1.3.0 mapping of audit events. Grants and their ends are "User Access Management" (class 3005: Assign /
 * Revoke Privileges); everything else is "API Activity" (class 6003). The original event rides along under
 * `unmapped.breakglass` so nothing is lost and the chain hash stays checkable. Every record carries the
 * attributes its class requires (6003: `actor`, `api`, `src_endpoint`; 3005: `user`, `privileges`) and declares
 * the `cloud` profile in `metadata.profiles` when it carries `cloud`. See docs/audit.md.
 */
import type { AuditEvent, CommittedEvent } from '../types.js';

export const OCSF_VERSION = '1.3.0';

const ASSIGN = new Set(['grant.activated', 'emergency.activated', 'grant.extended']);
const REVOKE = new Set(['grant.revoked', 'grant.expired']);

/** Privilege records name the requester as `user`: these want the request's earlier history in a range. */
export const namesRequester = (event: { type: string }) => ASSIGN.has(event.type) || REVOKE.has(event.type);
const API_CREATE = new Set(['request.created', 'credentials.issued', 'console.issued']);
const API_READ = new Set(['audit.read', 'activity.viewed']);
const API_UPDATE = new Set([
  'approval.recorded',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'grant.extension_requested',
  'grant.extension_denied',
  'review.recorded',
]);
const FAILURE = new Set([
  'access.forbidden',
  'access.throttled',
  'credentials.refused',
  'grant.failed',
  'schedule.failed',
  'revocation.failed',
  'notification.failed',
  'bunker.conflict',
  'audit.sign_refused',
  'effect.failed',
]);

/** Severity: informational by default, louder for emergencies, refusals, failed reviews and tampering. */
function severity(event: AuditEvent): { id: number; name: string } {
  if (event.type === 'bunker.conflict' || event.type === 'audit.sign_refused')
    return { id: 5, name: 'Critical' };
  if (event.type === 'emergency.activated' || event.type === 'review.overdue') return { id: 4, name: 'High' };
  if (event.type === 'review.recorded' && (event.data as { outcome?: string }).outcome === 'flagged') {
    return { id: 4, name: 'High' };
  }
  if (FAILURE.has(event.type)) return { id: 3, name: 'Medium' };
  return { id: 1, name: 'Informational' };
}

export interface OcsfUser {
  uid: string;
  email_addr?: string;
  type_id?: number;
}

/** Remembers who requested what, so privilege events (whose actor is the scheduler) can name the user. */
export class RequesterDirectory {
  private readonly known = new Map<string, OcsfUser>();

  constructor(private readonly limit = 50_000) {}

  /** Takes the requester from `request.created` (in the export, or from the request's earlier history). */
  learn(event: CommittedEvent): void {
    if (event.type !== 'request.created' || !event.requestId || event.actor.type !== 'user') return;
    if (this.known.size >= this.limit) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    this.known.set(event.requestId, { uid: event.actor.subject, email_addr: event.actor.email, type_id: 1 });
  }

  get(requestId: string | undefined): OcsfUser | undefined {
    return requestId ? this.known.get(requestId) : undefined;
  }
}

/**
 * A person is an OCSF user; the broker's own scheduler or sweeper is the application itself (`app_name`,
 * `app_uid`): OCSF's `process` needs a pid or uid, which a Lambda invocation has no stable value for.
 */
function actorOf(event: AuditEvent) {
  if (event.actor.type === 'user') {
    return {
      user: { uid: event.actor.subject, email_addr: event.actor.email, type_id: 1, type: 'User' },
      app_name: `breakglass-${event.actor.via}`,
    };
  }
  return { app_name: 'breakglass', app_uid: event.actor.subject };
}

/**
 * Where the call came from (required by API Activity): the person's address when the broker saw one, else the
 * channel they used; for the broker's own transitions, the broker service itself.
 */
function sourceOf(event: AuditEvent) {
  if (event.actor.type !== 'user') return { svc_name: 'breakglass', name: event.actor.subject };
  return event.actor.ip
    ? { ip: event.actor.ip, svc_name: `breakglass-${event.actor.via}` }
    : { svc_name: `breakglass-${event.actor.via}` };
}

export function toOcsf(event: AuditEvent, requesters: RequesterDirectory, productVersion: string) {
  requesters.learn(event);
  const status = FAILURE.has(event.type)
    ? { status_id: 2, status: 'Failure' }
    : { status_id: 1, status: 'Success' };
  const sev = severity(event);
  const data = event.data as Record<string, unknown>;
  const common = {
    time: Date.parse(event.time),
    severity_id: sev.id,
    severity: sev.name,
    ...status,
    ...(event.type === 'access.forbidden' || event.type === 'credentials.refused'
      ? { status_code: String(data.code ?? ''), status_detail: String(data.detail ?? data.reason ?? '') }
      : {}),
    message: event.type,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Breakglass', vendor_name: 'Breakglass', version: productVersion },
      uid: event.id,
      sequence: event.seq,
      log_name: 'breakglass-audit',
      ...(event.requestId ? { correlation_uid: event.requestId } : {}),
      ...(event.simulated ? { labels: ['simulated'] } : {}),
      ...(event.accountId ? { profiles: ['cloud'] } : {}),
    },
    actor: actorOf(event),
    src_endpoint: sourceOf(event),
    ...(event.accountId
      ? { cloud: { provider: 'AWS', account: { uid: event.accountId, type: 'AWS Account', type_id: 10 } } }
      : {}),
    unmapped: { breakglass: event },
  };
  const role = event.roleId
    ? {
        uid: event.roleId,
        name: event.roleId,
        type: 'AWS IAM Role',
        ...(event.accountId
          ? { owner: { account: { uid: event.accountId, type: 'AWS Account', type_id: 10 } } }
          : {}),
      }
    : undefined;

  if (ASSIGN.has(event.type) || REVOKE.has(event.type)) {
    const assign = ASSIGN.has(event.type);
    const activityId = assign ? 1 : 2;
    return {
      category_uid: 3,
      category_name: 'Identity & Access Management',
      class_uid: 3005,
      class_name: 'User Access Management',
      activity_id: activityId,
      activity_name: assign ? 'Assign Privileges' : 'Revoke Privileges',
      type_uid: 300500 + activityId,
      type_name: `User Access Management: ${assign ? 'Assign Privileges' : 'Revoke Privileges'}`,
      ...common,
      // The exporter feeds each request's earlier history first, so the requester is known; `unknown` only for
      // a request whose creation is missing from the store altogether.
      user: requesters.get(event.requestId) ?? { uid: 'unknown', type_id: 0, type: 'Unknown' },
      privileges: event.roleId ? [event.roleId] : [],
      ...(role ? { resource: role } : {}),
    };
  }

  const activityId = API_CREATE.has(event.type)
    ? 1
    : API_READ.has(event.type)
      ? 2
      : API_UPDATE.has(event.type)
        ? 3
        : 99;
  const activityName = { 1: 'Create', 2: 'Read', 3: 'Update', 99: 'Other' }[activityId];
  return {
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: 6003,
    class_name: 'API Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: 600300 + activityId,
    type_name: `API Activity: ${activityName}`,
    ...common,
    api: {
      operation: event.type,
      service: { name: 'breakglass' },
      ...(event.requestId ? { request: { uid: event.requestId } } : {}),
    },
    ...(role ? { resources: [role] } : {}),
  };
}
