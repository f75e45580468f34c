/**
 * Tampering with stored audit events directly in DynamoDB (as someone with table access could) makes
 * `GET /v1/audit/verify` fail and name the first bad seq; putting the original items back makes it pass again,
 * so each failure is caused by the tampering alone.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashEvent } from '../../api/domain/audit-chain.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { type Api, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

interface Verify {
  ok: boolean;
  firstBadSeq?: number;
  reason?: string;
  lastSeq?: number;
}

describe('tampering with the stored audit chain', () => {
  let stack: TestStack;
  let carol: Api;
  let lastSeq: number;
  const originals = new Map<number, Record<string, AttributeValue>>();

  const key = (seq: number) => marshall({ pk: 'AUDIT', sk: String(seq).padStart(12, '0') });

  async function item(seq: number): Promise<Record<string, AttributeValue>> {
    const { Item } = await stack.broker.dynamodb.send(
      new GetItemCommand({ TableName: stack.tableName, Key: key(seq), ConsistentRead: true }),
    );
    if (!Item) throw new Error(`no audit item ${seq}`);
    if (!originals.has(seq)) originals.set(seq, Item);
    return Item;
  }

  const bodyOf = (stored: Record<string, AttributeValue>) => JSON.parse(stored.body!.S!) as AuditEvent;

  async function put(stored: Record<string, AttributeValue>, body: AuditEvent | null = null) {
    await stack.broker.dynamodb.send(
      new PutItemCommand({
        TableName: stack.tableName,
        Item: body ? { ...stored, body: { S: JSON.stringify(body) } } : stored,
      }),
    );
  }

  async function verify(): Promise<Verify> {
    const response = await carol<Verify>('GET', '/v1/audit/verify');
    expect(response.status).toBe(200);
    return response.body;
  }

  beforeAll(async () => {
    stack = await startTestStack({ config: testConfig() });
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    for (let index = 0; index < 3; index++) {
      const created = await alice<{ id: string }>('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: `incident ${index}`,
      });
      await bob('POST', `/v1/requests/${created.body.id}/approve`, {});
    }
    const intact = await verify();
    expect(intact.ok).toBe(true);
    lastSeq = intact.lastSeq!;
    expect(lastSeq).toBeGreaterThanOrEqual(12);
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(async () => {
    for (const [seq, stored] of originals) {
      await put(stored);
      expect(bodyOf(stored).seq).toBe(seq);
    }
    originals.clear();
    expect((await verify()).ok).toBe(true);
  });

  it.each([
    [
      'the reason in data',
      (event: AuditEvent) => ({ ...event, data: { ...event.data, reason: 'nothing to see' } }),
    ],
    [
      'the actor',
      (event: AuditEvent) => ({ ...event, actor: { type: 'system' as const, subject: 'scheduler' } }),
    ],
    ['the time', (event: AuditEvent) => ({ ...event, time: '2020-01-01T00:00:00.000Z' })],
    ['the type', (event: AuditEvent) => ({ ...event, type: 'request.denied' as const })],
  ])('changing %s of an event names that event', async (_field, change) => {
    const seq = 5;
    const stored = await item(seq);
    await put(stored, change(bodyOf(stored)));
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq, reason: 'hash_mismatch' });
  });

  it('changing an event and recomputing its hash breaks the link to the next event', async () => {
    const seq = 4;
    const stored = await item(seq);
    const { hash: _old, ...rest } = { ...bodyOf(stored), data: { forged: true } };
    await put(stored, { ...rest, hash: hashEvent(rest) } as AuditEvent);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq + 1, reason: 'prev_hash_mismatch' });
  });

  it('changing the newest event (hash recomputed) no longer matches the chain head', async () => {
    // The newest now, not at the start: each verify by a person may have added an `audit.read` since.
    const newest = (await stack.broker.store.chainHead()).seq;
    const stored = await item(newest);
    const { hash: _old, ...rest } = { ...bodyOf(stored), data: { forged: true } };
    await put(stored, { ...rest, hash: hashEvent(rest) } as AuditEvent);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: newest });
  });

  it('deleting an event names its seq', async () => {
    const seq = 7;
    await item(seq);
    await stack.broker.dynamodb.send(new DeleteItemCommand({ TableName: stack.tableName, Key: key(seq) }));
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq, reason: 'seq_gap' });
  });

  it('deleting the newest event is caught by the chain head', async () => {
    const newest = (await stack.broker.store.chainHead()).seq;
    await item(newest);
    await stack.broker.dynamodb.send(new DeleteItemCommand({ TableName: stack.tableName, Key: key(newest) }));
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: newest });
  });

  it('swapping two events names the first of them', async () => {
    const [first, second] = [await item(8), await item(9)];
    await put(first, bodyOf(second));
    await put(second, bodyOf(first));
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 8 });
  });

  it('swapping two events and renumbering them is still caught', async () => {
    const [first, second] = [await item(2), await item(3)];
    await put(first, { ...bodyOf(second), seq: 2 });
    await put(second, { ...bodyOf(first), seq: 3 });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
  });
});
