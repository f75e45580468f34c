import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ulid } from 'ulid';
import { type ChainHead, EMPTY_HEAD, sealEvent, serializeEvent } from '../../domain/audit-chain.js';
import { DomainError } from '../../domain/errors.js';
import { nextDue, type Outcome } from '../../domain/lifecycle.js';
import type { AccessRequest, AuditEvent, AuditEventDraft } from '../../domain/types.js';
import {
  type BrokerStore,
  type Clock,
  ConcurrentUpdateError,
  type EventRange,
  type IdempotencyClaim,
  type ListQuery,
  type Page,
  type PendingCommit,
  type TransactionContributor,
} from '../../services/ports.js';
import { INDEXES, TTL_ATTRIBUTE } from './table.js';

const HEAD_KEY = { pk: 'META', sk: 'AUDIT_HEAD' };
const AUDIT_PK = 'AUDIT';
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** A chain conflict (another writer appended first) is retried here, without re-deciding the state change. */
const MAX_CHAIN_ATTEMPTS = 60;
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
export class DynamoStore implements BrokerStore {
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
  ): Promise<{ request: AccessRequest; replayed: boolean; events: AuditEvent[] }> {
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
      const events = await this.commit(
        write,
        outcome.events,
        extra,
        this.contributions({ request: outcome.request, events: outcome.events }),
      );
      return { request: outcome.request, replayed: false, events };
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
      return { request: earlier, replayed: true, events: [] };
    }
  }

  async updateRequest(expectedVersion: number, outcome: Outcome): Promise<AuditEvent[]> {
    const write: TransactWriteItem = {
      Put: {
        TableName: this.table,
        Item: requestItem(outcome.request),
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: marshall({ ':expected': expectedVersion }),
      },
    };
    return this.commit(
      write,
      outcome.events,
      [],
      this.contributions({ request: outcome.request, events: outcome.events }),
    );
  }

  appendEvents(events: AuditEventDraft[]): Promise<AuditEvent[]> {
    return this.commit(null, events, [], this.contributions({ request: null, events }));
  }

  /**
   * One transaction: the state write (if any), the chain head moved from the head we read, and the sealed
   * events, then `extra` (the idempotency record) and the contributors' writes. Losing the chain race re-reads
   * the head and tries again; losing the request race, or a contributed write's condition, is the caller's.
   */
  private async commit(
    write: TransactWriteItem | null,
    drafts: AuditEventDraft[],
    extra: TransactWriteItem[] = [],
    contributed: TransactWriteItem[] = [],
  ): Promise<AuditEvent[]> {
    if (drafts.length === 0) throw new Error('a state change must be recorded by at least one audit event');
    for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
      const head = await this.chainHead();
      const time = this.options.clock.now().toISOString();
      const events: AuditEvent[] = [];
      let cursor = head;
      for (const draft of drafts) {
        const event = sealEvent(draft, cursor, {
          id: `evt_${ulid()}`,
          time,
          simulated: this.options.simulated,
        });
        events.push(event);
        cursor = { seq: event.seq, hash: event.hash };
      }
      const items: TransactWriteItem[] = [
        ...(write ? [write] : []),
        headWrite(this.table, head, cursor),
        ...events.map((event) => eventWrite(this.table, event)),
        ...extra,
        ...contributed,
      ];
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return events;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        const writeIndex = write ? 0 : -1;
        const contributedStart = items.length - contributed.length;
        const extraStart = contributedStart - extra.length;
        if (extra.length > 0 && codes.slice(extraStart, contributedStart).includes('ConditionalCheckFailed'))
          throw new IdempotencyTaken();
        if (writeIndex === 0 && codes[0] === 'ConditionalCheckFailed')
          throw new ConcurrentUpdateError('request');
        if (contributed.length > 0 && codes.slice(contributedStart).includes('ConditionalCheckFailed'))
          throw new ConcurrentUpdateError('transaction');
        // Chain head moved or a concurrent transaction touched the same items: back off briefly and retry.
        await sleep(Math.random() * Math.min(50, 5 * (attempt + 1)));
      }
    }
    // Not a ConcurrentUpdateError: the service would re-decide and run this whole loop again (25 × 60
    // transactions against a chain that cannot move). The caller gets a 409 to retry later instead.
    throw new DomainError('concurrent_update', 'the audit log is busy; try again');
  }

  async listRequests(query: ListQuery): Promise<Page<AccessRequest>> {
    const index = INDEXES[query.index];
    const partition =
      query.index === 'byRequester'
        ? `USER#${query.key}`
        : query.index === 'byStatus'
          ? `STATUS#${query.key}`
          : 'REQUESTS';
    let startKey = decodeCursor(this.cursorKey, query.cursor, query.index, index);
    const items: AccessRequest[] = [];
    let lastIncluded: Record<string, AttributeValue> | null = null;
    let more = false;
    while (items.length < query.limit) {
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: query.index,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.pk },
        ExpressionAttributeValues: marshall({ ':pk': partition }),
        ScanIndexForward: false,
        Limit: Math.max(query.limit * 2, 25),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      const page = await this.client.send(new QueryCommand(input));
      const rows = page.Items ?? [];
      for (const [position, raw] of rows.entries()) {
        const request = toRequest(raw);
        if (!query.where(request)) continue;
        items.push(request);
        lastIncluded = raw;
        if (items.length === query.limit) {
          more = position < rows.length - 1 || page.LastEvaluatedKey !== undefined;
          break;
        }
      }
      if (!page.LastEvaluatedKey) break;
      startKey = page.LastEvaluatedKey;
    }
    // Continue after the last item returned, not after the last one DynamoDB read.
    const nextCursor =
      more && lastIncluded ? encodeCursor(this.cursorKey, query.index, pickKey(lastIncluded, index)) : null;
    return { items, nextCursor };
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
      const values: Record<string, unknown> = { ':pk': AUDIT_PK, ':from': from, ':to': '999999999999' };
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function idempotencyItemKey(claim: IdempotencyClaim) {
  const owner = createHash('sha256').update(claim.subject).digest('hex').slice(0, 32);
  return { pk: `IDEMP#${owner}#${claim.key}`, sk: 'IDEMP' };
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

function requestItem(request: AccessRequest): Record<string, AttributeValue> {
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

function pickKey(item: Record<string, AttributeValue>, index: { pk: string; sk: string }) {
  const key: Record<string, AttributeValue> = {};
  for (const name of ['pk', 'sk', index.pk, index.sk]) {
    const value = item[name];
    if (value) key[name] = value;
  }
  return key;
}

/**
 * Cursors are opaque and tamper-evident: base64url(JSON) plus an HMAC over the index and the key. A cursor that
 * was not issued by this broker for this index is refused before DynamoDB sees it (it used to answer 500).
 */
function encodeCursor(secret: Buffer, index: string, key: Record<string, AttributeValue>): string {
  const body = Buffer.from(JSON.stringify({ i: index, k: unmarshall(key) })).toString('base64url');
  return `${body}.${cursorMac(secret, body)}`;
}

function cursorMac(secret: Buffer, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

function decodeCursor(
  secret: Buffer,
  cursor: string | undefined,
  indexName: string,
  index: { pk: string; sk: string },
): Record<string, AttributeValue> | undefined {
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
      i?: unknown;
      k?: unknown;
    };
    const key = parsed.k;
    if (parsed.i !== indexName || typeof key !== 'object' || key === null || Array.isArray(key))
      throw refuse();
    const allowed = new Set(['pk', 'sk', index.pk, index.sk]);
    const entries = Object.entries(key);
    if (
      entries.length !== allowed.size ||
      !entries.every(([name, value]) => allowed.has(name) && typeof value === 'string')
    )
      throw refuse();
    return marshall(key as Record<string, string>);
  } catch {
    throw refuse();
  }
}
