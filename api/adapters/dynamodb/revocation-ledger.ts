import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { LedgerEntry, TransactionalLedger } from '../../ports/revocation-ledger.js';
import { TTL_ATTRIBUTE } from './table.js';

const PENDING_PK = 'REVOKE-PENDING';
const entryKey = (roleArn: string, requestId: string) => ({ pk: `REVOKE#${roleArn}`, sk: requestId });
const pendingKey = (roleArn: string, requestId: string) => ({
  pk: PENDING_PK,
  sk: `${roleArn}#${requestId}`,
});
/** Items outlive their use by a day, then the table's TTL removes them. */
const ttlOf = (aliveUntil: string) => Math.floor(new Date(aliveUntil).getTime() / 1000) + 86_400;

/**
 * RevocationLedger in the broker's table: one item per (role, revoked grant) under `REVOKE#<roleArn>`, plus a
 * marker under `REVOKE-PENDING` until the policy that includes it has been written. The broker puts both into
 * the transaction that commits `grant.revoked` (`recordWrites`) and removes the marker in the transaction that
 * records `revocation.applied` (`settleWrites`), both through `DynamoStore.addContributor`.
 */
export class DynamoRevocationLedger implements TransactionalLedger<TransactWriteItem> {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  /** Writes the entry and its pending marker in one transaction. */
  async record(entry: LedgerEntry): Promise<void> {
    await this.options.client.send(
      new TransactWriteItemsCommand({ TransactItems: this.recordWrites(entry) }),
    );
  }

  recordWrites(entry: LedgerEntry): TransactWriteItem[] {
    const body = { ...entry, [TTL_ATTRIBUTE]: ttlOf(entry.aliveUntil) };
    return [
      {
        Put: {
          TableName: this.options.tableName,
          Item: marshall({ ...entryKey(entry.roleArn, entry.requestId), ...body }),
        },
      },
      {
        Put: {
          TableName: this.options.tableName,
          Item: marshall({ ...pendingKey(entry.roleArn, entry.requestId), ...body }),
        },
      },
    ];
  }

  settleWrites(entry: Pick<LedgerEntry, 'roleArn' | 'requestId'>): TransactWriteItem[] {
    return [
      {
        Delete: {
          TableName: this.options.tableName,
          Key: marshall(pendingKey(entry.roleArn, entry.requestId)),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
    ];
  }

  /** Strongly consistent read of the role's entries that are still alive. */
  async alive(roleArn: string, now: Date): Promise<LedgerEntry[]> {
    const entries = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `REVOKE#${roleArn}` }),
    });
    return entries.filter((entry) => new Date(entry.aliveUntil) > now);
  }

  async pending(limit: number, now: Date): Promise<LedgerEntry[]> {
    const entries = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': PENDING_PK }),
    });
    return entries.filter((entry) => new Date(entry.retryAfter) <= now).slice(0, limit);
  }

  /** Deletes each pending marker conditionally: only the caller whose delete removed it has settled it. */
  async settle<T extends Pick<LedgerEntry, 'roleArn' | 'requestId'>>(entries: T[]): Promise<T[]> {
    const settled: T[] = [];
    for (const entry of entries) {
      try {
        await this.options.client.send(
          new DeleteItemCommand({
            TableName: this.options.tableName,
            Key: marshall(pendingKey(entry.roleArn, entry.requestId)),
            ConditionExpression: 'attribute_exists(pk)',
          }),
        );
        settled.push(entry);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return settled;
  }

  private async query(
    input: Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    let startKey: QueryCommandInput['ExclusiveStartKey'];
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          ...input,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const raw = unmarshall(item);
        entries.push({
          roleArn: String(raw.roleArn),
          requestId: String(raw.requestId),
          revokedAt: String(raw.revokedAt),
          aliveUntil: String(raw.aliveUntil),
          retryAfter: String(raw.retryAfter ?? raw.revokedAt),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return entries;
  }
}
