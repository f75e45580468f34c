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
  TransactionConflictException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type ChainHead, EMPTY_HEAD } from '../../domain/audit-chain.js';
import { DomainError } from '../../domain/errors.js';
import { nextDue, type Outcome } from '../../domain/lifecycle.js';
import type {
  AccessRequest,
  AuditEvent,
  AuditEventDraft,
  CommittedEvent,
  TimelineEvent,
} from '../../domain/types.js';
import {
  type AuditJournal,
  type EntryRef,
  type SealBacklog,
  SealConflict,
  type UnsealedEntry,
  type UnsealedFound,
} from '../../ports/audit-journal.js';
import type { Clock } from '../../ports/clock.js';
import { monotonicUlids } from '../../ports/ids.js';
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
  BLOCK_MAX_BYTES,
  BLOCK_MAX_EVENTS,
  blockItem,
  blockLines,
  blockSpan,
  LAST_SEQ_KEY,
  parseRefLines,
  refLine,
  SEALED_OVERHEAD_BYTES,
  seqKey,
} from './chain-blocks.js';
import { INDEXES, TTL_ATTRIBUTE } from './table.js';

const HEAD_KEY = { pk: 'META', sk: 'AUDIT_HEAD' };
/** Head attributes `pending:<block sk>` list the entries of a sealed block not yet all marked sealed. */
const PENDING_PREFIX = 'pending:';
export const OUTBOX_PK = 'OUTBOX';
const UNSEALED = 'UNSEALED';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** How long the committing process has to run a commit's effects before a relay may take them over. */
export const OUTBOX_GRACE_SECONDS = 30;
/** Events per seal: one block item, whatever the count (see chain-blocks.ts). */
const SEAL_BATCH_LIMIT = BLOCK_MAX_EVENTS;
/** Blocks whose entries are being marked while the next block is sealed. */
const MAX_BLOCKS_MARKING = 2;
/** BatchGetItem / BatchWriteItem calls in flight at once per block. */
const MARK_CONCURRENCY = 4;
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
}

/** BrokerStore on one DynamoDB table: conditional writes and TransactWriteItems keep state and audit in step. */
export class DynamoStore implements BrokerStore, AuditJournal {
  readonly sealBatchLimit: number;

  private readonly contributors: TransactionContributor<TransactWriteItem>[] = [];

  private readonly cursorKey: Buffer;

  /** Blocks this store sealed whose entries it is marking, by block sk. */
  private readonly marking = new Map<string, Promise<void>>();
  /** Blocks whose entries this store has marked, still listed as pending on the head. */
  private readonly marked = new Set<string>();
  /** A background marking failed since the last `settle`. */
  private markingFailed = false;
  /** The table items of the entries `unsealed` returned last, so `seal` marks them without reading again. */
  private readonly entryItems = new Map<string, Record<string, AttributeValue>>();

