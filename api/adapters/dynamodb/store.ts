import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  ScanCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type ChainHead, sealAll } from '../../domain/audit-chain.js';
import { DomainError } from '../../domain/errors.js';
import { nextDue, type Outcome } from '../../domain/lifecycle.js';
import type {
  AccessRequest,
  AuditEvent,
  AuditEventDraft,
  CommittedEvent,
  TimelineEvent,
} from '../../domain/types.js';
import type { AuditJournal, EntryRef, SealBacklog, UnsealedFound } from '../../ports/audit-journal.js';
import type { Clock } from '../../ports/clock.js';
import { monotonicUlids } from '../../ports/ids.js';
import type { Logger } from '../../ports/logger.js';
import {
  type BrokerStore,
  type Committed,
  ConcurrentUpdateError,
  type EventRange,
  type IdempotencyClaim,
  type ListPartition,
  type ListQuery,
  type Page,
  type PendingCommit,
  type RequestGuard,
  type TransactionContributor,
} from '../../ports/store.js';
import {
  AUDIT_PK,
  BLOCK_MAX_EVENTS,
  blockItem,
  blockLines,
  blockSpan,
  LAST_SEQ_KEY,
  parseRefLines,
  seqKey,
} from './chain-blocks.js';
import { chainHeadOf, headMove, SlotJournal } from './journal.js';
import { HEAD_KEY, recordItem, recordKey, type SlotNumber, SlotWriter } from './journal-slots.js';
import { INDEXES, TTL_ATTRIBUTE } from './table.js';

/** Head attributes `pending:<block sk>` of the layout before journal slots: a block's entries not all marked. */
const LEGACY_PENDING_PREFIX = 'pending:';
/** `byUnsealed` partition of the layout before journal slots (see `sealLegacyEntries`). */
const LEGACY_UNSEALED = 'UNSEALED';
/** How often a store looks for entries of the older layout after its first look (a deploy's old writers). */
const LEGACY_CHECK_MS = 60_000;
export const OUTBOX_PK = 'OUTBOX';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** How long the committing process has to run a commit's effects before a relay may take them over. */
export const OUTBOX_GRACE_SECONDS = 30;
/** Events per seal: one block item, whatever the count (see chain-blocks.ts). */
const SEAL_BATCH_LIMIT = BLOCK_MAX_EVENTS;
/** Numbers of a commit found taken by another writer's record before the commit gives up. */
const MAX_SLOT_COLLISIONS = 50;
/** A transaction cancelled by a conflict wrote nothing; it is sent again at most this many times in all. */
const CONFLICT_RETRIES = 3;
const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
/** Event ids sort in commit order within a process, so one commit's events seal in the order they were decided. */
const nextUlid = monotonicUlids();
const KEY_ATTRIBUTES = [
  'pk',
  'sk',
  ...Object.values(INDEXES).flatMap((index) => [index.pk, index.sk]),
  'dueTransition',
];

const requestKey = (id: string) => ({ pk: `REQ#${id}`, sk: 'REQ' });

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  clock: Clock;
  /** Marks every event this broker writes (aws.mode: simulated). */
  simulated: boolean;
  /**
   * Keys the HMAC on list cursors, so a client can neither forge nor edit one. Every instance serving the
   * same table needs the same secret; without one, a random per-process key is used (cursors then only work
   * against the instance that issued them, and anywhere else answer 400 invalid_cursor).
   */
  cursorSecret?: string;
  /** Most events per chain block (one seal); tests make it small to cut many blocks from few events. */
  sealBatchLimit?: number;
  /** Pins this writer to one journal slot, without a lease: tests of writers that share a slot. */
  journalSlot?: string;
  /** Where the sealing side reports what it works around (a failing look at the older layout). */
  logger?: Logger;
}

/** BrokerStore on one DynamoDB table: conditional writes and TransactWriteItems keep state and audit in step. */
export class DynamoStore implements BrokerStore, AuditJournal {
  readonly sealBatchLimit: number;

  private readonly contributors: TransactionContributor<TransactWriteItem>[] = [];

  private readonly cursorKey: Buffer;

