/**
 * Grants active when a report's range begins, found from the sealed trail although sealing order only roughly
 * follows commit time: a commit held back in its journal slot is sealed after later ones.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditEventType, TimelineEvent } from '../../api/domain/types.js';
import type { EventRange } from '../../api/ports/store.js';
import { isContext, withHistory } from '../../api/services/audit-history.js';

const SINCE = Date.parse('2026-11-20T12:00:00.000Z');
const at = (minutes: number) => new Date(SINCE + minutes * 60_000).toISOString();

/** Events in seq order; each id starts with its commit time, as event ids do. */
function trail(events: { minutes: number; type: AuditEventType; requestId: string }[]): AuditEvent[] {
  return events.map(({ minutes, type, requestId }, index) => ({
    id: `evt_${at(minutes)}_${index}`,
    time: at(minutes),
    type,
    actor: { type: 'system', subject: 'scheduler' },
    requestId,
    data: {},
    simulated: true,
    seq: index + 1,
    prevHash: '0'.repeat(64),
    hash: '0'.repeat(64),
  })) as AuditEvent[];
}

async function activeAtSince(sealed: AuditEvent[]): Promise<string[]> {
  const store = {
    async *readEvents(range: EventRange = {}) {
      for (const event of sealed) if (!range.since || event.time >= range.since) yield event;
    },
    async requestEvents(requestId: string): Promise<TimelineEvent[]> {
      return [{ ...sealed[0]!, requestId, seq: 0 }];
    },
  };
  const inRange = (async function* () {
    yield* sealed.filter((event) => Date.parse(event.time) >= SINCE);
  })();
  const found = new Set<string>();
  for await (const item of withHistory(store, inRange, {
    activeAt: { since: at(0), lookbackMinutes: 120 },
    wants: () => false,
  })) {
    if (isContext(item)) found.add(item.context.requestId!);
  }
  return [...found].sort();
}

describe('grants active at the start of a range', () => {
  it('counts a grant whose activation was sealed after an event of the range, and an end sealed before its start', async () => {
    const sealed = trail([
      { minutes: -30, type: 'grant.activated', requestId: 'req_a' },
      // Expired 5 minutes before the range, but its activation was held back and sealed after the expiry.
      { minutes: -5, type: 'grant.expired', requestId: 'req_b' },
      { minutes: 0.1, type: 'request.created', requestId: 'req_x' },
      { minutes: -20, type: 'grant.activated', requestId: 'req_b' },
      // Activated 2 minutes before the range, sealed after an event of the range.
      { minutes: -2, type: 'grant.activated', requestId: 'req_c' },
      { minutes: 3, type: 'grant.revoked', requestId: 'req_a' },
    ]);
    expect(await activeAtSince(sealed)).toEqual(['req_a', 'req_c']);
  });
});
