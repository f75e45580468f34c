import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Clock } from '../../ports/clock.js';
import type { MarkerStore } from '../../ports/markers.js';
import { TTL_ATTRIBUTE } from './table.js';

/**
 * MarkerStore in the broker's table (`pk = MARK#<kind>#<id>`), expiring through the table's TTL attribute.
 * TTL deletion is lazy (up to days), so every read and conditional write also compares the expiry itself.
 */
export class DynamoMarkers implements MarkerStore {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string; clock: Clock }) {}

  /** Conditional put: succeeds only when no unexpired marker with this key exists. */
  async claim(kind: string, id: string, ttlSeconds: number, value: Record<string, string> = {}) {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: this.item(kind, id, ttlSeconds, value),
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: marshall({ ':now': this.nowSeconds() }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Unconditional put (overwrites). */
  async put(kind: string, id: string, ttlSeconds: number, value: Record<string, string> = {}) {
    await this.options.client.send(
      new PutItemCommand({ TableName: this.options.tableName, Item: this.item(kind, id, ttlSeconds, value) }),
    );
  }

  /** Strongly consistent read that ignores markers past their expiry. */
  async get(kind: string, id: string) {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: marshall(key(kind, id)),
        ConsistentRead: true,
      }),
    );
    if (!Item) return null;
    const raw = unmarshall(Item);
    if (Number(raw[TTL_ATTRIBUTE]) <= this.nowSeconds()) return null;
    return (raw.value as Record<string, string> | undefined) ?? {};
  }

  private item(kind: string, id: string, ttlSeconds: number, value: Record<string, string>) {
    return marshall({ ...key(kind, id), value, [TTL_ATTRIBUTE]: this.nowSeconds() + ttlSeconds });
  }

  private nowSeconds(): number {
    return Math.floor(this.options.clock.now().getTime() / 1000);
  }
}

function key(kind: string, id: string) {
  return { pk: `MARK#${kind}#${id}`, sk: 'MARK' };
}
