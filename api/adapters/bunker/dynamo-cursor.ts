import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { INITIAL_CURSOR, type ShipperCursor, type ShipperCursorStore } from '../../ports/bunker.js';
import { ConcurrentUpdateError } from '../../ports/store.js';

/** The shipper's cursor as one item in the broker table, moved only by a conditional write on its version. */
export class DynamoCursorStore implements ShipperCursorStore {
  private readonly key: { pk: string; sk: string };

  /** `name` tells apart cursors of several bunkers sharing one table (the default bunker has none). */
  constructor(private readonly options: { client: DynamoDBClient; tableName: string; name?: string }) {
    this.key = { pk: 'META', sk: options.name ? `BUNKER_CURSOR#${options.name}` : 'BUNKER_CURSOR' };
  }

  /** Reads the cursor with a consistent read; the initial cursor when nothing has been shipped yet. */
  async read(): Promise<ShipperCursor> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: marshall(this.key),
        ConsistentRead: true,
      }),
    );
    if (!Item) return INITIAL_CURSOR;
    return JSON.parse(String(unmarshall(Item).body)) as ShipperCursor;
  }

  /** Stores `next` if the stored cursor is still at `next.version - 1`; ConcurrentUpdateError otherwise. */
  async write(next: ShipperCursor): Promise<void> {
    const expected = next.version - 1;
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: marshall({ ...this.key, version: next.version, body: JSON.stringify(next) }),
          ConditionExpression: expected === 0 ? 'attribute_not_exists(pk)' : '#version = :expected',
          ...(expected === 0
            ? {}
            : {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: marshall({ ':expected': expected }),
              }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConcurrentUpdateError('request');
      throw error;
    }
  }
}

/** In-memory twin for unit tests; can be told to fail so crash paths are testable. */
export class MemoryCursorStore implements ShipperCursorStore {
  cursor: ShipperCursor = INITIAL_CURSOR;
  writes = 0;

  async read(): Promise<ShipperCursor> {
    return structuredClone(this.cursor);
  }

  async write(next: ShipperCursor): Promise<void> {
    if (next.version !== this.cursor.version + 1) throw new ConcurrentUpdateError('request');
    this.writes += 1;
    this.cursor = structuredClone(next);
  }
}
