import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CommittedEvent } from '../../domain/types.js';
import type { EntryRef } from '../../ports/audit-journal.js';
import type { Outbox, OutboxEntry } from '../../ports/outbox.js';
import { OUTBOX_PK } from './store.js';

/**
 * The outbox on the broker table: one item per commit that some post-commit effect wants (`OUTBOX` / first
 * event id), written in the commit's own transaction by DynamoStore, removed here once every effect is done.
 */
export class DynamoOutbox implements Outbox {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  /** Entries due now, oldest first; consistent, so an entry committed a moment ago is never missed. */
  async due(now: Date, limit: number): Promise<OutboxEntry[]> {
    const { Items } = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'dueAt <= :now',
        ExpressionAttributeValues: marshall({ ':pk': OUTBOX_PK, ':now': now.toISOString() }),
        ConsistentRead: true,
        Limit: Math.max(limit * 4, 100),
      }),
    );
    return (Items ?? []).slice(0, limit).map(toEntry);
  }

  /** Moves `dueAt` to the lease end if nobody else moved it since `entry` was read. */
  async claim(entry: OutboxEntry, leaseUntil: Date): Promise<boolean> {
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: marshall({ pk: OUTBOX_PK, sk: entry.id }),
          ConditionExpression: 'dueAt = :seen',
          UpdateExpression: 'SET dueAt = :lease, attempts = attempts + :one',
          ExpressionAttributeValues: marshall({
            ':seen': entry.dueAt,
            ':lease': leaseUntil.toISOString(),
            ':one': 1,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async settle(id: string, done: string[], complete: boolean, retryAt: Date): Promise<void> {
    const Key = marshall({ pk: OUTBOX_PK, sk: id });
    if (complete) {
      await this.options.client.send(new DeleteItemCommand({ TableName: this.options.tableName, Key }));
      return;
    }
    await this.options.client
      .send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key,
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression: 'SET done = :done, dueAt = :retry',
          ExpressionAttributeValues: marshall({ ':done': done, ':retry': retryAt.toISOString() }),
        }),
      )
      .catch((error: unknown) => {
        // Settled by someone else in the meantime: nothing left to record.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async events(entry: OutboxEntry): Promise<CommittedEvent[]> {
    const keys = entry.entries.map((ref) => marshall(ref));
    const found = new Map<string, CommittedEvent>();
    let pending = keys;
    for (let round = 0; pending.length > 0 && round < 5; round++) {
      const result = await this.options.client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.options.tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of result.Responses?.[this.options.tableName] ?? []) {
        // A journal record holds all of its commit's events; an entry of the older layout, one.
        const events = item.events?.S
          ? (JSON.parse(item.events.S) as CommittedEvent[])
          : [JSON.parse(String(unmarshall(item).body)) as CommittedEvent];
        for (const event of events) found.set(event.id, event);
      }
      pending = result.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
    }
    return entry.eventIds.flatMap((id) => {
      const event = found.get(id);
      return event ? [event] : [];
    });
  }
}

function toEntry(item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>): OutboxEntry {
  const raw = unmarshall(item);
  return {
    id: String(raw.sk),
    kind: raw.kind === 'record' ? 'record' : 'change',
    requestId: typeof raw.requestId === 'string' ? raw.requestId : null,
    eventIds: (raw.eventIds as string[]) ?? [],
    entries: (raw.entries as EntryRef[]) ?? [],
    effects: (raw.effects as string[]) ?? [],
    done: (raw.done as string[]) ?? [],
    attempts: Number(raw.attempts ?? 0),
    dueAt: String(raw.dueAt),
    createdAt: String(raw.createdAt),
  };
}
