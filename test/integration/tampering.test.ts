/**
 * Tampering with stored audit events directly in DynamoDB (as someone with table access could) makes
 * `GET /v1/audit/verify` fail and name the first bad seq; putting the original blocks back makes it pass again,
 * so each failure is caused by the tampering alone. The chain is stored in blocks of events (one per seal), so
 * each change edits one event inside its block, or removes a whole block.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashEvent } from '../../api/domain/audit-chain.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { ChainTable } from '../support/chain-table.js';
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
  let chain: ChainTable;

  async function verify(): Promise<Verify> {
    const response = await carol<Verify>('GET', '/v1/audit/verify');
    expect(response.status).toBe(200);
    return response.body;
  }

  beforeAll(async () => {
    stack = await startTestStack({ config: testConfig() });
    chain = new ChainTable(stack.broker.dynamodb, stack.tableName);
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
    await chain.restore();
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
    await chain.replace(seq, change(await chain.event(seq)));
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq, reason: 'hash_mismatch' });
  });

  it('changing an event and recomputing its hash breaks the link to the next event', async () => {
    const seq = 4;
    const { hash: _old, ...rest } = { ...(await chain.event(seq)), data: { forged: true } };
    await chain.replace(seq, { ...rest, hash: hashEvent(rest) } as AuditEvent);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq + 1, reason: 'prev_hash_mismatch' });
  });

  it('changing the newest event (hash recomputed) no longer matches the chain head', async () => {
    // The newest now, not at the start: each verify by a person may have added an `audit.read` since.
    const newest = (await stack.broker.store.chainHead()).seq;
    const { hash: _old, ...rest } = { ...(await chain.event(newest)), data: { forged: true } };
    await chain.replace(newest, { ...rest, hash: hashEvent(rest) } as AuditEvent);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: newest });
  });

  it('deleting an event from its block names its seq', async () => {
    const seq = 7;
    await chain.replace(seq, null);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: seq, reason: 'seq_gap' });
  });

  it('deleting the newest event is caught by the chain head', async () => {
    const newest = (await stack.broker.store.chainHead()).seq;
    await chain.replace(newest, null);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: newest });
  });

  it('deleting a whole block names its first seq', async () => {
    const blocks = await chain.blocks();
    const second = blocks[1] ?? blocks[0]!;
    const first = Number(second.sk!.S);
    await chain.put(second, second);
    await stack.broker.dynamodb.send(
      new DeleteItemCommand({ TableName: stack.tableName, Key: { pk: second.pk!, sk: second.sk! } }),
    );
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: first });
  });

  it('swapping two events names the first of them', async () => {
    const [first, second] = [await chain.event(8), await chain.event(9)];
    await chain.replace(8, second);
    await chain.replace(9, first);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 8 });
  });

  it('swapping two events and renumbering them is still caught', async () => {
    const [first, second] = [await chain.event(2), await chain.event(3)];
    await chain.replace(2, { ...second, seq: 2 });
    await chain.replace(3, { ...first, seq: 3 });
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
  });
});
