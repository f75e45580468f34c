/**
 * The write path without a global lock: commits leave their events in journal records of their writer's slot and
 * touch no shared item; one sealer chains them exactly once. Against DynamoDB Local: commits leave the chain head
 * alone, two and three sealers racing over the same backlog produce one unbroken chain with every event exactly
 * once, a sealer whose transactions are lost or refused resumes with no gap and no duplicate, a number whose
 * commit never landed holds back only its own slot (closed at once by its writer, or by the sealer once the
 * writer is presumed dead), writers sharing a slot resend under a new number, and a table of the layout before
 * journal slots is drained into them. Reads over many small blocks give exactly the events of the range asked for.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type QueryCommandOutput,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockItem } from '../../api/adapters/dynamodb/chain-blocks.js';
import { DynamoStore, type DynamoStoreOptions } from '../../api/adapters/dynamodb/store.js';
import { ensureTable } from '../../api/adapters/dynamodb/table.js';
import { EMPTY_HEAD, sealAll, serializeEvent, verifyChain } from '../../api/domain/audit-chain.js';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { systemClock } from '../../api/ports/clock.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { Committed, EventRange } from '../../api/ports/store.js';
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

async function sealedChain(store: DynamoStore, range: EventRange = {}): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for await (const event of store.readEvents(range)) events.push(event);
  return events;
}

/** Adds `stale` rows to every first answer of the older layout's unsealed index: DynamoDB's index lagging. */
function laggingIndex(client: DynamoDBClient, stale: () => Record<string, unknown>[]) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { IndexName?: string; ExclusiveStartKey?: unknown };
      if (context.commandName !== 'QueryCommand' || input.IndexName !== 'byUnsealed') return result;
      if (input.ExclusiveStartKey) return result;
      const output = result.output as QueryCommandOutput;
      const extra = stale().map((item) => marshall(item));
      return { ...result, output: { ...output, Items: [...extra, ...(output.Items ?? [])] } };
    },
    { step: 'initialize', name: 'testLaggingIndex', override: true },
  );
}

/** Makes every PutItem of this client fail while `on` (a writer that dies before it can close its number). */
function putFaults(client: DynamoDBClient) {
  const state = { on: false, refused: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (state.on && context.commandName === 'PutItemCommand') {
        state.refused += 1;
        const error = new Error('socket hang up (injected)');
        error.name = 'ECONNRESET';
        throw error;
      }
      return next(args);
    },
    { step: 'initialize', name: 'testPutFaults', override: true },
  );
  return state;
}