  constructor(private readonly options: DynamoStoreOptions) {
    this.sealBatchLimit = Math.min(SEAL_BATCH_LIMIT, options.sealBatchLimit ?? SEAL_BATCH_LIMIT);
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
    // earlier version then loses its conditional write and decides again, so its ULIDs (and seqs) follow ours.
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
   * One transaction and nothing shared with unrelated requests: the state write (if any), one unsealed journal
   * entry per event, the outbox entry when effects want the commit, then `extra` (the idempotency record) and the
   * contributors' writes. No chain head is read or written here: the sealer chains the entries later. Losing
   * the request race, or a contributed write's condition, is the caller's to handle.
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
    const items: TransactWriteItem[] = [
      ...(write ? [write] : []),
      ...events.map((event) => journalWrite(this.table, event)),
      ...(outbox ? [outboxWrite(this.table, outbox, pending.request, events, effects, time)] : []),
      ...extra,
      ...contributed,
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return { events, outbox };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        const contributedStart = items.length - contributed.length;
        const extraStart = contributedStart - extra.length;
        if (extra.length > 0 && codes.slice(extraStart, contributedStart).includes('ConditionalCheckFailed'))
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
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
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
    const events: TimelineEvent[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
          ExpressionAttributeValues: marshall({ ':pk': `REQ#${requestId}`, ':evt': 'EVT#' }),
          ConsistentRead: true,
          Limit: limit - events.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const raw = unmarshall(item);
        const event = JSON.parse(String(raw.body)) as TimelineEvent;
        events.push(raw.seq !== undefined ? { ...event, seq: Number(raw.seq) } : event);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && events.length < limit);
    return events;
  }

  /**
   * Up to `limit` unsealed entries, oldest first (the index sorts by event id, a ULID that starts with the commit
   * time), and no more than one block holds. Exactly once without marking entries in the seal transaction: the
   * head is read first (consistently), entries of blocks it lists as pending marking are left out, and every
   * other candidate is read again from the table (consistently) and dropped if it carries a seq — the index
   * lags the table. A pending block nobody here is marking (a sealer that crashed, or another one) is marked
   * first. See docs/architecture.md, "Exactly once". `complete` when the index listed nothing more.
   */
  async unsealed(limit: number): Promise<UnsealedFound> {
    this.entryItems.clear();
    const state = await this.headState();
    await this.finishStrayBlocks(state);
    const pending = new Set<string>();
    for (const refs of state.pending.values()) for (const ref of refs) pending.add(refKey(ref));
    const found: UnsealedEntry[] = [];
    const done = (complete: boolean): UnsealedFound => ({ head: state.head, entries: found, complete });
    let bytes = 0;
    let after: Record<string, AttributeValue> | undefined;
    // Past entries the index still lists but the table shows marked, until `limit` are found or the index ends.
    for (;;) {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'byUnsealed',
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': INDEXES.byUnsealed.pk, '#sk': INDEXES.byUnsealed.sk },
          ExpressionAttributeValues: marshall({ ':pk': UNSEALED }),
          // Keys only: the entries themselves are read from the table below.
          ProjectionExpression: 'pk, sk, #pk, #sk',
          Limit: limit + pending.size,
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      const fresh = (page.Items ?? []).filter(
        (item) => !pending.has(refKey({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' })),
      );
      const examined = fresh.slice(0, limit - found.length);
      const refs = examined.map((item) => ({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' }));
      const current = await this.readEntries(refs);
      for (const ref of refs) {
        const item = current.get(refKey(ref));
        if (!item || item.seq !== undefined) continue;
        const body = item.body?.S ?? '';
        const size = body.length + SEALED_OVERHEAD_BYTES;
        if (found.length > 0 && bytes + size > BLOCK_MAX_BYTES) return done(false);
        bytes += size;
        found.push({ event: JSON.parse(body) as CommittedEvent, ref });
        this.entryItems.set(refKey(ref), item);
      }
      if (found.length >= limit) return done(false);
      const last = examined.length < fresh.length ? examined.at(-1) : undefined;
      after = last
        ? Object.fromEntries(
            ['pk', 'sk', INDEXES.byUnsealed.pk, INDEXES.byUnsealed.sk].map((name) => [name, last[name]!]),
          )
        : page.LastEvaluatedKey;
      if (!after) return done(true);
    }
  }

  /**
   * One transaction of two items: the block of sealed events (a new sk) and the chain head, moved from `from`
   * and listing the block as pending marking. The entries are then marked in the background (see `settle`);
   * blocks marked since the last seal leave the head's pending list in the same transaction.
   */
  async seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void> {
    if (batch.length === 0) return;
    if (batch.length > this.sealBatchLimit) throw new Error(`at most ${this.sealBatchLimit} events per seal`);
    const refs = batch.map(({ ref }) => ref);
    const block = blockItem(
      batch.map(({ event }) => event),
      refs,
    );
    const blockSk = block.sk!.S!;
    const first = batch[0]!.event;
    const last = batch[batch.length - 1]!.event;
    // A block at this very sk is one a sealer ahead of `from` wrote: the head condition fails, as it should.
    const done = [...this.marked].filter((sk) => sk !== blockSk);
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: block, ConditionExpression: 'attribute_not_exists(pk)' } },
            headWrite(this.table, from, { seq: last.seq, hash: last.hash }, blockSk, refs, done),
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // The head moved (another sealer), the block's seq is taken, or another writer held the head.
      throw new SealConflict('head');
    }
    for (const sk of done) this.marked.delete(sk);
    const entries = refs.map((ref, index) => ({
      ref,
      seq: first.seq + index,
      item: this.entryItems.get(refKey(ref)),
    }));
    this.startMarking(blockSk, entries);
    // Marking runs beside the next seal, never further behind than this.
    while (this.marking.size > MAX_BLOCKS_MARKING) await Promise.race(this.marking.values());
  }

  async settle(): Promise<void> {
    await Promise.all(this.marking.values());
    if (this.markingFailed) {
      // Marked again now (and rejected again if it still fails); `unsealed` did the same for other blocks.
      this.markingFailed = false;
      await this.finishStrayBlocks(await this.headState());
    }
    const done = [...this.marked];
    this.marked.clear();
    if (done.length === 0) return;
    // Removing an attribute that is gone already is no change. A seal transaction holding the head at this moment
    // refuses the update: the next seal takes them, or the next run marks them again (idempotent).
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall(HEAD_KEY),
          UpdateExpression: `REMOVE ${done.map((_, index) => `#d${index}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(
            done.map((sk, index) => [`#d${index}`, pendingName(sk)]),
          ),
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof TransactionConflictException)) throw error;
        for (const sk of done) this.marked.add(sk);
      });
  }

  /** The chain head with the blocks it lists as pending marking (block sk → its entries, in seq order). */
  private async headState(): Promise<{ head: ChainHead; pending: Map<string, EntryRef[]> }> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: marshall(HEAD_KEY), ConsistentRead: true }),
    );
    const pending = new Map<string, EntryRef[]>();
    if (!Item) return { head: EMPTY_HEAD, pending };
    for (const [name, value] of Object.entries(Item)) {
      if (name.startsWith(PENDING_PREFIX))
        pending.set(name.slice(PENDING_PREFIX.length), parseRefLines(value.S ?? ''));
    }
    return { head: { seq: Number(Item.seq?.N), hash: Item.hash?.S ?? '' }, pending };
  }

  /** Marks the entries of pending blocks this store is not marking already (idempotent: same item, same seq). */
  private async finishStrayBlocks(state: { pending: Map<string, EntryRef[]> }): Promise<void> {
    for (const [blockSk, refs] of state.pending) {
      if (this.marking.has(blockSk) || this.marked.has(blockSk)) continue;
      const first = Number(blockSk);
      await this.markEntries(refs.map((ref, index) => ({ ref, seq: first + index, item: undefined })));
      this.marked.add(blockSk);
    }
  }

  private startMarking(blockSk: string, entries: MarkEntry[]): void {
    const marking = this.markEntries(entries)
      .then(
        () => {
          this.marked.add(blockSk);
        },
        () => {
          // Left pending on the head: the next `unsealed` or `settle` marks the block again.
          this.markingFailed = true;
        },
      )
      .finally(() => this.marking.delete(blockSk));
    this.marking.set(blockSk, marking);
  }

  /**
   * Rewrites each entry as it is in the table plus its seq and minus the unsealed index keys: entries never
   * change after their commit, so a put is as safe as an update, and BatchWriteItem takes 25 at a time where an
   * update would be a call each. Entries read without a seq are read again first when not at hand.
   */
  private async markEntries(entries: MarkEntry[]): Promise<void> {
    const missing = entries.filter((entry) => !entry.item).map((entry) => entry.ref);
    const read = missing.length > 0 ? await this.readEntries(missing) : new Map();
    const puts: Record<string, AttributeValue>[] = [];
    for (const entry of entries) {
      const item = entry.item ?? read.get(refKey(entry.ref));
      if (!item)
        throw new Error(`journal entry ${entry.ref.pk} ${entry.ref.sk} of seq ${entry.seq} is missing`);
      if (item.seq !== undefined) continue;
      const { [INDEXES.byUnsealed.pk]: _pk, [INDEXES.byUnsealed.sk]: _sk, ...rest } = item;
      puts.push({ ...rest, seq: { N: String(entry.seq) } });
    }
    const chunks: Record<string, AttributeValue>[][] = [];
    for (let start = 0; start < puts.length; start += 25) chunks.push(puts.slice(start, start + 25));
    await inParallel(chunks, MARK_CONCURRENCY, (chunk) => this.writeAll(chunk));
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

  /** The entries as they are in the table (consistent reads, 100 keys a call), by ref. */
  private async readEntries(refs: EntryRef[]): Promise<Map<string, Record<string, AttributeValue>>> {
    const found = new Map<string, Record<string, AttributeValue>>();
    const chunks: EntryRef[][] = [];
    for (let start = 0; start < refs.length; start += 100) chunks.push(refs.slice(start, start + 100));
    await inParallel(chunks, MARK_CONCURRENCY, async (chunk) => {
      let keys: Record<string, AttributeValue>[] = chunk.map((ref) => marshall(ref));
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
    });
    return found;
  }

  /**
   * How many entries wait and when the oldest committed: the unsealed index's keys, less the entries of blocks
   * sealed and still being marked (the index lists them until they are).
   */
  async backlog(): Promise<SealBacklog> {
    const { pending } = await this.headState();
    const sealed = new Set<string>();
    for (const refs of pending.values()) for (const ref of refs) sealed.add(refKey(ref));
    let count = 0;
    let oldestTime: string | null = null;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'byUnsealed',
          KeyConditionExpression: '#pk = :pk',
          ProjectionExpression: 'pk, sk, #time',
          ExpressionAttributeNames: { '#pk': INDEXES.byUnsealed.pk, '#time': 'time' },
          ExpressionAttributeValues: marshall({ ':pk': UNSEALED }),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (sealed.has(refKey({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' }))) continue;
        count += 1;
        oldestTime ??= item.time?.S ?? null;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { count, oldestTime };
  }

  async chainHead(): Promise<ChainHead> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: marshall(HEAD_KEY),
        ConsistentRead: true,
        ProjectionExpression: 'seq, #hash',
        ExpressionAttributeNames: { '#hash': 'hash' },
      }),
    );
    if (!Item) return EMPTY_HEAD;
    return { seq: Number(Item.seq?.N), hash: Item.hash?.S ?? '' };
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

/** Where a committed event's journal entry lives: in its request's item collection, or on its own. */
export function entryRef(event: Pick<CommittedEvent, 'id' | 'requestId'>): EntryRef {
  const owner =
    event.requestId && REQUEST_ID.test(event.requestId) ? `REQ#${event.requestId}` : `EVT#${event.id}`;
  return { pk: owner, sk: `EVT#${event.id}` };
}

function commitEvent(
  draft: AuditEventDraft,
  meta: { id: string; time: string; simulated: boolean },
): CommittedEvent {
  // JSON round trip drops `undefined`, so the entry holds exactly what the sealer will hash.
  return JSON.parse(JSON.stringify({ ...draft, ...meta })) as CommittedEvent;
}

function journalWrite(table: string, event: CommittedEvent): TransactWriteItem {
  return {
    Put: {
      TableName: table,
      Item: marshall({
        ...entryRef(event),
        time: event.time,
        type: event.type,
        body: JSON.stringify(event),
        [INDEXES.byUnsealed.pk]: UNSEALED,
        [INDEXES.byUnsealed.sk]: event.id,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

function outboxWrite(
  table: string,
  id: string,
  request: AccessRequest | null,
  events: CommittedEvent[],
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
        entries: events.map(entryRef),
        effects,
        done: [],
        attempts: 0,
        dueAt,
        createdAt: time,
      }),
    },
  };
}

/**
 * Moves the head from `head` to `next` and lists the new block as pending marking (its entries, in seq order);
 * `done` blocks, marked meanwhile, leave the list. The condition on the seq the sealer read keeps one chain.
 */
function headWrite(
  table: string,
  head: ChainHead,
  next: ChainHead,
  blockSk: string,
  refs: EntryRef[],
  done: string[],
): TransactWriteItem {
  const entries = refs.map(refLine).join('\n');
  if (head.seq === 0) {
    return {
      Put: {
        TableName: table,
        Item: marshall({ ...HEAD_KEY, seq: next.seq, hash: next.hash, [pendingName(blockSk)]: entries }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
  const removed = done.map((_, index) => `#d${index}`);
  return {
    Update: {
      TableName: table,
      Key: marshall(HEAD_KEY),
      UpdateExpression: `SET #seq = :seq, #hash = :hash, #block = :entries${removed.length ? ` REMOVE ${removed.join(', ')}` : ''}`,
      ConditionExpression: '#seq = :from',
      ExpressionAttributeNames: {
        '#seq': 'seq',
        '#hash': 'hash',
        '#block': pendingName(blockSk),
        ...Object.fromEntries(done.map((sk, index) => [`#d${index}`, pendingName(sk)])),
      },
      ExpressionAttributeValues: marshall({
        ':seq': next.seq,
        ':hash': next.hash,
        ':entries': entries,
        ':from': head.seq,
      }),
    },
  };
}

const pendingName = (blockSk: string) => `${PENDING_PREFIX}${blockSk}`;

const refKey = (ref: EntryRef) => `${ref.pk}\u0000${ref.sk}`;

interface MarkEntry {
  ref: EntryRef;
  seq: number;
  /** The entry as read from the table, when at hand. */
  item: Record<string, AttributeValue> | undefined;
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

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
