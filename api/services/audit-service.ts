import { requireAuditor } from '../domain/access.js';
import { type AuditEvent, actorOf, type Caller, type TimelineEvent } from '../domain/types.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { BrokerStore, EventRange } from '../ports/store.js';
import type { AuditRead, AuditReads } from './audit-reads.js';
import { type AuditVerifyReport, verifyStore } from './audit-verify.js';
import type { RequestService } from './request-service.js';

/** What the event browser on /audit asks for; every field optional but the page size. */
export interface EventQuery {
  since?: string;
  until?: string;
  roleId?: string;
  /** An email (case-insensitive) or subject of the acting person or of the request's requester. */
  user?: string;
  requestId?: string;
  type?: string;
  /** Continue below this seq (the previous page's `nextCursor`). */
  before?: number;
  limit: number;
}

export interface EventPage {
  events: TimelineEvent[];
  /** Where the next (older) page starts, or null when nothing older matches. */
  nextCursor: number | null;
  /** How many sealed events this page read to find its matches (bounded by SCAN_BUDGET). */
  scanned: number;
}

/** A page view reads at most this many events; past it the page ends early and offers to go on. */
const SCAN_BUDGET = 5000;
/**
 * Sealing order follows commit order within about a minute (a journal slot held back by a dead writer's
 * number); past this much older than `since`, stop reading.
 */
const SEAL_ORDER_SLACK_MS = 10 * 60 * 1000;

/** Reading and verifying the audit chain, for auditors. */
export class AuditService {
  constructor(
    private readonly deps: {
      store: BrokerStore;
      requests: RequestService;
      reads?: AuditReads;
      clock?: Clock;
    },
  ) {}

  /** The broker's clock: a report says what is active "now" in the same time its events were written in. */
  now(): Date {
    return (this.deps.clock ?? systemClock).now();
  }

  /** Records an export, report or verify by a person as `audit.read` (aggregated; see audit-reads.ts). */
  async recordRead(caller: Caller, read: AuditRead): Promise<void> {
    await this.deps.reads?.record(caller, read);
  }

  /**
   * Records that the broker refused to sign an export because the stored events disagree with the signed
   * digests in the bunker: the table was rewritten after sealing. Never aggregated.
   */
  async recordSigningRefused(
    caller: Caller,
    refusal: { seq: number; reason: string },
    range: { since?: string | undefined; until?: string | undefined },
  ): Promise<void> {
    await this.deps.requests.record([
      {
        type: 'audit.sign_refused',
        actor: actorOf(caller),
        data: {
          seq: refusal.seq,
          reason: refusal.reason,
          since: range.since ?? null,
          until: range.until ?? null,
        },
      },
    ]);
  }

  /** Writes the `audit.read` summaries of windows still open (shutdown, tests). */
  async flushReads(): Promise<void> {
    await this.deps.reads?.flush();
  }

  /** Checks the auditor rule (recording a refusal) before any event is read. */
  async authorize(caller: Caller, action: string): Promise<void> {
    await this.deps.requests.guard(caller, action, {}, async () =>
      requireAuditor(this.deps.requests.config, caller),
    );
  }

  /** The stored chain up to its head, without the bunker's digests (`verifyStore` with no bunker). */
  verifyStored(): Promise<AuditVerifyReport> {
    return verifyStore(this.deps.store, null);
  }

  /** A cheap storage round trip for `/readyz`. */
  ping(): Promise<void> {
    return this.deps.store.ping();
  }

  /**
   * One page of the event browser, newest first. A request's own events come from its item collection (sealed
   * or not); otherwise sealed events are read backwards by seq from the cursor, stopping once they are well
   * older than `since` or after SCAN_BUDGET events (the page then offers to continue).
   */
  async browse(caller: Caller, query: EventQuery): Promise<EventPage> {
    await this.authorize(caller, 'audit.view');
    const user = query.user?.toLowerCase();
    const matches = (event: TimelineEvent) =>
      (!query.type || event.type === query.type) &&
      (!query.roleId || event.roleId === query.roleId) &&
      (!query.requestId || event.requestId === query.requestId) &&
      (!query.since || event.time >= query.since) &&
      (!query.until || event.time < query.until) &&
      (!user ||
        (event.actor.type === 'user' &&
          (event.actor.email.toLowerCase() === user || event.actor.subject.toLowerCase() === user)));
    if (query.requestId) {
      const events = (await this.deps.store.requestEvents(query.requestId, 1000))
        .filter(matches)
        .sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
      return { events: events.slice(0, query.limit), nextCursor: null, scanned: events.length };
    }
    const stopBelow = query.since
      ? new Date(Date.parse(query.since) - SEAL_ORDER_SLACK_MS).toISOString()
      : null;
    const events: TimelineEvent[] = [];
    let scanned = 0;
    let lastSeq: number | null = null;
    let more = false;
    const range: EventRange = {
      newestFirst: true,
      ...(query.before !== undefined ? { toSeq: query.before - 1 } : {}),
    };
    for await (const event of this.deps.store.readEvents(range)) {
      if (stopBelow && event.time < stopBelow) break;
      if (events.length === query.limit || scanned === SCAN_BUDGET) {
        more = true;
        break;
      }
      scanned += 1;
      lastSeq = event.seq;
      if (matches(event)) events.push(event);
    }
    const nextCursor = more && lastSeq !== null && lastSeq > 1 ? lastSeq : null;
    return { events, nextCursor, scanned };
  }

  async events(caller: Caller, range: EventRange): Promise<AsyncIterable<AuditEvent>> {
    await this.authorize(caller, 'audit.export');
    return this.deps.store.readEvents(range);
  }
}
