/**
 * The review report's numbers, computed from a range of audit events in one pass. Pure: the HTTP layer turns
 * the model into HTML and SVG.
 */
import type { AuditEvent } from '../types.js';

export interface ReportGrant {
  requestId: string;
  roleId: string;
  requester: string;
  ticket: string;
  reason: string;
  emergency: boolean;
  createdAt: string | null;
  approvedAt: string | null;
  activatedAt: string | null;
  plannedEndAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
  credentials: number;
  consoles: number;
  review: { outcome: string; by: string; at: string; late: boolean } | null;
  reviewDueAt: string | null;
  reviewOverdue: boolean;
}

export interface Refusal {
  time: string;
  type: string;
  actor: string;
  action: string;
  code: string;
  requestId: string | null;
  roleId: string | null;
}

export interface LatencyBucket {
  label: string;
  upToSeconds: number;
  count: number;
}

export interface ReportModel {
  since: string | null;
  until: string | null;
  firstSeq: number | null;
  lastSeq: number | null;
  totals: {
    events: number;
    requests: number;
    grants: number;
    emergencies: number;
    refusals: number;
    credentials: number;
    consoles: number;
  };
  /** ISO week (Monday, YYYY-MM-DD) → role → grants activated that week. */
  grantsPerRoleWeek: { weeks: string[]; roles: string[]; counts: Record<string, Record<string, number>> };
  emergencies: ReportGrant[];
  approvalLatency: {
    buckets: LatencyBucket[];
    samples: number;
    medianSeconds: number | null;
    p90Seconds: number | null;
  };
  longestGrants: Array<ReportGrant & { minutes: number }>;
  earlyRevocations: Array<ReportGrant & { minutesEarly: number }>;
  refusals: Refusal[];
  refusalsShown: number;
  credentialsPerGrant: ReportGrant[];
}

const LATENCY_BUCKETS: Array<[string, number]> = [
  ['< 5 min', 300],
  ['5–15 min', 900],
  ['15–60 min', 3600],
  ['1–4 h', 4 * 3600],
  ['4–24 h', 24 * 3600],
  ['> 24 h', Number.POSITIVE_INFINITY],
];
const MAX_REFUSALS = 200;

const who = (event: AuditEvent) =>
  event.actor.type === 'user' ? event.actor.email : `system:${event.actor.subject}`;
const minutesBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;

/** Monday of the ISO week containing `iso`, as YYYY-MM-DD (UTC). */
export function weekOf(iso: string): string {
  const date = new Date(iso);
  const day = (date.getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - day));
  return monday.toISOString().slice(0, 10);
}

export class ReportBuilder {
  private readonly grants = new Map<string, ReportGrant>();
  private readonly weekly = new Map<string, Map<string, number>>();
  private readonly latencies: number[] = [];
  private readonly refusals: Refusal[] = [];
  private refusalCount = 0;
  private events = 0;
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;

  push(event: AuditEvent): void {
    this.events += 1;
    this.firstSeq ??= event.seq;
    this.lastSeq = event.seq;
    const data = event.data as Record<string, unknown>;
    if (event.type === 'access.forbidden' || event.type === 'credentials.refused') {
      this.refusalCount += 1;
      if (this.refusals.length < MAX_REFUSALS) {
        this.refusals.push({
          time: event.time,
          type: event.type,
          actor: who(event),
          action: String(data.action ?? event.type),
          code: String(data.code ?? data.reason ?? ''),
          requestId: event.requestId ?? null,
          roleId: event.roleId ?? null,
        });
      }
      return;
    }
    if (!event.requestId) return;
    const grant = this.grant(event);
    switch (event.type) {
      case 'request.created':
        grant.requester = who(event);
        grant.createdAt = event.time;
        grant.ticket = data.ticket ? String(data.ticket) : '';
        grant.reason = String(data.reason ?? '');
        grant.emergency = data.emergency === true;
        break;
      case 'request.approved':
        grant.approvedAt = event.time;
        if (grant.createdAt && event.actor.type === 'user') {
          this.latencies.push((Date.parse(event.time) - Date.parse(grant.createdAt)) / 1000);
        }
        break;
      case 'grant.activated': {
        grant.activatedAt = event.time;
        grant.plannedEndAt = data.endAt ? String(data.endAt) : null;
        const week = weekOf(event.time);
        const roles = this.weekly.get(week) ?? new Map<string, number>();
        roles.set(grant.roleId, (roles.get(grant.roleId) ?? 0) + 1);
        this.weekly.set(week, roles);
        break;
      }
      case 'emergency.activated':
        grant.emergency = true;
        grant.reviewDueAt = data.postReviewDueAt ? String(data.postReviewDueAt) : null;
        break;
      case 'grant.extended':
        grant.plannedEndAt = data.endAt ? String(data.endAt) : grant.plannedEndAt;
        break;
      case 'credentials.issued':
        grant.credentials += 1;
        break;
      case 'console.issued':
        grant.consoles += 1;
        break;
      case 'review.overdue':
        grant.reviewOverdue = true;
        break;
      case 'review.recorded':
        grant.review = {
          outcome: String(data.outcome ?? ''),
          by: who(event),
          at: event.time,
          late: data.overdue === true,
        };
        break;
      case 'grant.revoked':
        grant.endedAt = event.time;
        grant.endReason = 'revoked';
        grant.revokedBy = who(event);
        grant.revokeReason = String(data.reason ?? '');
        grant.plannedEndAt = data.plannedEndAt ? String(data.plannedEndAt) : grant.plannedEndAt;
        break;
      case 'grant.expired':
      case 'grant.failed':
      case 'request.denied':
      case 'request.cancelled':
      case 'request.timed_out':
        grant.endedAt = event.time;
        grant.endReason = event.type.split('.')[1] ?? event.type;
        break;
    }
  }

