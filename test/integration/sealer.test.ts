/**
 * The write path without a global lock: commits store unsealed journal entries and touch no shared item; one
 * sealer chains them exactly once. Against DynamoDB Local: commits leave the chain head alone, two sealers racing
 * over the same backlog produce one unbroken chain with every event exactly once, and a sealer that dies (lost
 * responses, refused transactions) resumes with no gap and no duplicate.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../api/adapters/dynamodb/store.js';
import { verifyChain } from '../../api/domain/audit-chain.js';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { systemClock } from '../../api/ports/clock.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { Committed } from '../../api/ports/store.js';
import { Sealer } from '../../api/services/sealer.js';
import { MutableClock } from '../support/clock.js';
import { transactFaults } from '../support/faults.js';
import { testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const draft = (n: number): AuditEventDraft => ({
  type: 'access.forbidden',
  actor: { type: 'user', subject: `user-${n}`, email: `u${n}@example.com`, via: 'api' },
  data: { action: 'test', n },
});

/** Commits `count` events, 20 at a time (a backlog for the sealers, not a connection storm); their ids. */
async function commitMany(count: number, commit: (n: number) => Promise<Committed>): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 20) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(20, count - start) }, (_, k) => commit(start + k)),
    );
    for (const committed of wave) ids.push(...committed.events.map((event) => event.id));
  }
  return ids;
}

async function sealedChain(store: DynamoStore): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for await (const event of store.readEvents()) events.push(event);
  return events;
}

describe('commit without a global lock, one sealer that chains', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  /** A second store on the same table, as another Lambda instance would have. */
  let other: DynamoStore;

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig(), shipIntervalSeconds: 3600 });
    await stack.sealing.stop();
    other = new DynamoStore({
      client: stack.broker.dynamodb,
      tableName: stack.tableName,
      clock: systemClock,
      simulated: true,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const sealer = (store = stack.broker.store as DynamoStore) =>
    new Sealer({ journal: store, clock: systemClock, logger: silentLogger, maxLagSeconds: 60 });

  it('a commit reads and writes no chain head; its events wait unsealed and show in the request timeline', async () => {
    await sealer().run();
    const headBefore = await stack.broker.store.chainHead();
    const faults = transactFaults(stack.broker.dynamodb);
    const sentBefore = faults.transactions;
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const created = await alice<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'no global lock',
    });
    expect(created.status).toBe(201);
    expect(faults.transactions - sentBefore).toBe(1);
    expect(await stack.broker.store.chainHead()).toEqual(headBefore);
    const head = await stack.broker.dynamodb.send(
      new GetItemCommand({
        TableName: stack.tableName,
        Key: marshall({ pk: 'META', sk: 'AUDIT_HEAD' }),
        ConsistentRead: true,
      }),
    );
    expect(head.Item ? Number(head.Item.seq?.N) : 0).toBe(headBefore.seq);
    const timeline = await stack.broker.store.requestEvents(created.body.id);
    expect(timeline.map((event) => event.type)).toEqual(['request.created']);
    expect(timeline.every((event) => event.seq === undefined)).toBe(true);
    const lag = await stack.broker.sealer.lag();
    expect(lag.unsealed).toBeGreaterThanOrEqual(1);

    const result = await sealer().run();
    expect(result.sealed).toBeGreaterThanOrEqual(1);
    const sealedTimeline = await stack.broker.store.requestEvents(created.body.id);
    expect(sealedTimeline.every((event) => typeof event.seq === 'number')).toBe(true);
    const seqs = sealedTimeline.map((event) => event.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await stack.broker.sealer.lag()).unsealed).toBe(0);
  });

  it('two sealers racing over one backlog seal every event exactly once, in one unbroken chain', async () => {
    const ids = await commitMany(300, (n) =>
      (n % 2 ? other : (stack.broker.store as DynamoStore)).appendEvents([draft(n)]),
    );
    const results = await Promise.all([sealer().run(), sealer(other).run(), sealer().run()]);
    // Whatever a yielding sealer left, one more run finishes.
    await sealer().run();
    const chain = await sealedChain(stack.broker.store as DynamoStore);
    const verified = verifyChain(chain);
    console.log(
      `two sealers: ${results.map((r) => r.sealed).join(' + ')} sealed, chain of ${chain.length}, ok=${verified.ok}`,
    );
    expect(verified.ok).toBe(true);
    const sealedIds = chain.map((event) => event.id);
    expect(new Set(sealedIds).size).toBe(sealedIds.length);
    for (const id of ids) expect(sealedIds).toContain(id);
    expect((await stack.broker.sealer.lag()).unsealed).toBe(0);
  });

  it('a sealer whose transaction response is lost, or is refused, resumes with no gap and no duplicate', async () => {
    const faults = transactFaults(stack.broker.dynamodb);
    const ids = await commitMany(120, (n) => stack.broker.store.appendEvents([draft(1000 + n)]));
    for (const fault of ['network-after', 'network-before', 'conflict', 'network-after'] as const) {
      faults.fail(fault);
      await sealer()
        .run()
        .catch(() => undefined);
    }
    faults.clear();
    await sealer().run();
    const chain = await sealedChain(stack.broker.store as DynamoStore);
    expect(verifyChain(chain).ok).toBe(true);
    const sealedIds = chain.map((event) => event.id);
    expect(new Set(sealedIds).size).toBe(sealedIds.length);
    for (const id of ids) expect(sealedIds).toContain(id);
    expect(chain.map((event) => event.seq)).toEqual(chain.map((_, index) => index + 1));
  });

  it('verify reports what waits for the sealer; /readyz fails once sealing lags beyond the threshold', async () => {
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    await stack.broker.store.appendEvents([draft(5000)]);
    const verify = await carol<{ ok: boolean; sealing: { unsealed: number } }>('GET', '/v1/audit/verify');
    expect(verify.body.ok).toBe(true);
    expect(verify.body.sealing.unsealed).toBeGreaterThanOrEqual(1);
    const fresh = await fetch(`${stack.url}/readyz`);
    expect(((await fresh.json()) as { checks: { sealer: { ok: boolean } } }).checks.sealer.ok).toBe(true);
    clock.advanceMinutes(2);
    try {
      const stale = await fetch(`${stack.url}/readyz`);
      expect(stale.status).toBe(503);
      const body = (await stale.json()) as {
        checks: { sealer: { ok: boolean; oldestUnsealedAgeSeconds: number } };
      };
      expect(body.checks.sealer.ok).toBe(false);
      expect(body.checks.sealer.oldestUnsealedAgeSeconds).toBeGreaterThan(60);
      await sealer().run();
      expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    } finally {
      clock.reset();
    }
  });
});
