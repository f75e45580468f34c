/**
 * Date-ranged exports and reports must describe each request whole, even when its story began before the
 * range: who asked, why, who approved. `withHistory` wraps the range's events and, the first time a request
 * shows up without its `request.created`, first hands over that request's own earlier events (from the
 * request's timeline in the store) marked as context. With `activeAt`, it also finds the grants that were
 * already active when the range began (activated within the longest grant any role allows before it, not yet
 * ended), so a report lists a grant that held access through the whole range without a single event in it.
 */
import { STORY_EVENT } from '../domain/exports/request-record.js';
import type { AuditEvent, TimelineEvent } from '../domain/types.js';
import type { BrokerStore } from '../ports/store.js';

/** An event from before the range, fed only to complete a request's record; never exported as such. */
export interface HistoryContext {
  context: TimelineEvent;
}

export type RangeItem = AuditEvent | HistoryContext;

export const isContext = (item: RangeItem): item is HistoryContext => 'context' in item;

export interface HistoryOptions {
  /** Which events want their request's earlier history (default: events of a request's own story). */
  wants?: (event: AuditEvent) => boolean;
  /** Also yield, before the range, the history of grants active at `since` (reports). */
  activeAt?: { since: string; lookbackMinutes: number };
  /** Most requests remembered as already looked up (older ones may be looked up again). */
  remember?: number;
}

const ENDS = new Set([
  'grant.expired',
  'grant.revoked',
  'grant.failed',
  'request.denied',
  'request.cancelled',
  'request.timed_out',
]);

/** Most timeline events read for one request's history. */
const HISTORY_LIMIT = 10_000;

export async function* withHistory(
  store: Pick<BrokerStore, 'requestEvents' | 'readEvents'>,
  events: AsyncIterable<AuditEvent>,
  options: HistoryOptions = {},
): AsyncIterable<RangeItem> {
  const wants = options.wants ?? ((event: AuditEvent) => STORY_EVENT.test(event.type));
  const limit = options.remember ?? 100_000;
  const seen = new Set<string>();
  const remember = (id: string) => {
    if (seen.size >= limit) {
      const oldest = seen.values().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    seen.add(id);
  };
  async function* historyOf(requestId: string, beforeSeq: number): AsyncIterable<HistoryContext> {
    const timeline = await store.requestEvents(requestId, HISTORY_LIMIT);
    const earlier = timeline
      .filter((event) => event.seq !== undefined && event.seq < beforeSeq)
      .sort((a, b) => a.seq! - b.seq!);
    for (const context of earlier) yield { context };
  }

  const activeAtStart = options.activeAt ? await grantsActiveAt(store, options.activeAt) : [];
  let firstSeq: number | null = null;
  for await (const event of events) {
    if (firstSeq === null) {
      firstSeq = event.seq;
      for (const requestId of activeAtStart) {
        remember(requestId);
        yield* historyOf(requestId, firstSeq);
      }
    }
    const id = event.requestId;
    if (id && !seen.has(id) && wants(event)) {
      remember(id);
      if (event.type !== 'request.created') yield* historyOf(id, event.seq);
    }
    yield event;
  }
  if (firstSeq === null) {
    // Nothing happened in the range: the grants active through it are still part of the review.
    for (const requestId of activeAtStart) yield* historyOf(requestId, Number.POSITIVE_INFINITY);
  }
}

/**
 * How far sealing order may trail commit order: a commit held back in its journal slot behind a number whose
 * writer died waits about a minute (docs/architecture.md, "Journal slots"); this leaves a wide margin.
 */
const SEAL_REORDER_MS = 10 * 60_000;

/**
 * Requests whose grant was active at `since`: activated in the `lookbackMinutes` before it (no grant may last
 * longer than the longest `maxDuration`, extensions included) and not ended before it. Seq order only roughly
 * follows commit time, so the look-back reads a margin past `since` and decides each request by its latest
 * event before `since` (event ids start with their commit time).
 */
async function grantsActiveAt(
  store: Pick<BrokerStore, 'readEvents'>,
  at: { since: string; lookbackMinutes: number },
): Promise<string[]> {
  const since = Date.parse(at.since);
  const from = new Date(since - at.lookbackMinutes * 60_000).toISOString();
  const latest = new Map<string, { id: string; active: boolean }>();
  for await (const event of store.readEvents({ since: from })) {
    const time = Date.parse(event.time);
    if (time >= since + SEAL_REORDER_MS) break;
    if (time >= since || !event.requestId) continue;
    const activates = event.type === 'grant.activated' || event.type === 'emergency.activated';
    if (!activates && !ENDS.has(event.type)) continue;
    const seen = latest.get(event.requestId);
    if (seen && seen.id > event.id) continue;
    latest.set(event.requestId, { id: event.id, active: activates });
  }
  return [...latest].filter(([, state]) => state.active).map(([requestId]) => requestId);
}
