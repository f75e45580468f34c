import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type RateLimiter, windowStart } from '../../ports/rate-limiter.js';
import { TTL_ATTRIBUTE } from './table.js';

/** RateLimiter on the broker's table: one atomic ADD per call on `RATE#<key>` / window, expired by TTL. */
export class DynamoRateLimiter implements RateLimiter {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  /** Atomically counts one call in the current window. */
  async hit(key: string, windowSeconds: number, now: Date): Promise<number> {
    const start = windowStart(windowSeconds, now);
    const { Attributes } = await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { pk: { S: `RATE#${key}` }, sk: { S: String(start) } },
        UpdateExpression: 'ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':ttl': { N: String(Math.ceil(start / 1000) + windowSeconds * 2) },
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.count?.N ?? 1);
  }

  /** Reads the current window's count (eventually consistent is fine for a limit). */
  async peek(key: string, windowSeconds: number, now: Date): Promise<number> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: { S: `RATE#${key}` }, sk: { S: String(windowStart(windowSeconds, now)) } },
      }),
    );
    return Number(Item?.count?.N ?? 0);
  }
}
