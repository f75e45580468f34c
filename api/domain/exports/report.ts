/**
 * The review report's numbers, computed from a range of audit events in one pass. Pure: the HTTP layer turns
 * the model into HTML and SVG.
 */
import {
  activeInterval,
  applyEvent,
  type ExtensionRecord,
  newRecord,
  personOf,
  type RecordEvent,
  type RequestRecord,
  STORY_EVENT,
} from './request-record.js';

/** A request as the report shows it: its whole story (see request-record.ts). */
export type ReportGrant = RequestRecord;

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
    /** Grants that held access at any moment of the range (the access-review table). */
    activeInRange: number;
  };
  /** Every grant active at any moment of the range, oldest activation first: the access-review table. */
  accessReview: ReportGrant[];
  /** Requests denied in the range. */
  denials: ReportGrant[];
  /** Extensions requested or decided in the range, with their grant. */
  extensions: Array<{ grant: ReportGrant; extension: ExtensionRecord }>;
  /** Requests whose story began before the range and was completed from their own earlier history. */
  completedFromHistory: number;
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

const who = personOf;
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
  private createdInRange = 0;
  private credentialsInRange = 0;
  private consolesInRange = 0;
  private readonly inRange = new Set<string>();
  private readonly fromHistory = new Set<string>();
  private readonly activatedInRange = new Set<string>();
  private readonly deniedInRange = new Set<string>();
  private readonly extendedInRange = new Set<string>();
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;

  /**
   * Feeds one event. `context` events come from before the range (a request's earlier history, or grants
   * activated before it): they complete the request's record but count toward none of the range's figures.
   */
  push(event: RecordEvent, context = false): void {
    if (context) {
      if (event.requestId && (this.grants.has(event.requestId) || STORY_EVENT.test(event.type))) {
        const grant = this.grant(event);
        applyEvent(grant, event);
        this.fromHistory.add(grant.requestId);
      }
      return;
    }
    this.events += 1;
    if (event.seq !== undefined) {
      this.firstSeq ??= event.seq;
      this.lastSeq = event.seq;
    }
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
    }
    if (!event.requestId) return;
    if (!this.grants.has(event.requestId) && !STORY_EVENT.test(event.type)) return;
    const grant = this.grant(event);
    this.inRange.add(grant.requestId);
    const requestedAt = grant.requestedAt;
    applyEvent(grant, event);
    switch (event.type) {
      case 'request.created':
        this.createdInRange += 1;
        break;
      case 'request.approved':
        if (requestedAt && event.actor.type === 'user') {
          this.latencies.push((Date.parse(event.time) - Date.parse(requestedAt)) / 1000);
        }
        break;
      case 'grant.activated': {
        this.activatedInRange.add(grant.requestId);
        const week = weekOf(event.time);
        const roles = this.weekly.get(week) ?? new Map<string, number>();
        roles.set(grant.roleId, (roles.get(grant.roleId) ?? 0) + 1);
        this.weekly.set(week, roles);
        break;
      }
      case 'request.denied':
        this.deniedInRange.add(grant.requestId);
        break;
      case 'grant.extension_requested':
      case 'grant.extension_denied':
      case 'grant.extended':
        this.extendedInRange.add(grant.requestId);
        break;
      case 'credentials.issued':
        this.credentialsInRange += 1;
        break;
      case 'console.issued':
        this.consolesInRange += 1;
        break;
    }
  }

  build(range: { since: string | null; until: string | null }, now: Date): ReportModel {
    const grants = [...this.grants.values()];
    const from = range.since ? Date.parse(range.since) : Number.NEGATIVE_INFINITY;
    const to = range.until ? Date.parse(range.until) : now.getTime();
    const accessReview = grants
      .filter((grant) => {
        const interval = activeInterval(grant, now);
        return interval !== null && interval.from < to && interval.to > from;
      })
      .sort((a, b) => Date.parse(a.activatedAt!) - Date.parse(b.activatedAt!));
    const activated = grants.filter((grant) => this.activatedInRange.has(grant.requestId));
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
    const durationOf = (grant: ReportGrant) => {
      const interval = activeInterval(grant, now)!;
      return (interval.to - interval.from) / 60_000;
    };
    const inWindow = (iso: string | null) => iso !== null && Date.parse(iso) >= from && Date.parse(iso) < to;
    const extensions = grants
      .filter((grant) => this.extendedInRange.has(grant.requestId))
      .flatMap((grant) =>
        grant.extensions
          .filter((extension) => inWindow(extension.requestedAt) || inWindow(extension.decidedAt))
          .map((extension) => ({ grant, extension })),
      );
    return {
      since: range.since,
      until: range.until,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      totals: {
        events: this.events,
        requests: this.createdInRange,
        grants: activated.length,
        emergencies: accessReview.filter((grant) => grant.emergency).length,
        refusals: this.refusalCount,
        credentials: this.credentialsInRange,
        consoles: this.consolesInRange,
        activeInRange: accessReview.length,
      },
      accessReview,
      denials: grants.filter((grant) => this.deniedInRange.has(grant.requestId)),
      extensions,
      completedFromHistory: accessReview.filter((grant) => this.fromHistory.has(grant.requestId)).length,
      grantsPerRoleWeek: { weeks, roles, counts },
      emergencies: accessReview.filter((grant) => grant.emergency),
      approvalLatency: {
        buckets,
        samples: sorted.length,
        medianSeconds: quantile(0.5),
        p90Seconds: quantile(0.9),
      },
      longestGrants: accessReview
        .map((grant) => ({ ...grant, minutes: Math.round(durationOf(grant)) }))
        .sort((a, b) => b.minutes - a.minutes)
        .slice(0, 10),
      earlyRevocations: accessReview
        .filter((grant) => grant.revocation && grant.plannedEndAt && inWindow(grant.endedAt))
        .map((grant) => ({
          ...grant,
          minutesEarly: Math.max(0, Math.round(minutesBetween(grant.endedAt!, grant.plannedEndAt!))),
        }))
        .sort((a, b) => b.minutesEarly - a.minutesEarly),
      refusals: this.refusals,
      refusalsShown: this.refusals.length,
      credentialsPerGrant: accessReview
        .filter((grant) => grant.credentials.length + grant.consoles.length > 0)
        .sort(
          (a, b) => b.credentials.length + b.consoles.length - (a.credentials.length + a.consoles.length),
        ),
    };
  }

  private grant(event: RecordEvent): ReportGrant {
    const id = event.requestId!;
    let grant = this.grants.get(id);
    if (!grant) {
      grant = newRecord(event);
      this.grants.set(id, grant);
    }
    return grant;
  }
}
