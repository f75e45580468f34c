import {
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ThrottleReport, ThrottleReports } from '../../ports/rate-limiter.js';
import type { TransactionContributor } from '../../ports/store.js';

const PARTITION = 'THROTTLE-REPORTS';
/** Window ends sort as text: milliseconds, zero-padded. */
const at = (ms: number) => String(ms).padStart(15, '0');

/**
 * ThrottleReports on the broker's table: one marker per principal key and window under one partition, sorted by
 * the window's end. The `access.throttled` commit deletes its marker in the same transaction (`contributor`), on
 * the condition that it is still there, so a report is written exactly once whoever writes it first.
 */
export class DynamoThrottleReports implements ThrottleReports {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  /** Puts the marker unless this window's is already there. */
  async open(report: ThrottleReport): Promise<void> {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: marshall({ pk: PARTITION, sk: idOf(report), report: JSON.stringify(report) }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** Markers whose window ended before `now`, oldest first. */
  async due(now: Date, limit: number): Promise<Array<ThrottleReport & { id: string }>> {
    const { Items } = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND sk < :now',
        ExpressionAttributeValues: marshall({ ':pk': PARTITION, ':now': at(now.getTime()) }),
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => {
      const raw = unmarshall(item) as { sk: string; report: string };
      return { ...(JSON.parse(raw.report) as ThrottleReport), id: raw.sk };
    });
  }

  /** Deletes the marker named by an `access.throttled` event's `data.report` in that event's commit. */
  contributor(): TransactionContributor<TransactWriteItem> {
    const tableName = this.options.tableName;
    return {
      name: 'throttle-reports',
      writesFor: (commit) =>
        commit.events.flatMap((event) => {
          const id =
            event.type === 'access.throttled' ? (event.data as { report?: unknown }).report : undefined;
          if (typeof id !== 'string') return [];
          return [
            {
              Delete: {
                TableName: tableName,
                Key: marshall({ pk: PARTITION, sk: id }),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
          ];
        }),
    };
  }
}

function idOf(report: ThrottleReport): string {
  return `${at(report.windowStart + report.windowSeconds * 1000)}#${report.key}`;
}