describe('commit without a global lock, one sealer that chains', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  /** A second store on the same table, as another Lambda instance would have. */
  let other: DynamoStore;

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig(), shipIntervalSeconds: 3600 });
    await stack.sealing.stop();
    other = storeOn();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const sealer = (store = stack.broker.store as DynamoStore) =>
    new Sealer({ journal: store, clock: systemClock, logger: silentLogger, maxLagSeconds: 60 });
  /** Another store on the test table (another process, in effect), with `options` over the defaults. */
  const storeOn = (options: Partial<DynamoStoreOptions> = {}) =>
    new DynamoStore({
      client: stack.broker.dynamodb,
      tableName: stack.tableName,
      clock: systemClock,
      simulated: true,
      ...options,
    });
  /** A sealer's own store cutting blocks of `size` events, so a few hundred events make many blocks. */
  const smallBlocks = (size: number) => storeOn({ sealBatchLimit: size });

  async function expectExactlyOnce(ids: string[]) {
    const chain = await sealedChain(stack.broker.store as DynamoStore);
    expect(verifyChain(chain).ok).toBe(true);
    const sealedIds = chain.map((event) => event.id);
    expect(new Set(sealedIds).size).toBe(sealedIds.length);
    for (const id of ids) expect(sealedIds).toContain(id);
    expect(chain.map((event) => event.seq)).toEqual(chain.map((_, index) => index + 1));
    return chain;
  }

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
    expect(head.Item?.seq ? Number(head.Item.seq.N) : 0).toBe(headBefore.seq);
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
    await expectExactlyOnce(ids);
  });

  it('three sealers racing with small blocks: no duplicate, no gap', async () => {
    const ids = await commitMany(300, (n) =>
      (n % 2 ? other : (stack.broker.store as DynamoStore)).appendEvents([draft(2000 + n)]),
    );
    const stores = [smallBlocks(7), smallBlocks(11), smallBlocks(5)];
    const results = await Promise.all(stores.map((store) => sealer(store).run()));
    await sealer(smallBlocks(13)).run();
    console.log(`small blocks: ${results.map((r) => r.sealed).join(' + ')} sealed by three racing sealers`);
    expect(results.filter((result) => result.sealed > 0).length).toBeGreaterThanOrEqual(1);
    await expectExactlyOnce(ids);
    expect((await stack.broker.sealer.lag()).unsealed).toBe(0);
  });

  it('a commit that does not land closes its number at once: the commits after it in the slot are sealed', async () => {
    const faults = transactFaults(stack.broker.dynamodb);
    const store = stack.broker.store as DynamoStore;
    const before = await commitMany(3, (n) => store.appendEvents([draft(3000 + n)]));
    faults.fail('network-before');
    await expect(store.appendEvents([draft(3100)])).rejects.toThrow(/socket hang up/);
    const after = await commitMany(5, (n) => store.appendEvents([draft(3200 + n)]));
    expect((await stack.broker.sealer.lag()).unsealed).toBe(8);
    expect((await sealer().run()).sealed).toBe(8);
    const chain = await expectExactlyOnce([...before, ...after]);
    expect(chain.some((event) => (event.data as { n?: number }).n === 3100)).toBe(false);
  });

  it('a writer that dies with a number in flight holds back only its slot, until the sealer closes the number', async () => {
    const times = new MutableClock();
    const dying = storeOn({ clock: times });
    const transactions = transactFaults(stack.broker.dynamodb);
    const puts = putFaults(stack.broker.dynamodb);
    await dying.appendEvents([draft(3300)]);
    // The commit never reaches DynamoDB and the writer cannot close its number either: it is gone.
    transactions.fail('network-before');
    puts.on = true;
    try {
      await expect(dying.appendEvents([draft(3301)])).rejects.toThrow(/socket hang up/);
      // Its filler is written in the background, and refused.
      await vi.waitFor(() => expect(puts.refused).toBe(1));
    } finally {
      puts.on = false;
    }
    const behind = await commitMany(4, (n) => dying.appendEvents([draft(3310 + n)]));
    const elsewhere = await commitMany(3, (n) => stack.broker.store.appendEvents([draft(3320 + n)]));
    const first = await sealer(dying).run();
    // Everything before the open number and in other slots is sealed; what follows it waits.
    expect(first.sealed).toBe(1 + elsewhere.length);
    expect((await stack.broker.sealer.lag()).unsealed).toBe(4);
    times.advanceMinutes(2);
    expect((await sealer(dying).run()).sealed).toBe(4);
    const chain = await expectExactlyOnce([...behind, ...elsewhere]);
    expect(chain.some((event) => (event.data as { n?: number }).n === 3301)).toBe(false);
    // A late arrival of the lost commit would find its number closed: it is sent again under a new one.
    expect((await stack.broker.sealer.lag()).unsealed).toBe(0);
  });

  it('writers sharing a slot collide on numbers and resend: every commit lands once and is sealed once', async () => {
    const shared = (n: number) =>
      storeOn({ journalSlot: '99' })
        .appendEvents([draft(3400 + n)])
        .then((committed) => committed.events.map((event) => event.id));
    const writers = [0, 1, 2, 3].map(() => storeOn({ journalSlot: '98' }));
    // Four writers in one slot, each believing the same next number, 10 commits each at once.
    const ids = (
      await Promise.all(
        writers.flatMap((writer, w) =>
          Array.from({ length: 10 }, (_, k) =>
            writer.appendEvents([draft(3500 + w * 10 + k)]).then((committed) => committed.events[0]!.id),
          ),
        ),
      )
    ).concat(...(await Promise.all([shared(0), shared(1)])));
    expect(ids).toHaveLength(42);
    await sealer().run();
    await expectExactlyOnce(ids);
    expect((await stack.broker.sealer.lag()).unsealed).toBe(0);
  });

  it('blocks are cut by bytes, not characters: events of multi-byte text never make a block DynamoDB refuses', async () => {
    await sealer().run();
    const store = stack.broker.store as DynamoStore;
    // 150 events of 1,000 three-byte characters: about 210,000 characters, but 450 KB of text.
    const ids = await commitMany(150, (n) =>
      store.appendEvents([{ ...draft(9000 + n), data: { reason: '障害対応'.repeat(250), n } }]),
    );
    expect((await sealer().run()).sealed).toBe(150);
    await expectExactlyOnce(ids);
  });

  it('reads across block boundaries give exactly the events of the range, in either direction', async () => {
    const store = stack.broker.store as DynamoStore;
    // Commit times out of seq order, so blocks' time spans overlap and only per-event filtering is right.
    const times = new MutableClock();
    const stamped = storeOn({ clock: times });
    await commitMany(45, (n) => stamped.appendEvents([draft(6000 + n)]));
    for (let n = 0; n < 20; n++) {
      times.advanceMinutes(n % 2 ? 7 : -3);
      await stamped.appendEvents([draft(7000 + n)]);
    }
    times.reset();
    await sealer(smallBlocks(6)).run();
    const all = await sealedChain(store);
    expect(verifyChain(all).ok).toBe(true);
    const last = all.at(-1)!.seq;
    const sortedTimes = all.map((event) => event.time).sort();
    const since = sortedTimes[Math.floor(sortedTimes.length * 0.4)]!;
    const until = sortedTimes[Math.floor(sortedTimes.length * 0.8)]!;
    const ranges: EventRange[] = [
      {},
      { fromSeq: last - 20 },
      { fromSeq: last - 20, toSeq: last - 4 },
      { fromSeq: last - 3, toSeq: last - 3 },
      { fromSeq: last + 1 },
      { fromSeq: 10, toSeq: 9 },
      { newestFirst: true },
      { newestFirst: true, toSeq: last - 9 },
      { newestFirst: true, fromSeq: last - 30, toSeq: last - 9 },
      { since },
      { until },
      { since, until },
      { since, until, newestFirst: true, fromSeq: last - 40 },
    ];
    for (const range of ranges) {
      const from = Math.max(1, range.fromSeq ?? 1);
      const to = range.toSeq ?? Number.POSITIVE_INFINITY;
      const expected = all.filter(
        (event) =>
          event.seq >= from &&
          event.seq <= to &&
          (!range.since || event.time >= range.since) &&
          (!range.until || event.time < range.until),
      );
      if (range.newestFirst) expected.reverse();
      const read = await sealedChain(store, range);
      expect(
        read.map((event) => event.seq),
        JSON.stringify(range),
      ).toEqual(expected.map((event) => event.seq));
      expect(read).toEqual(expected);
    }
  });

  it('a table sealed before blocks (one item per seq) reads on, and sealing continues its chain in blocks', async () => {
    // The layout of the previous release: one item per event and a head with seq and hash only.
    const tableName = `legacy-${Date.now()}`;
    await ensureTable(stack.broker.dynamodb, tableName);
    const legacy = sealAll(
      [1, 2, 3, 4, 5].map((n) => ({
        id: `evt_legacy${n}`,
        time: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
        type: 'access.forbidden',
        actor: { type: 'user' as const, subject: `legacy-${n}`, email: 'l@example.com', via: 'api' as const },
        data: { n },
        simulated: true,
      })),
      EMPTY_HEAD,
    );
    for (const event of legacy.sealed) {
      await stack.broker.dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: marshall({
            pk: 'AUDIT',
            sk: event.seq.toString().padStart(12, '0'),
            seq: event.seq,
            time: event.time,
            type: event.type,
            body: serializeEvent(event),
          }),
        }),
      );
    }
    await stack.broker.dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ pk: 'META', sk: 'AUDIT_HEAD', seq: legacy.head.seq, hash: legacy.head.hash }),
      }),
    );
    const store = storeOn({ tableName, sealBatchLimit: 3 });
    await store.appendEvents(
      [6, 7, 8, 9].map((n) => ({
        type: 'access.forbidden',
        actor: { type: 'user', subject: `new-${n}`, email: 'n@example.com', via: 'api' },
        data: { n },
      })) as AuditEventDraft[],
    );
    expect((await sealer(store).run()).sealed).toBe(4);
    const chain = await sealedChain(store);
    expect(chain.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(chain.slice(0, 5)).toEqual(legacy.sealed);
    expect(verifyChain(chain)).toMatchObject({ ok: true, events: 9 });
    // Ranges across the two layouts, in either direction.
    expect((await sealedChain(store, { fromSeq: 4, toSeq: 7 })).map((event) => event.seq)).toEqual([
      4, 5, 6, 7,
    ]);
    expect((await sealedChain(store, { newestFirst: true })).map((event) => event.seq)).toEqual([
      9, 8, 7, 6, 5, 4, 3, 2, 1,
    ]);
  });

  /**
   * A table of the layout before journal slots: events 1–3 sealed in a block whose entries the old sealer had
   * not marked when it stopped (listed as pending on the head), and `waiting` more entries still unsealed.
   */
  async function olderLayout(waiting: number) {
    const tableName = `older-${Date.now()}-${waiting}`;
    await ensureTable(stack.broker.dynamodb, tableName);
    const committed = Array.from({ length: 3 + waiting }, (_, k) => ({
      id: `evt_01KB00000000000000000${String(k + 1).padStart(3, '0')}AA`,
      time: new Date(Date.UTC(2026, 0, 1, 0, k + 1)).toISOString(),
      type: 'access.forbidden' as const,
      actor: { type: 'user' as const, subject: `old-${k}`, email: 'o@example.com', via: 'api' as const },
      data: { n: k + 1 },
      simulated: true,
    }));
    const put = (item: Record<string, unknown>) =>
      stack.broker.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: marshall(item) }));
    const sealed = sealAll(committed.slice(0, 3), EMPTY_HEAD);
    await stack.broker.dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item: blockItem(sealed.sealed) }),
    );
    for (const event of committed)
      await put({
        pk: `EVT#${event.id}`,
        sk: `EVT#${event.id}`,
        time: event.time,
        type: event.type,
        body: JSON.stringify(event),
        gsi5pk: 'UNSEALED',
        gsi5sk: event.id,
      });
    await put({
      pk: 'META',
      sk: 'AUDIT_HEAD',
      seq: sealed.head.seq,
      hash: sealed.head.hash,
      [`pending:${'1'.padStart(12, '0')}`]: committed
        .slice(0, 3)
        .map((event) => `EVT#${event.id}\tEVT#${event.id}`)
        .join('\n'),
    });
    const store = storeOn({ tableName });
    const entryOf = async (id: string) =>
      (
        await stack.broker.dynamodb.send(
          new GetItemCommand({
            TableName: tableName,
            Key: marshall({ pk: `EVT#${id}`, sk: `EVT#${id}` }),
            ConsistentRead: true,
          }),
        )
      ).Item;
    return { tableName, committed, sealed, store, entryOf };
  }

  it('a table of the layout before journal slots: half-marked blocks are finished, unsealed entries sealed once', async () => {
    const { tableName, committed, sealed, store, entryOf } = await olderLayout(4);
    await store.appendEvents([draft(8)]);
    await sealer(store).run();
    const chain = await sealedChain(store);
    expect(verifyChain(chain)).toMatchObject({ ok: true, events: 8 });
    // The block sealed before stays as it was; every waiting entry is sealed after it, once.
    expect(chain.slice(0, 3)).toEqual(sealed.sealed);
    const ids = chain.map((event) => event.id);
    expect(new Set(ids).size).toBe(8);
    for (const event of committed) {
      expect(ids).toContain(event.id);
      const entry = await entryOf(event.id);
      expect(entry?.gsi5pk, event.id).toBeUndefined();
      expect(Number(entry?.seq?.N), event.id).toBe(
        chain.find((sealedEvent) => sealedEvent.id === event.id)!.seq,
      );
    }
    expect(await store.backlog()).toEqual({ count: 0, oldestTime: null });
    // Another process finds nothing of the old layout left.
    const again = storeOn({ tableName });
    expect((await sealer(again).run()).sealed).toBe(0);
    expect(await sealedChain(again)).toHaveLength(8);
  });

  it('a sealer of the older layout sealing the same entries at the same moment: each is sealed once', async () => {
    const { tableName, committed, sealed, store } = await olderLayout(4);
    const older = committed.slice(3);
    // Right before this store's first transaction, a sealer of the older version seals the four waiting entries
    // its way: a block, the head moved, the block listed as pending, its entries not marked yet.
    let raced = false;
    const client = stack.broker.dynamodb;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!raced && context.commandName === 'TransactWriteItemsCommand') {
          raced = true;
          const theirs = sealAll(older, sealed.head);
          await client.send(new PutItemCommand({ TableName: tableName, Item: blockItem(theirs.sealed) }));
          await client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: marshall({
                pk: 'META',
                sk: 'AUDIT_HEAD',
                seq: theirs.head.seq,
                hash: theirs.head.hash,
                [`pending:${'4'.padStart(12, '0')}`]: older.map((e) => `EVT#${e.id}\tEVT#${e.id}`).join('\n'),
              }),
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'olderSealerRace', override: true },
    );
    try {
      await sealer(store).run();
    } finally {
      raced = true;
    }
    const chain = await sealedChain(store);
    const ids = chain.map((event) => event.id);
    console.log(`older sealer race: chain ${ids.length} events, ${new Set(ids).size} distinct`);
    expect(verifyChain(chain)).toMatchObject({ ok: true, events: 7 });
    expect(new Set(ids).size).toBe(7);
    expect(await store.backlog()).toEqual({ count: 0, oldestTime: null });
  });

  it('a sealer of the older layout that read the entries before they were sealed here loses its head condition', async () => {
    const { tableName, committed, sealed, store } = await olderLayout(4);
    const older = committed.slice(3);
    const client = stack.broker.dynamodb;
    // It read the head (seq 3) and the four entries first; this store seals them; then it commits its seal the
    // way the older version did: a block and the head moved on the condition that the head is still at seq 3.
    let theirs: 'not tried' | 'committed' | 'refused' = 'not tried';
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (theirs === 'not tried' && context.commandName === 'TransactWriteItemsCommand') {
          const chained = sealAll(older, sealed.head);
          theirs = await client
            .send(
              new TransactWriteItemsCommand({
                TransactItems: [
                  {
                    Put: {
                      TableName: tableName,
                      Item: blockItem(chained.sealed),
                      ConditionExpression: 'attribute_not_exists(pk)',
                    },
                  },
                  {
                    Update: {
                      TableName: tableName,
                      Key: marshall({ pk: 'META', sk: 'AUDIT_HEAD' }),
                      UpdateExpression: 'SET #seq = :seq, #hash = :hash',
                      ConditionExpression: '#seq = :from',
                      ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
                      ExpressionAttributeValues: marshall({
                        ':seq': chained.head.seq,
                        ':hash': chained.head.hash,
                        ':from': sealed.head.seq,
                      }),
                    },
                  },
                ],
              }),
            )
            .then(
              () => 'committed' as const,
              () => 'refused' as const,
            );
        }
        return result;
      },
      { step: 'initialize', name: 'olderSealerAfter', override: true },
    );
    await sealer(store).run();
    expect(theirs).toBe('refused');
    const chain = await sealedChain(store);
    expect(verifyChain(chain)).toMatchObject({ ok: true, events: 7 });
    expect(new Set(chain.map((event) => event.id)).size).toBe(7);
  });

  it('an index of the older layout that still lists moved entries does not hide the ones after them', async () => {
    // More waiting entries than one page of the index (200) holds.
    const { store } = await olderLayout(240);
    // Every answer of the index starts with rows already sealed (DynamoDB's indexes lag): the first block's.
    const first = await sealedChain(store);
    laggingIndex(stack.broker.dynamodb, () =>
      first.map((event) => ({
        pk: `EVT#${event.id}`,
        sk: `EVT#${event.id}`,
        gsi5pk: 'UNSEALED',
        gsi5sk: event.id,
      })),
    );
    try {
      await sealer(store).run();
    } finally {
      laggingIndex(stack.broker.dynamodb, () => []);
    }
    const chain = await sealedChain(store);
    expect(verifyChain(chain)).toMatchObject({ ok: true, events: 243 });
    expect(new Set(chain.map((event) => event.id)).size).toBe(243);
  });

  it('a long run of numbers whose commits did not land never holds back the commits after it', async () => {
    const store = stack.broker.store as DynamoStore;
    await sealer().run();
    const faults = transactFaults(stack.broker.dynamodb);
    // More failed commits in a row than one look reads (the sealer's batch limit, 400).
    faults.fail('network-before', 450);
    for (let n = 0; n < 450; n++) await store.appendEvents([draft(8000 + n)]).catch(() => undefined);
    faults.clear();
    await vi.waitFor(async () => expect((await store.backlog()).count).toBe(0));
    const ids = await commitMany(3, (n) => store.appendEvents([draft(8500 + n)]));
    expect((await sealer().run()).sealed).toBe(3);
    await expectExactlyOnce(ids);
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
