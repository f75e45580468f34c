/**
 * Listing cost bounded by what the caller may see (issue 13, item 6): every DynamoDB Query a listing sends is
 * recorded at the SDK client, with the index, partition and ScannedCount. An approver of one small role, a
 * person with no groups and an auditor narrowing by role and status read only their partitions, however many
 * other requests the table holds; nobody but an auditor without filters reads the all-requests index.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemoUser } from '../../api/local/demo-users.js';
import { type Api, TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

interface QueryRecord {
  index: string;
  partition: string;
  scanned: number;
}

/** Records every Query the broker sends, with what DynamoDB says it read. */
function recordQueries(client: DynamoDBClient): QueryRecord[] {
  const records: QueryRecord[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') {
        const input = args.input as {
          IndexName?: string;
          ExpressionAttributeValues?: Record<string, { S?: string }>;
        };
        records.push({
          index: input.IndexName ?? '(table)',
          partition: input.ExpressionAttributeValues?.[':pk']?.S ?? '',
          scanned: (result.output as { ScannedCount?: number }).ScannedCount ?? 0,
        });
      }
      return result;
    },
    { step: 'initialize', name: 'recordQueries' },
  );
  return records;
}

const DANA: DemoUser = {
  name: 'dana',
  email: 'dana@example.com',
  groups: ['dba'],
  description: 'Approves db-ops only',
};

describe('listing reads only what the caller may see', () => {
  let stack: TestStack;
  let queries: QueryRecord[];
  let alice: Api;
  let dana: Api;
  let erin: Api;
  let carol: Api;
  let bob: Api;
  const dbOps: string[] = [];

  beforeAll(async () => {
    const config = testConfig((raw) => {
      (raw.roles as Array<Record<string, unknown>>).push({
        id: 'db-ops',
        description: 'Database operations',
        accountId: '123456789012',
        roleArn: 'arn:aws:iam::123456789012:role/breakglass-db-ops',
        requesters: ['sre'],
        approvers: ['dba'],
        approvalsRequired: 1,
        maxDuration: '2h',
      });
    });
    const users = [...TEST_USERS, DANA];
    stack = await startTestStack({ config, demoUsers: users });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    dana = apiClient(stack, await tokenFor(stack, 'dana'));
    erin = apiClient(stack, await tokenFor(stack, 'erin'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    // 40 requests dana may not see, and 2 she may.
    for (let i = 0; i < 40; i++) {
      const created = await alice('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: `not for dana ${i}`,
      });
      expect(created.status).toBe(201);
    }
    for (let i = 0; i < 2; i++) {
      const created = await alice<{ id: string }>('POST', '/v1/requests', {
        roleId: 'db-ops',
        durationMinutes: 30,
        reason: `for dana ${i}`,
      });
      dbOps.push(created.body.id);
    }
    queries = recordQueries(stack.broker.dynamodb);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    queries.length = 0;
  });

  /**
   * The listing's own reads. The sealer and shipper run in the background of the same client (sealing and
   * shipping what the set-up committed) and read the audit partition, the journal slots and (in tables of the
   * older layout) the unsealed index; they are not part of any listing.
   */
  const listing = () =>
    queries.filter(
      (q) =>
        !(
          q.partition === 'AUDIT' ||
          q.partition?.startsWith('JOURNAL#') ||
          q.partition === 'UNSEALED' ||
          q.index === 'byUnsealed'
        ),
    );
  const scanned = () => listing().reduce((sum, q) => sum + q.scanned, 0);

  it('an approver of one role reads that role and her own requests, not the other 40', async () => {
    const page = await dana<{ items: Array<{ id: string }> }>('GET', '/v1/requests?limit=25');
    expect(page.body.items.map((item) => item.id).sort()).toEqual([...dbOps].sort());
    expect(
      listing()
        .map((q) => `${q.index} ${q.partition}`)
        .sort(),
    ).toEqual(['byRequester USER#dana', 'byRole ROLE#db-ops']);
    expect(scanned()).toBeLessThanOrEqual(2);
  });

  it('"waiting for my approval" reads the role + status partitions only', async () => {
    const page = await dana<{ items: Array<{ id: string }> }>('GET', '/v1/requests?approvable=true');
    expect(page.body.items).toHaveLength(2);
    expect(new Set(listing().map((q) => q.index))).toEqual(new Set(['byRoleStatus']));
    expect(scanned()).toBeLessThanOrEqual(2);
  });

  it('someone with no groups reads only their own (empty) partition, and nothing for approvals', async () => {
    const page = await erin<{ items: unknown[] }>('GET', '/v1/requests?status=pending');
    expect(page.body.items).toEqual([]);
    expect(listing().map((q) => `${q.index} ${q.partition}`)).toEqual(['byRequester USER#erin']);
    expect(scanned()).toBe(0);
    queries.length = 0;
    expect((await erin<{ items: unknown[] }>('GET', '/v1/requests?approvable=true')).body.items).toEqual([]);
    expect(listing()).toEqual([]);
  });

  it('an auditor narrowing by role and status reads that partition only', async () => {
    const page = await carol<{ items: unknown[] }>('GET', '/v1/requests?role=db-ops&status=pending');
    expect(page.body.items).toHaveLength(2);
    expect(listing().map((q) => `${q.index} ${q.partition}`)).toEqual([
      'byRoleStatus ROLE#db-ops#STATUS#pending',
    ]);
    expect(scanned()).toBe(2);
  });

  it('pages of a merged listing carry on without duplicates or omissions', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await bob(
        'GET',
        `/v1/requests?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...response.body.items.map((item) => item.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    // bob approves prod-readonly (40) and not db-ops.
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect(queries.some((q) => q.index === 'byCreated')).toBe(false);
  });
});
