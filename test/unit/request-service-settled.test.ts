import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { BrokerStore } from '../../api/ports/store.js';
import { type LifecycleListener, RequestService } from '../../api/services/request-service.js';
import { alice, configWith, NOW } from './support.js';

/** Only what `create` and `record` touch; the rest of the store is not involved in listener bookkeeping. */
function storeStub(): BrokerStore {
  let seq = 0;
  const seal = (drafts: AuditEventDraft[]) =>
    drafts.map(
      (draft) => ({ ...draft, seq: ++seq, id: `evt_${seq}`, time: NOW.toISOString() }) as AuditEvent,
    );
  return {
    createRequest: async (outcome) => ({
      request: outcome.request,
      replayed: false,
      events: seal(outcome.events),
      outbox: null,
    }),
    appendEvents: async (drafts) => ({ events: seal(drafts), outbox: null }),
  } as Partial<BrokerStore> as BrokerStore;
}

const later = (ms: number, effect: () => void, fail = false) =>
  new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      effect();
      if (fail) reject(new Error('listener failed'));
      else resolve();
    }, ms),
  );

describe('RequestService.settled (Lambda waits for after-commit work before it freezes)', () => {
  const service = () =>
    new RequestService({
      config: configWith(),
      store: storeStub(),
      clock: { now: () => NOW },
      logger: silentLogger,
    });

  it('waits for listener work of both kinds, failures included, and for work that work starts', async () => {
    const requests = service();
    const done: string[] = [];
    const listeners: LifecycleListener[] = [
      { name: 'schedules', afterChange: () => later(30, () => done.push('schedule')) },
      { name: 'failing', afterChange: () => later(10, () => done.push('change'), true) },
      {
        // Recording an event from a listener starts more listener work: settled must wait for that too.
        name: 'recorder',
        afterChange: async () => {
          await later(20, () => done.push('recorded'));
          await requests.record([
            { type: 'notification.failed', actor: { type: 'system', subject: 't' }, data: {} },
          ]);
        },
        afterRecord: () => later(40, () => done.push('after-record')),
      },
    ];
    for (const listener of listeners) requests.addListener(listener);
    await requests.create(alice, {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'look at the incident',
    });
    expect(done).toEqual([]);
    await requests.settled(5_000);
    expect(done.sort()).toEqual(['after-record', 'change', 'recorded', 'schedule']);
  });

  it('starts the owed effects only after the commit has returned to its caller, and settled() still waits for them', async () => {
    const requests = service();
    const order: string[] = [];
    requests.addListener({
      name: 'slack',
      afterChange: async () => {
        // Synchronous work of a listener (message building, SDK serialisation) used to run inside create(),
        // ahead of the HTTP response the caller was about to write.
        order.push('listener started');
      },
    });
    await requests.create(alice, {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'look at the incident',
    });
    order.push('caller continued');
    await requests.settled(5_000);
    expect(order).toEqual(['caller continued', 'listener started']);
  });

  it('gives up at the deadline', async () => {
    const requests = service();
    requests.addListener({
      name: 'slow',
      afterChange: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
    });
    await requests.create(alice, {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'look at the incident',
    });
    const started = Date.now();
    await requests.settled(50);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