  build(range: { since: string | null; until: string | null }, now: Date): ReportModel {
    const grants = [...this.grants.values()];
    const activated = grants.filter((grant) => grant.activatedAt);
    const weeks = [...this.weekly.keys()].sort();
    const roles = [...new Set(activated.map((grant) => grant.roleId))].sort();
    const counts: Record<string, Record<string, number>> = {};
    for (const week of weeks) counts[week] = Object.fromEntries(this.weekly.get(week) ?? []);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const quantile = (q: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null;
    const buckets: LatencyBucket[] = LATENCY_BUCKETS.map(([label, upTo]) => ({
      label,
      upToSeconds: upTo,
      count: 0,
    }));
    for (const seconds of sorted) {
      const bucket = buckets.find((candidate) => seconds < candidate.upToSeconds) ?? buckets.at(-1)!;
      bucket.count += 1;
    }
    const durationOf = (grant: ReportGrant) =>
      minutesBetween(
        grant.activatedAt!,
        grant.endedAt ??
          (grant.plannedEndAt && Date.parse(grant.plannedEndAt) < now.getTime()
            ? grant.plannedEndAt
            : now.toISOString()),
      );
    return {
      since: range.since,
      until: range.until,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      totals: {
        events: this.events,
        requests: grants.filter((grant) => grant.createdAt).length,
        grants: activated.length,
        emergencies: grants.filter((grant) => grant.emergency).length,
        refusals: this.refusalCount,
        credentials: grants.reduce((sum, grant) => sum + grant.credentials, 0),
        consoles: grants.reduce((sum, grant) => sum + grant.consoles, 0),
      },
      grantsPerRoleWeek: { weeks, roles, counts },
      emergencies: grants.filter((grant) => grant.emergency),
      approvalLatency: {
        buckets,
        samples: sorted.length,
        medianSeconds: quantile(0.5),
        p90Seconds: quantile(0.9),
      },
      longestGrants: activated
        .map((grant) => ({ ...grant, minutes: Math.round(durationOf(grant)) }))
        .sort((a, b) => b.minutes - a.minutes)
        .slice(0, 10),
      earlyRevocations: activated
        .filter((grant) => grant.endReason === 'revoked' && grant.plannedEndAt && grant.endedAt)
        .map((grant) => ({
          ...grant,
          minutesEarly: Math.max(0, Math.round(minutesBetween(grant.endedAt!, grant.plannedEndAt!))),
        }))
        .sort((a, b) => b.minutesEarly - a.minutesEarly),
      refusals: this.refusals,
      refusalsShown: this.refusals.length,
      credentialsPerGrant: activated
        .filter((grant) => grant.credentials + grant.consoles > 0)
        .sort((a, b) => b.credentials + b.consoles - (a.credentials + a.consoles)),
    };
  }

  private grant(event: AuditEvent): ReportGrant {
    const id = event.requestId!;
    let grant = this.grants.get(id);
    if (!grant) {
      grant = {
        requestId: id,
        roleId: event.roleId ?? '',
        requester: '',
        ticket: '',
        reason: '',
        emergency: false,
        createdAt: null,
        approvedAt: null,
        activatedAt: null,
        plannedEndAt: null,
        endedAt: null,
        endReason: null,
        revokedBy: null,
        revokeReason: null,
        credentials: 0,
        consoles: 0,
        review: null,
        reviewDueAt: null,
        reviewOverdue: false,
      };
      this.grants.set(id, grant);
    }
    return grant;
  }
}