  /** This writer's numbers in a journal slot (see journal-slots.ts). */
  private readonly slots: SlotWriter;
  /** The sealer's side of the journal slots. */
  private readonly journal: SlotJournal;
  /** When this store last looked for unsealed entries of the layout before journal slots (`performance.now()`). */
  private legacyCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DynamoStoreOptions) {
    this.sealBatchLimit = Math.min(SEAL_BATCH_LIMIT, options.sealBatchLimit ?? SEAL_BATCH_LIMIT);
    this.slots = new SlotWriter(options.client, options.tableName, options.clock, options.journalSlot);
    this.journal = new SlotJournal(options.client, options.tableName, options.clock);
    this.cursorKey = createHash('sha256')
      .update('breakglass-list-cursor-v1:')
      .update(options.cursorSecret ?? randomBytes(32).toString('hex'))
      .digest();
  }

  /** Adds the contributor's writes to the transaction of every later commit (see TransactionContributor). */
  addContributor(contributor: TransactionContributor<TransactWriteItem>): void {
    this.contributors.push(contributor);
  }

  /** Decided once per commit, outside the chain-race loop, so a retry sends the same writes. */
  private contributions(commit: PendingCommit): TransactWriteItem[] {
    return this.contributors.flatMap((contributor) => contributor.writesFor(commit));
  }

  private get client() {
    return this.options.client;
  }

  private get table() {
    return this.options.tableName;
  }

  async getRequest(id: string): Promise<AccessRequest | null> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: marshall(requestKey(id)), ConsistentRead: true }),
    );
    return Item ? toRequest(Item) : null;
  }

  async createRequest(
    outcome: Outcome,
    idempotency?: IdempotencyClaim,
    effects: string[] = [],
  ): Promise<{ request: AccessRequest; replayed: boolean } & Committed> {
    const idempotencyKey = idempotency ? idempotencyItemKey(idempotency) : null;
    const extra: TransactWriteItem[] = [];
    if (idempotency && idempotencyKey) {
      extra.push({
        Put: {
          TableName: this.table,
          Item: marshall({
            ...idempotencyKey,
            requestId: outcome.request.id,
            fingerprint: idempotency.fingerprint,
            [TTL_ATTRIBUTE]: Math.floor(this.options.clock.now().getTime() / 1000) + IDEMPOTENCY_TTL_SECONDS,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    const write: TransactWriteItem = {
      Put: {
        TableName: this.table,
        Item: requestItem(outcome.request),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    try {
      const committed = await this.commit(write, outcome, effects, extra);
      return { request: outcome.request, replayed: false, ...committed };
    } catch (error) {
      if (!(error instanceof IdempotencyTaken) || !idempotency || !idempotencyKey) throw error;
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: marshall(idempotencyKey), ConsistentRead: true }),
      );
      const record = Item ? unmarshall(Item) : null;
      if (!record || record.fingerprint !== idempotency.fingerprint) {
        throw new DomainError(
          'idempotency_conflict',
          'this Idempotency-Key was already used for a different request',
        );
      }
      const earlier = await this.getRequest(String(record.requestId));
      if (!earlier) throw new Error('idempotency record points at a missing request');
      return { request: earlier, replayed: true, events: [], outbox: null };
    }
  }

  updateRequest(expectedVersion: number, outcome: Outcome, effects: string[] = []): Promise<Committed> {
    const write: TransactWriteItem = {
      Put: {
        TableName: this.table,
        Item: requestItem(outcome.request),
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: marshall({ ':expected': expectedVersion }),
      },
    };
    return this.commit(write, outcome, effects);
  }

  appendEvents(events: AuditEventDraft[], effects: string[] = [], guard?: RequestGuard): Promise<Committed> {
    // The guard writes the request item (version + 1) rather than only checking it: a revoke that read the
    // earlier version then loses its conditional write and decides again, so its ULIDs follow ours (its seqs
    // usually do too, but sealing order across journal slots need not follow commit order).
    const write: TransactWriteItem | null = guard
      ? {
          Update: {
            TableName: this.table,
            Key: marshall(requestKey(guard.requestId)),
            UpdateExpression: 'SET #version = #version + :one',
            ConditionExpression: '#status = :status',
            ExpressionAttributeNames: { '#version': 'version', '#status': 'status' },
            ExpressionAttributeValues: marshall({ ':one': 1, ':status': guard.status }),
          },
        }
      : null;
    return this.commit(write, { request: null, events }, effects);
  }

  /**
   * One transaction and nothing shared with unrelated requests: the state write (if any), the commit's journal
   * record in this writer's slot, a timeline entry per event of a request, the outbox entry when effects want the
   * commit, then `extra` (the idempotency record) and the contributors' writes. No chain head is read or written
   * here: the sealer chains the record later. Losing the request race, or a contributed write's condition, is the
   * caller's to handle; a number another writer's record holds is replaced and the same writes sent again.
   */
  private async commit(
    write: TransactWriteItem | null,
    pending: PendingCommit,
    effects: string[],
    extra: TransactWriteItem[] = [],
  ): Promise<Committed> {
    const drafts = pending.events;
    if (drafts.length === 0) throw new Error('a state change must be recorded by at least one audit event');
    const time = this.options.clock.now().toISOString();
    const events: CommittedEvent[] = drafts.map((draft) =>
      commitEvent(draft, { id: `evt_${nextUlid()}`, time, simulated: this.options.simulated }),
    );
    const outbox = effects.length > 0 ? events[0]!.id : null;
    const contributed = this.contributions(pending);
    const recordAt = write ? 1 : 0;
    const transaction = (at: SlotNumber): TransactWriteItem[] => [
      ...(write ? [write] : []),
      {
        Put: {
          TableName: this.table,
          Item: recordItem(at, events),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...events.flatMap((event, index) => timelineWrite(this.table, event, at, index)),
      ...(outbox ? [outboxWrite(this.table, outbox, pending.request, events, at, effects, time)] : []),
      ...extra,
      ...contributed,
    ];
    let at = await this.slots.take();
    let landed = false;
    try {
      for (let attempt = 1, collisions = 0; ; ) {
        const items = transaction(at);
        try {
          await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
          landed = true;
          return { events, outbox };
        } catch (error) {
          if (!(error instanceof TransactionCanceledException)) throw error;
          const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
          if (codes[recordAt] === 'ConditionalCheckFailed') {
            // Another writer's record (a shared slot, or a filler for a number thought lost) holds the number:
            // nothing was written, so the same commit goes again under the next free number.
            if (++collisions > MAX_SLOT_COLLISIONS)
              throw new DomainError('concurrent_update', 'the change could not be stored; try again');
            await this.slots.collided(at);
            at = await this.slots.take();
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * collisions));
            continue;
          }
          const contributedStart = items.length - contributed.length;
          const extraStart = contributedStart - extra.length;
          if (
            extra.length > 0 &&
            codes.slice(extraStart, contributedStart).includes('ConditionalCheckFailed')
          )
            throw new IdempotencyTaken();
          if (write && codes[0] === 'ConditionalCheckFailed') throw new ConcurrentUpdateError('request');
          if (contributed.length > 0 && codes.slice(contributedStart).includes('ConditionalCheckFailed'))
            throw new ConcurrentUpdateError('transaction');
          // Only this commit's own items are in the transaction, so a conflict is another writer touching the
          // same request at the same moment: a cancelled transaction wrote nothing, so the same writes are sent
          // again a few times before the caller decides again on what the other writer left.
          if (!codes.includes('TransactionConflict')) throw error;
          if (attempt >= CONFLICT_RETRIES) {
            if (write) throw new ConcurrentUpdateError('request');
            throw new DomainError('concurrent_update', 'the change could not be stored; try again');
          }
          attempt += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        }
      }
    } finally {
      // A number whose commit did not land is closed, so the records after it are sealed without waiting. A
      // commit whose outcome is unknown (no answer) lands before the filler or not at all. Not awaited: when
      // DynamoDB stalls, the caller's answer must not wait for a second timeout (the sealer closes it later).
      if (!landed) void this.slots.abandon(at);
    }
  }

  /**
   * Gives requests written before an index existed their keys for it (a local table from an older version):
   * one pass over the request items that lack the newest list index's key. Returns how many were rewritten.
   */
  async backfillIndexes(): Promise<number> {
    let rewritten = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'sk = :req AND attribute_not_exists(#role)',
          ExpressionAttributeNames: { '#role': INDEXES.byRoleStatus.pk },
          ExpressionAttributeValues: { ':req': { S: 'REQ' } },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const request = toRequest(item);
        const keys = requestItem(request);
        await this.client
          .send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: marshall(requestKey(request.id)),
              UpdateExpression: 'SET #a = :a, #b = :b, #c = :c, #d = :d',
              ConditionExpression: 'attribute_exists(pk) AND #status = :status',
              ExpressionAttributeNames: {
                '#a': INDEXES.byRole.pk,
                '#b': INDEXES.byRole.sk,
                '#c': INDEXES.byRoleStatus.pk,
                '#d': INDEXES.byRoleStatus.sk,
                '#status': 'status',
              },
              ExpressionAttributeValues: {
                ':a': keys[INDEXES.byRole.pk]!,
                ':b': keys[INDEXES.byRole.sk]!,
                ':c': keys[INDEXES.byRoleStatus.pk]!,
                ':d': keys[INDEXES.byRoleStatus.sk]!,
                ':status': { S: request.status },
              },
            }),
          )
          .catch((error: unknown) => {
            // Changed meanwhile: that write carried the new keys already.
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          });
        rewritten += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return rewritten;
  }

  async listRequests(query: ListQuery): Promise<Page<AccessRequest>> {
    const scope = listScope(query.partitions, query.view);
    const after = decodeCursor(this.cursorKey, query.cursor, scope);
    // Each partition gives at most `limit` matches after the cursor; the page is the newest `limit` of them all.
    const reads = await Promise.all(
      query.partitions.map((partition) => this.readPartition(partition, query, after)),
    );
    const byId = new Map<string, { order: string; request: AccessRequest }>();
    for (const read of reads) for (const row of read.rows) byId.set(row.request.id, row);
    const rows = [...byId.values()].sort((a, b) => (a.order < b.order ? 1 : a.order > b.order ? -1 : 0));
    const items = rows.slice(0, query.limit);
    const more = rows.length > query.limit || reads.some((read) => read.more);
    const last = items.at(-1);
    return {
      items: items.map((row) => row.request),
      nextCursor: more && last ? encodeCursor(this.cursorKey, scope, last.order) : null,
    };
  }

  /** Newest first, after `after`, until `limit` rows match or the partition ends. */
  private async readPartition(
    partition: ListPartition,
    query: ListQuery,
    after: string | undefined,
  ): Promise<{ rows: Array<{ order: string; request: AccessRequest }>; more: boolean }> {
    const index = INDEXES[partition.index];
    const rows: Array<{ order: string; request: AccessRequest }> = [];
    let startKey: Record<string, AttributeValue> | undefined;
    for (;;) {
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: partition.index,
        KeyConditionExpression: after ? '#pk = :pk AND #sk < :after' : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.pk, ...(after ? { '#sk': index.sk } : {}) },
        ExpressionAttributeValues: marshall({
          ':pk': partitionValue(partition),
          ...(after ? { ':after': after } : {}),
        }),
        ScanIndexForward: false,
        Limit: Math.max(query.limit + 1, 25),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      const page = await this.client.send(new QueryCommand(input));
      const items = page.Items ?? [];
      for (const [position, raw] of items.entries()) {
        const request = toRequest(raw);
        if (!query.where(request)) continue;
        rows.push({ order: raw[index.sk]?.S ?? '', request });
        if (rows.length === query.limit) {
          return { rows, more: position < items.length - 1 || page.LastEvaluatedKey !== undefined };
        }
      }
      if (!page.LastEvaluatedKey) return { rows, more: false };
      startKey = page.LastEvaluatedKey;
    }
  }

  async listDue(now: Date, limit: number): Promise<AccessRequest[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byDue',
        KeyConditionExpression: '#pk = :pk AND #sk <= :now',
        ExpressionAttributeNames: { '#pk': INDEXES.byDue.pk, '#sk': INDEXES.byDue.sk },
        ExpressionAttributeValues: marshall({ ':pk': 'DUE', ':now': `${now.toISOString()}#\uffff` }),
        Limit: limit,
      }),
    );
    return (Items ?? []).map(toRequest);
  }

  async requestEvents(requestId: string, limit = 500): Promise<TimelineEvent[]> {
    const found: { event: TimelineEvent; place: { slot: string; n: number; index: number } | null }[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
          ExpressionAttributeValues: marshall({ ':pk': `REQ#${requestId}`, ':evt': 'EVT#' }),
          ConsistentRead: true,
          Limit: limit - found.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const raw = unmarshall(item);
        const event = JSON.parse(String(raw.body)) as TimelineEvent;
        // Entries of the layout before journal slots were marked with their seq.
        if (raw.seq !== undefined) found.push({ event: { ...event, seq: Number(raw.seq) }, place: null });
        else if (raw.slot !== undefined)
          found.push({
            event,
            place: { slot: String(raw.slot), n: Number(raw.n), index: Number(raw.i ?? 0) },
          });
        else found.push({ event, place: null });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < limit);
    const places = found.flatMap((entry) => (entry.place ? [entry.place] : []));
    const seqs = places.length > 0 ? await this.journal.seqsOf(places) : new Map<string, number>();
    return found.map(({ event, place }) => {
      const seq = place ? seqs.get(`${place.slot}/${place.n}/${place.index}`) : undefined;
      return seq === undefined ? event : { ...event, seq };
    });
  }

  /**
   * Up to `limit` unsealed events, whole commits, oldest first across the journal slots (see journal.ts for why
   * each is sealed exactly once). Entries of the layout before journal slots are sealed first (see below).
   */
  async unsealed(limit: number): Promise<UnsealedFound> {
    if (performance.now() - this.legacyCheckedAt >= LEGACY_CHECK_MS) {
      // A failure here must not keep the journal slots from being sealed: it is retried a minute later, and
      // backlog() keeps counting what waits meanwhile.
      await this.sealLegacyEntries().catch((error: unknown) =>
        this.options.logger?.error(
          { err: error },
          'sealing entries of the older layout failed; retried in a minute',
        ),
      );
      this.legacyCheckedAt = performance.now();
    }
    return this.journal.unsealed(limit);
  }

  /** One transaction: the block, the head and cursors moved from `from`, and the seal notes. */
  async seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void> {
    if (batch.length > this.sealBatchLimit && new Set(batch.map(({ ref }) => refKey(ref))).size > 1)
      throw new Error(`at most ${this.sealBatchLimit} events per seal`);
    await this.journal.seal(from, batch);
  }

  async backlog(): Promise<SealBacklog> {
    const [slots, legacy] = await Promise.all([this.journal.backlog(), this.legacyBacklog()]);
    const times = [slots.oldestTime, legacy.oldestTime]
      .filter((time): time is string => time !== null)
      .sort();
    return { count: slots.count + legacy.count, oldestTime: times[0] ?? null };
  }

  async chainHead(): Promise<ChainHead> {
    return (await this.journal.readHead()).head;
  }

  /**
   * Tables written before journal slots, or by a broker of that version still running beside this one (a
   * deploy): their unsealed entries are listed by `byUnsealed`. They are sealed the way that version sealed them
   * — block, head moved from the seq read, and each entry marked with its seq, all in one transaction of up to
   * 24 entries — so a sealer of either version racing this one loses its head condition instead of sealing an
   * entry twice. Blocks such a sealer left half marked (`pending:` on the head) are marked first. Looked for at
   * a store's first look and then at most once a minute; `backlog()` counts what waits here meanwhile.
   */
  private async sealLegacyEntries(): Promise<void> {
    // Until the index lists nothing more (1,000 a round), or the head keeps moving under it (three conflicts).
    for (let conflicts = 0; conflicts < 3; ) {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: marshall(HEAD_KEY), ConsistentRead: true }),
      );
      await this.finishLegacyBlocks(Item ?? {});
      let head = chainHeadOf(Item);
      const waiting = await this.legacyEntries();
      if (waiting.length === 0) return;
      try {
        for (let start = 0; start < waiting.length; start += 24) {
          const entries = waiting.slice(start, start + 24);
          const chained = sealAll(
            entries.map(({ event }) => event),
            head,
          );
          await this.client.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.table,
                    Item: blockItem(chained.sealed),
                    ConditionExpression: 'attribute_not_exists(pk)',
                  },
                },
                headMove(this.table, head, chained.head, []),
                ...entries.map(({ ref }, index) => ({
                  Update: {
                    TableName: this.table,
                    Key: marshall(ref),
                    UpdateExpression: 'REMOVE #upk, #usk SET #seq = :seq',
                    ConditionExpression: 'attribute_exists(#upk) AND attribute_not_exists(#seq)',
                    ExpressionAttributeNames: {
                      '#upk': INDEXES.byUnsealed.pk,
                      '#usk': INDEXES.byUnsealed.sk,
                      '#seq': 'seq',
                    },
                    ExpressionAttributeValues: marshall({ ':seq': chained.sealed[index]!.seq }),
                  },
                })),
              ],
            }),
          );
          head = chained.head;
        }
      } catch (error) {
        // Another sealer moved the head or marked an entry meanwhile: read everything again.
        if (!(error instanceof TransactionCanceledException)) throw error;
        conflicts += 1;
      }
    }
  }

  /** Marks the entries of blocks a sealer of the older layout sealed but did not finish marking. */
  private async finishLegacyBlocks(head: Record<string, AttributeValue>): Promise<void> {
    for (const [name, value] of Object.entries(head)) {
      if (!name.startsWith(LEGACY_PENDING_PREFIX)) continue;
      const first = Number(name.slice(LEGACY_PENDING_PREFIX.length));
      const refs = parseRefLines(value.S ?? '');
      const items = await this.readItems(refs);
      const puts = refs.flatMap((ref, index) => {
        const item = items.get(refKey(ref));
        if (!item || item.seq !== undefined) return [];
        const { [INDEXES.byUnsealed.pk]: _pk, [INDEXES.byUnsealed.sk]: _sk, ...rest } = item;
        return [{ ...rest, seq: { N: String(first + index) } }];
      });
      for (let start = 0; start < puts.length; start += 25)
        await this.writeAll(puts.slice(start, start + 25));
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall(HEAD_KEY),
          UpdateExpression: 'REMOVE #pending',
          ExpressionAttributeNames: { '#pending': name },
        }),
      );
    }
  }

  /**
   * Entries `byUnsealed` lists that the table shows unsealed (read again consistently: the index lags), oldest
   * first, up to 1,000 a round; the index is read past rows it still lists after their entry was marked.
   */
  private async legacyEntries(): Promise<{ ref: EntryRef; event: CommittedEvent }[]> {
    const found: { ref: EntryRef; event: CommittedEvent }[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...this.legacyIndexQuery(startKey), ProjectionExpression: 'pk, sk', Limit: 200 }),
      );
      const refs = (page.Items ?? []).map((item) => ({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' }));
      const current = refs.length > 0 ? await this.readItems(refs) : new Map();
      for (const ref of refs) {
        const item = current.get(refKey(ref));
        if (!item || item.seq !== undefined || !item[INDEXES.byUnsealed.pk]) continue;
        found.push({ ref, event: JSON.parse(item.body?.S ?? '') as CommittedEvent });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < 1000);
    return found.sort((a, b) => (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  }

  /** A query of what `byUnsealed` lists, oldest first. */
  private legacyIndexQuery(startKey: Record<string, AttributeValue> | undefined): QueryCommandInput {
    return {
      TableName: this.table,
      IndexName: 'byUnsealed',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byUnsealed.pk },
      ExpressionAttributeValues: marshall({ ':pk': LEGACY_UNSEALED }),
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    };
  }

  /**
   * What `byUnsealed` still lists (entries of the older layout not sealed yet; may include a few just marked),
   * at most 5,000 of them: `/readyz` calls this.
   */
  private async legacyBacklog(): Promise<SealBacklog> {
    let count = 0;
    let oldestTime: string | null = null;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const query = this.legacyIndexQuery(startKey);
      const page = await this.client.send(
        new QueryCommand({
          ...query,
          ExpressionAttributeNames: { ...query.ExpressionAttributeNames, '#time': 'time' },
          ProjectionExpression: '#time',
          Limit: 5_000 - count,
        }),
      );
      for (const item of page.Items ?? []) {
        count += 1;
        const time = item.time?.S ?? null;
        if (time && (oldestTime === null || time < oldestTime)) oldestTime = time;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && count < 5_000);
    return { count, oldestTime };
  }

  private async writeAll(items: Record<string, AttributeValue>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
      const result = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }),
      );
      requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
    }
  }

  /** Items as they are in the table (consistent reads, 100 keys a call), by ref. */
  private async readItems(refs: EntryRef[]): Promise<Map<string, Record<string, AttributeValue>>> {
    const found = new Map<string, Record<string, AttributeValue>>();
    for (let start = 0; start < refs.length; start += 100) {
      let keys: Record<string, AttributeValue>[] = refs.slice(start, start + 100).map((ref) => marshall(ref));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
        const result = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.table] ?? [])
          found.set(refKey({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' }), item);
        keys = result.UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    }
    return found;
  }

  /**
   * The sealed events in seq order (or newest first), read block by block. A range that starts inside a block
   * starts at that block: the block with the greatest first seq not above `fromSeq`.
   */
  async *readEvents(range: EventRange = {}): AsyncIterable<AuditEvent> {
    const fromSeq = Math.max(1, range.fromSeq ?? 1);
    const toSeq = range.toSeq ?? Number.POSITIVE_INFINITY;
    if (toSeq < fromSeq) return;
    const lower = fromSeq === 1 ? seqKey(0) : ((await this.blockHolding(fromSeq)) ?? seqKey(fromSeq));
    const upper = Number.isFinite(toSeq) ? seqKey(toSeq) : LAST_SEQ_KEY;
    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk' };
    const values: Record<string, AttributeValue> = {
      ':pk': { S: AUDIT_PK },
      ':from': { S: lower },
      ':to': { S: upper },
    };
    // Whole blocks outside the time range stay in DynamoDB (items of the older layout carry `time` only).
    const filters: string[] = [];
    if (range.since) {
      Object.assign(names, { '#max': 'maxTime', '#time': 'time' });
      values[':since'] = { S: range.since };
      filters.push('(#max >= :since OR #time >= :since)');
    }
    if (range.until) {
      Object.assign(names, { '#min': 'minTime', '#time': 'time' });
      values[':until'] = { S: range.until };
      filters.push('(#min < :until OR #time < :until)');
    }
    const query = (startKey: Record<string, AttributeValue> | undefined) =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(range.newestFirst ? { ScanIndexForward: false } : {}),
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
    // The next page is asked for before this one is parsed, so DynamoDB reads while the events are handed out.
    let next: Promise<QueryCommandOutput> | null = query(undefined);
    while (next) {
      const page: QueryCommandOutput = await next;
      next = page.LastEvaluatedKey ? query(page.LastEvaluatedKey) : null;
      // A reader that stops early leaves the prefetched page unread; its failure then concerns nobody.
      next?.catch(() => undefined);
      for (const item of page.Items ?? []) {
        const { first, last } = blockSpan(item);
        const whole = first >= fromSeq && last <= toSeq && !range.since && !range.until;
        const lines = blockLines(item);
        if (range.newestFirst) lines.reverse();
        for (const line of lines) {
          const event = JSON.parse(line) as AuditEvent;
          if (!whole) {
            if (event.seq < fromSeq || event.seq > toSeq) continue;
            if (range.since && event.time < range.since) continue;
            if (range.until && event.time >= range.until) continue;
          }
          yield event;
        }
      }
    }
  }

  /** The sk of the block holding `seq` (the last block starting at or before it); null when there is none. */
  private async blockHolding(seq: number): Promise<string | null> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk <= :seq',
        ExpressionAttributeValues: { ':pk': { S: AUDIT_PK }, ':seq': { S: seqKey(seq) } },
        ProjectionExpression: 'sk',
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    return Items?.[0]?.sk?.S ?? null;
  }

  async ping(): Promise<void> {
    await this.client.send(new DescribeTableCommand({ TableName: this.table }));
  }
}

