import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type ChainHead, EMPTY_HEAD, serializeEvent } from '../../domain/audit-chain.js';
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
import { INDEXES, TTL_ATTRIBUTE } from './table.js';

const HEAD_KEY = { pk: 'META', sk: 'AUDIT_HEAD' };
const AUDIT_PK = 'AUDIT';
export const OUTBOX_PK = 'OUTBOX';
const UNSEALED = 'UNSEALED';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** How long the committing process has to run a commit's effects before a relay may take them over. */
export const OUTBOX_GRACE_SECONDS = 30;
/** DynamoDB allows 100 items per transaction: the head plus two items (chain event, entry) per sealed event. */
const SEAL_BATCH_LIMIT = 49;
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

const seqKey = (seq: number) => seq.toString().padStart(12, '0');
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
}

/** BrokerStore on one DynamoDB table: conditional writes and TransactWriteItems keep state and audit in step. */
export class DynamoStore implements BrokerStore, AuditJournal {
  readonly sealBatchLimit = SEAL_BATCH_LIMIT;

  private readonly contributors: TransactionContributor<TransactWriteItem>[] = [];

  private readonly cursorKey: Buffer;

  constructor(private readonly options: DynamoStoreOptions) {
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

  /** Oldest first: the index sorts by event id, a ULID that starts with the commit time. */
  async unsealed(limit: number): Promise<UnsealedEntry[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byUnsealed',
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': INDEXES.byUnsealed.pk },
        ExpressionAttributeValues: marshall({ ':pk': UNSEALED }),
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => {
      const raw = unmarshall(item);
      return {
        event: JSON.parse(String(raw.body)) as CommittedEvent,
        ref: { pk: String(raw.pk), sk: String(raw.sk) },
      };
    });
  }

  async seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void> {
    if (batch.length === 0) return;
    if (batch.length > SEAL_BATCH_LIMIT) throw new Error(`at most ${SEAL_BATCH_LIMIT} events per seal`);
    const last = batch[batch.length - 1]!.event;
    const items: TransactWriteItem[] = [
      headWrite(this.table, from, { seq: last.seq, hash: last.hash }),
      ...batch.flatMap(({ ref, event }) => [
        eventWrite(this.table, event),
        {
          Update: {
            TableName: this.table,
            Key: marshall(ref),
            // Exactly once: an entry another sealer already took fails the whole batch.
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(seq)',
            UpdateExpression: 'SET seq = :seq REMOVE #upk, #usk',
            ExpressionAttributeNames: { '#upk': INDEXES.byUnsealed.pk, '#usk': INDEXES.byUnsealed.sk },
            ExpressionAttributeValues: marshall({ ':seq': event.seq }),
          },
        },
      ]),
    ];
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      if (codes[0] === 'ConditionalCheckFailed') throw new SealConflict('head');
      const sealedAlready = batch
        .filter((_, index) => codes[2 + index * 2] === 'ConditionalCheckFailed')
        .map(({ ref }) => ref);
      if (sealedAlready.length > 0) throw new SealConflict('entry', sealedAlready);
      // A seq already taken without the head saying so, or a transaction conflict with another sealer.
      throw new SealConflict('head');
    }
  }

  /** How many entries wait (a COUNT query, no items read) and when the oldest committed (one item). */
  async backlog(): Promise<SealBacklog> {
    const query = {
      TableName: this.table,
      IndexName: 'byUnsealed',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byUnsealed.pk },
      ExpressionAttributeValues: marshall({ ':pk': UNSEALED }),
    };
    const [oldest] = await this.unsealed(1);
    if (!oldest) return { count: 0, oldestTime: null };
    let count = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...query, Select: 'COUNT', ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { count, oldestTime: oldest.event.time };
  }

  async chainHead(): Promise<ChainHead> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: marshall(HEAD_KEY), ConsistentRead: true }),
    );
    if (!Item) return EMPTY_HEAD;
    const head = unmarshall(Item);
    return { seq: Number(head.seq), hash: String(head.hash) };
  }

  async *readEvents(range: EventRange = {}): AsyncIterable<AuditEvent> {
    let startKey: Record<string, AttributeValue> | undefined;
    const from = seqKey(Math.max(1, range.fromSeq ?? 1));
    do {
      const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk' };
      const to = range.toSeq !== undefined ? seqKey(Math.max(0, range.toSeq)) : '999999999999';
      const values: Record<string, unknown> = { ':pk': AUDIT_PK, ':from': from, ':to': to };
      const filters: string[] = [];
      if (range.since) {
        names['#time'] = 'time';
        values[':since'] = range.since;
        filters.push('#time >= :since');
      }
      if (range.until) {
        names['#time'] = 'time';
        values[':until'] = range.until;
        filters.push('#time < :until');
      }
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values),
          ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(range.newestFirst ? { ScanIndexForward: false } : {}),
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        yield JSON.parse(String(unmarshall(item).body)) as AuditEvent;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
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

function headWrite(table: string, head: ChainHead, next: ChainHead): TransactWriteItem {
  return {
    Put: {
      TableName: table,
      Item: marshall({ ...HEAD_KEY, seq: next.seq, hash: next.hash }),
      ConditionExpression: head.seq === 0 ? 'attribute_not_exists(pk)' : 'seq = :seq',
      ...(head.seq === 0 ? {} : { ExpressionAttributeValues: marshall({ ':seq': head.seq }) }),
    },
  };
}

function eventWrite(table: string, event: AuditEvent): TransactWriteItem {
  return {
    Put: {
      TableName: table,
      Item: marshall({
        pk: AUDIT_PK,
        sk: seqKey(event.seq),
        seq: event.seq,
        time: event.time,
        type: event.type,
        ...(event.requestId ? { requestId: event.requestId } : {}),
        body: serializeEvent(event),
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
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
