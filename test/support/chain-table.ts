/**
 * The sealed chain as someone with table access sees it: blocks of events under `pk AUDIT` (see
 * api/adapters/dynamodb/chain-blocks.ts). Tests tamper with single events inside their block and put the
 * original blocks back afterwards.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { AUDIT_PK, blockLines, blockSpan, seqKey } from '../../api/adapters/dynamodb/chain-blocks.js';
import type { AuditEvent } from '../../api/domain/types.js';

type Item = Record<string, AttributeValue>;

export class ChainTable {
  /** The blocks as they were before the first change, by sk. */
  private readonly originals = new Map<string, Item>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Every block item, in seq order. */
  async blocks(): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: AUDIT_PK } },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** The block holding `seq`. */
  async blockOf(seq: number): Promise<Item> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk <= :seq',
        ExpressionAttributeValues: { ':pk': { S: AUDIT_PK }, ':seq': { S: seqKey(seq) } },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const block = Items?.[0];
    if (!block) throw new Error(`no audit block holds seq ${seq}`);
    return block;
  }

  /** The stored event with this seq, parsed. */
  async event(seq: number): Promise<AuditEvent> {
    const block = await this.blockOf(seq);
    const found = eventsOf(block)[seq - blockSpan(block).first];
    if (!found) throw new Error(`no audit event ${seq}`);
    return found;
  }

  /**
   * Rewrites the block holding `seq` with that event replaced by `replacement` (its own JSON text, as an
   * attacker would write it), or removed when `replacement` is null.
   */
  async replace(seq: number, replacement: AuditEvent | null): Promise<void> {
    const block = await this.blockOf(seq);
    const sk = block.sk!.S!;
    if (!this.originals.has(sk)) this.originals.set(sk, block);
    const lines = blockLines(block);
    // By position, not by the seq inside: an earlier change may have put another seq there.
    const index = seq - blockSpan(block).first;
    if (index < 0 || index >= lines.length) throw new Error(`no audit event ${seq}`);
    if (replacement) lines[index] = JSON.stringify(replacement);
    else lines.splice(index, 1);
    if (lines.length > 0) await this.put({ ...block, events: { S: lines.join('\n') } });
    else
      await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: { pk: block.pk!, sk: block.sk! } }),
      );
  }

  /** Puts a block item as given (remembering the first version of each block for `restore`). */
  async put(block: Item, remember?: Item): Promise<void> {
    const sk = block.sk!.S!;
    if (remember && !this.originals.has(sk)) this.originals.set(sk, remember);
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: block }));
  }

  /** Puts every changed block back as it was; resolves to how many. */
  async restore(): Promise<number> {
    for (const block of this.originals.values()) {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: block }));
    }
    const restored = this.originals.size;
    this.originals.clear();
    return restored;
  }
}

/** The events of a block item, in seq order. */
export function eventsOf(block: Item): AuditEvent[] {
  return blockLines(block).map((line) => JSON.parse(line) as AuditEvent);
}
