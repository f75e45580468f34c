import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

/** Global secondary indexes: name → partition and sort key attributes. Infra creates the same ones. */
export const INDEXES = {
  byRequester: { pk: 'gsi1pk', sk: 'gsi1sk' },
  byStatus: { pk: 'gsi2pk', sk: 'gsi2sk' },
  byDue: { pk: 'gsi3pk', sk: 'gsi3sk' },
  byCreated: { pk: 'gsi4pk', sk: 'gsi4sk' },
  /**
   * Sparse: unsealed journal entries of tables written before journal slots (`UNSEALED` / event id), sealed the
   * way that version sealed them (`DynamoStore.sealLegacyEntries`); nothing new is written to it.
   */
  byUnsealed: { pk: 'gsi5pk', sk: 'gsi5sk' },
  /** Requests of one role (`ROLE#<role>` / createdAt#id): approvers list what they may see, not everything. */
  byRole: { pk: 'gsi6pk', sk: 'gsi6sk' },
  /** Requests of one role in one status (`ROLE#<role>#STATUS#<status>`): "waiting for my approval". */
  byRoleStatus: { pk: 'gsi7pk', sk: 'gsi7sk' },
} as const;

export const TTL_ATTRIBUTE = 'expiresAt';

export function tableDefinition(tableName: string) {
  const attributes = new Set<string>(['pk', 'sk']);
  const indexes: GlobalSecondaryIndex[] = Object.entries(INDEXES).map(([name, keys]) => {
    attributes.add(keys.pk);
    attributes.add(keys.sk);
    return {
      IndexName: name,
      KeySchema: [
        { AttributeName: keys.pk, KeyType: 'HASH' },
        { AttributeName: keys.sk, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    };
  });
  const definitions: AttributeDefinition[] = [...attributes].map((name) => ({
    AttributeName: name,
    AttributeType: 'S',
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    AttributeDefinitions: definitions,
    GlobalSecondaryIndexes: indexes,
  };
}

/** Creates the table (and its TTL setting) when it does not exist yet. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    await addMissingIndexes(
      client,
      tableName,
      Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName) ?? [],
    );
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

/**
 * A table made by an older version (a local data directory) gets the indexes added since, one at a time as
 * DynamoDB requires. Items written before carry no keys for them until `DynamoStore.backfillIndexes()` runs.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  tableName: string,
  existing: Array<string | undefined>,
) {
  const definition = tableDefinition(tableName);
  for (const index of definition.GlobalSecondaryIndexes) {
    if (existing.includes(index.IndexName)) continue;
    const names = index.KeySchema!.map((key) => key.AttributeName!);
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definition.AttributeDefinitions.filter((a) => names.includes(a.AttributeName!)),
        GlobalSecondaryIndexUpdates: [
          {
            Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection },
          },
        ],
      }),
    );
    for (let attempt = 0; attempt < 600; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const added = Table?.GlobalSecondaryIndexes?.find(
        (candidate) => candidate.IndexName === index.IndexName,
      );
      if (Table?.TableStatus === 'ACTIVE' && added?.IndexStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