class IdempotencyTaken extends Error {}

function idempotencyItemKey(claim: IdempotencyClaim) {
  const owner = createHash('sha256').update(claim.subject).digest('hex').slice(0, 32);
  return { pk: `IDEMP#${owner}#${claim.key}`, sk: 'IDEMP' };
}

function commitEvent(
  draft: AuditEventDraft,
  meta: { id: string; time: string; simulated: boolean },
): CommittedEvent {
  // JSON round trip drops `undefined`, so the record holds exactly what the sealer will hash.
  return JSON.parse(JSON.stringify({ ...draft, ...meta })) as CommittedEvent;
}

/**
 * The timeline entry of an event of a request (`REQ#<id>` / `EVT#<event id>`), with where its record is, so the
 * timeline finds its seq in the seal notes. Events without a request live in their record only.
 */
function timelineWrite(
  table: string,
  event: CommittedEvent,
  at: SlotNumber,
  index: number,
): TransactWriteItem[] {
  if (!event.requestId || !REQUEST_ID.test(event.requestId)) return [];
  return [
    {
      Put: {
        TableName: table,
        Item: marshall({
          pk: `REQ#${event.requestId}`,
          sk: `EVT#${event.id}`,
          time: event.time,
          type: event.type,
          body: JSON.stringify(event),
          slot: at.slot,
          n: at.n,
          i: index,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

function outboxWrite(
  table: string,
  id: string,
  request: AccessRequest | null,
  events: CommittedEvent[],
  at: SlotNumber,
  effects: string[],
  time: string,
): TransactWriteItem {
  const dueAt = new Date(new Date(time).getTime() + OUTBOX_GRACE_SECONDS * 1000).toISOString();
  return {
    Put: {
      TableName: table,
      Item: marshall({
        pk: OUTBOX_PK,
        sk: id,
        // A request change tells listeners `afterChange`; events recorded beside a request, `afterRecord`.
        kind: request ? 'change' : 'record',
        ...((request?.id ?? events[0]?.requestId) ? { requestId: request?.id ?? events[0]?.requestId } : {}),
        eventIds: events.map((event) => event.id),
        // The commit's journal record holds every one of its events.
        entries: [recordKey(at.slot, at.n)],
        effects,
        done: [],
        attempts: 0,
        dueAt,
        createdAt: time,
      }),
    },
  };
}

const refKey = (ref: EntryRef) => `${ref.pk}\u0000${ref.sk}`;

/** The stored item of a request with every index key (the store's writes and the list bench's seeding). */
export function requestItem(request: AccessRequest): Record<string, AttributeValue> {
  const order = `${request.createdAt}#${request.id}`;
  const due = nextDue(request);
  return marshall(
    {
      ...request,
      ...requestKey(request.id),
      [INDEXES.byRequester.pk]: `USER#${request.requester.subject}`,
      [INDEXES.byRequester.sk]: order,
      [INDEXES.byStatus.pk]: `STATUS#${request.status}`,
      [INDEXES.byStatus.sk]: order,
      [INDEXES.byCreated.pk]: 'REQUESTS',
      [INDEXES.byCreated.sk]: order,
      [INDEXES.byRole.pk]: `ROLE#${request.roleId}`,
      [INDEXES.byRole.sk]: order,
      [INDEXES.byRoleStatus.pk]: `ROLE#${request.roleId}#STATUS#${request.status}`,
      [INDEXES.byRoleStatus.sk]: order,
      ...(due
        ? {
            [INDEXES.byDue.pk]: 'DUE',
            [INDEXES.byDue.sk]: `${due.at}#${request.id}`,
            dueTransition: due.transition,
          }
        : {}),
    },
    { removeUndefinedValues: true },
  );
}

function toRequest(item: Record<string, AttributeValue>): AccessRequest {
  const raw = unmarshall(item);
  for (const key of KEY_ATTRIBUTES) delete raw[key];
  return raw as AccessRequest;
}

function partitionValue(partition: ListPartition): string {
  switch (partition.index) {
    case 'byRequester':
      return `USER#${partition.key}`;
    case 'byStatus':
      return `STATUS#${partition.key}`;
    case 'byRole':
      return `ROLE#${partition.key}`;
    case 'byRoleStatus': {
      const [role, status] = (partition.key ?? '').split('#');
      return `ROLE#${role}#STATUS#${status}`;
    }
    case 'byDue':
      return 'DUE';
    default:
      return 'REQUESTS';
  }
}

/** What a cursor belongs to: the exact set of partitions it pages through, and the filters on them. */
function listScope(partitions: ListPartition[], view = ''): string {
  const names = partitions.map((p) => `${p.index}:${p.key ?? ''}`).sort();
  return createHash('sha256')
    .update(JSON.stringify([names, view]))
    .digest('base64url')
    .slice(0, 22);
}

/**
 * Cursors are opaque and tamper-evident: base64url(JSON of the listing's scope and the last sort key returned)
 * plus an HMAC. A cursor that this broker did not issue for this very listing is refused before DynamoDB sees
 * it (a crafted one used to answer 500).
 */
function encodeCursor(secret: Buffer, scope: string, after: string): string {
  const body = Buffer.from(JSON.stringify({ q: scope, s: after })).toString('base64url');
  return `${body}.${cursorMac(secret, body)}`;
}

function cursorMac(secret: Buffer, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

function decodeCursor(secret: Buffer, cursor: string | undefined, scope: string): string | undefined {
  if (!cursor) return undefined;
  const refuse = () =>
    new DomainError('invalid_cursor', 'cursor is not valid for this query; start again without it');
  const [body, mac, ...rest] = cursor.split('.');
  if (!body || !mac || rest.length > 0) throw refuse();
  const expected = Buffer.from(cursorMac(secret, body));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refuse();
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
      q?: unknown;
      s?: unknown;
    };
    if (parsed.q !== scope || typeof parsed.s !== 'string' || parsed.s.length === 0) throw refuse();
    return parsed.s;
  } catch {
    throw refuse();
  }
}
