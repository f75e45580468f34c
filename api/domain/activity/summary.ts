/**
 * The per-grant activity summary, built one attributed record at a time so memory stays flat however large
 * the trail: counters, plus lists capped at `LIST_LIMIT` entries (with a `truncated` flag).
 */
import { type Finding, findingFor } from './findings.js';
import type { GrantTrail } from './grant-trail.js';
import { actionOf, isAccessDenied, serviceOf, type TrailRecord } from './record.js';

export const LIST_LIMIT = 500;

/** Calls that need no permission, so the session policy cannot refuse them after the end. */
const UNREFUSABLE = new Set(['sts:GetCallerIdentity']);

export interface AfterEndCall {
  eventName: string;
  eventSource: string;
  eventId: string;
  time: string;
  errorCode: string | null;
}

export interface ActivitySummary {
  requestId: string;
  window: { from: string; to: string };
  /** Number of CloudTrail records attributed to the grant. */
  records: number;
  byService: Record<string, number>;
  /** `service:EventName` → count. */
  byAction: Record<string, number>;
  reads: number;
  writes: number;
  /** Records with no `readOnly` flag (console sign-in, some service events). */
  unclassified: number;
  errors: number;
  accessDenied: number;
  console: { signIns: number; calls: number };
  /** Calls made after the window's end (expiry or revocation): refused ones prove the hard stop worked. */
  afterEnd: { endedBy: GrantTrail['endedBy']; refused: number; allowed: number; calls: AfterEndCall[] };
  firstCall: string | null;
  lastCall: string | null;
  findings: Finding[];
  truncated: boolean;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export class ActivitySummarizer {
  private readonly summary: ActivitySummary;
  private readonly end: number;
  /** CloudTrail may deliver a record twice; event ids of attributed records only, so this stays small. */
  private readonly seen = new Set<string>();

  constructor(trail: GrantTrail) {
    this.end = Date.parse(trail.window.to);
    this.summary = {
      requestId: trail.requestId,
      window: { ...trail.window },
      records: 0,
      byService: {},
      byAction: {},
      reads: 0,
      writes: 0,
      unclassified: 0,
      errors: 0,
      accessDenied: 0,
      console: { signIns: 0, calls: 0 },
      afterEnd: { endedBy: trail.endedBy, refused: 0, allowed: 0, calls: [] },
      firstCall: null,
      lastCall: null,
      findings: [],
      truncated: false,
    };
  }

  /** Adds one record already attributed to the grant (`belongsToGrant`); a repeated event id is ignored. */
  push(record: TrailRecord): void {
    if (this.seen.has(record.eventID)) return;
    this.seen.add(record.eventID);
    const s = this.summary;
    s.records += 1;
    bump(s.byService, serviceOf(record));
    bump(s.byAction, actionOf(record));
    if (record.readOnly === true) s.reads += 1;
    else if (record.readOnly === false) s.writes += 1;
    else s.unclassified += 1;
    if (record.errorCode) s.errors += 1;
    const denied = isAccessDenied(record);
    if (denied) s.accessDenied += 1;
    if (record.eventType === 'AwsConsoleSignIn') s.console.signIns += 1;
    else if (record.sessionCredentialFromConsole === 'true') s.console.calls += 1;
    if (s.firstCall === null || record.eventTime < s.firstCall) s.firstCall = record.eventTime;
    if (s.lastCall === null || record.eventTime > s.lastCall) s.lastCall = record.eventTime;
    if (Date.parse(record.eventTime) >= this.end && !UNREFUSABLE.has(actionOf(record))) {
      if (denied) s.afterEnd.refused += 1;
      else s.afterEnd.allowed += 1;
      this.keep(s.afterEnd.calls, {
        eventName: record.eventName,
        eventSource: record.eventSource,
        eventId: record.eventID,
        time: record.eventTime,
        errorCode: record.errorCode ?? null,
      });
    }
    const finding = findingFor(record);
    if (finding) this.keep(s.findings, finding);
  }

  /** The summary, lists in time order (CloudTrail files are not ordered across regions and deliveries). */
  build(): ActivitySummary {
    const byTime = (a: { time: string; eventId: string }, b: { time: string; eventId: string }) =>
      a.time < b.time ? -1 : a.time > b.time ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
    return {
      ...this.summary,
      findings: [...this.summary.findings].sort(byTime),
      afterEnd: { ...this.summary.afterEnd, calls: [...this.summary.afterEnd.calls].sort(byTime) },
    };
  }

  private keep<T>(list: T[], item: T): void {
    if (list.length < LIST_LIMIT) list.push(item);
    else this.summary.truncated = true;
  }
}
