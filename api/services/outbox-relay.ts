/**
 * Runs the post-commit effects a crash left owed. Every commit that some effect wants writes an outbox entry in
 * its own transaction; the committing process normally runs the effects at once and removes the entry. An entry
 * still there after its grace period (the process died, or an effect failed) is claimed here with a lease, its
 * remaining effects are run with the request's current state, and it is removed — or, after `maxAttempts`, the
 * final failure is audited as `effect.failed`. Delivery is at least once: receivers dedupe by event id.
 */

import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.js';
import type { BrokerStore } from '../ports/store.js';
import type { RequestService } from './request-service.js';

export interface OutboxRelayOptions {
  outbox: Outbox;
  store: BrokerStore;
  requests: RequestService;
  clock: Clock;
  logger: Logger;
  /** How long a claimed entry is ours before another relay may take it (default 5 minutes). */
  leaseSeconds?: number;
  maxAttempts?: number;
  batch?: number;
}

const RELAY_ACTOR = { type: 'system' as const, subject: 'outbox-relay' };

export class OutboxRelay {
  constructor(private readonly options: OutboxRelayOptions) {}

  /**
   * Runs every due entry once; returns how many were completed (or given up on and audited). `asOf` moves the
   * due line: a process that knows it is the table's only broker (the local stack at start-up) takes over
   * entries still inside their grace period, since whoever committed them is gone.
   */
  async drain(asOf?: Date): Promise<number> {
    const { outbox, clock } = this.options;
    let settled = 0;
    for (let round = 0; round < 20; round++) {
      const due = await outbox.due(asOf ?? clock.now(), this.options.batch ?? 25);
      if (due.length === 0) break;
      let progressed = false;
      for (const entry of due) {
        const lease = new Date(clock.now().getTime() + (this.options.leaseSeconds ?? 300) * 1000);
        if (!(await outbox.claim(entry, lease))) continue;
        progressed = true;
        if (await this.run({ ...entry, attempts: entry.attempts + 1 })) settled += 1;
      }
      if (!progressed) break;
    }
    return settled;
  }

  private async run(entry: OutboxEntry): Promise<boolean> {
    const { outbox, store, requests, clock, logger } = this.options;
    const remaining = entry.effects.filter((name) => !entry.done.includes(name));
    const events = await outbox.events(entry);
    const request =
      entry.kind === 'change' && entry.requestId ? await store.getRequest(entry.requestId) : null;
    const done =
      events.length > 0 && (entry.kind === 'record' || request)
        ? await requests.runEffects(remaining, request, events, entry.kind)
        : [];
    const allDone = [...entry.done, ...done];
    const complete = remaining.every((name) => done.includes(name));
    if (complete) {
      await outbox.settle(entry.id, allDone, true, clock.now());
      logger.info({ outbox: entry.id, effects: done, attempts: entry.attempts }, 'owed effects delivered');
      return true;
    }
    const maxAttempts = this.options.maxAttempts ?? 8;
    const failed = remaining.filter((name) => !done.includes(name));
    if (entry.attempts >= maxAttempts || events.length === 0) {
      await store.appendEvents([
        {
          type: 'effect.failed',
          actor: RELAY_ACTOR,
          ...(entry.requestId ? { requestId: entry.requestId } : {}),
          data: {
            effects: failed,
            eventIds: entry.eventIds,
            attempts: entry.attempts,
            reason: events.length === 0 ? 'events not found' : 'effect kept failing',
          },
        },
      ]);
      await outbox.settle(entry.id, allDone, true, clock.now());
      logger.error({ outbox: entry.id, failed }, 'post-commit effects given up after retries (audited)');
      return true;
    }
    const backoff = Math.min(3600, 30 * 2 ** entry.attempts) * 1000;
    await outbox.settle(entry.id, allDone, false, new Date(clock.now().getTime() + backoff));
    return false;
  }
}
