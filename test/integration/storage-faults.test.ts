/**
 * Invariant 9 under storage faults, against a dedicated DynamoDB Local this file starts, stops (SIGSTOP) and
 * kills: clients get 503 `storage_unavailable` with Retry-After within 5 s, /readyz answers within 2 s, nothing
 * is logged as an unhandled error, and a create retried with its Idempotency-Key after a stall leaves exactly
 * one request behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDynamoDb, startDynamoDbLocal } from '../../api/local/dynamodb-local.js';
import { type Api, TEST_USERS, testConfig } from '../support/fixtures.js';
import { captureLogs } from '../support/log-capture.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const VALID = { roleId: 'prod-readonly', durationMinutes: 30, reason: 'storage fault drill' };

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe('storage faults answer 503 within seconds', () => {
  const { logger, lines } = captureLogs('info');
  let dynamo: RunningDynamoDb;
  let stack: TestStack;
  let alice: Api;
  let stopped = false;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    stack = await startTestStack({
      config: testConfig(),
      demoUsers: TEST_USERS,
      dynamodbEndpoint: dynamo.endpoint,
      logger,
    });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
  }, 120_000);
  afterAll(async () => {
    if (stopped && dynamo?.pid) process.kill(dynamo.pid, 'SIGCONT');
    await stack?.stop();
    await dynamo?.stop();
  });

  function expectUnavailable(response: { status: number; body: unknown; headers: Headers }) {
    expect(response.status, JSON.stringify(response.body)).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ code: 'storage_unavailable', status: 503 });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(response.body)).not.toMatch(/Timeout|ECONN|at .*\.ts/);
  }

  it('control: the healthy stack answers', async () => {
    expect((await alice('POST', '/v1/requests', VALID)).status).toBe(201);
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
  });

  it('stalled (SIGSTOP): API calls 503 within 5 s, /readyz within 2 s; a retried create is not duplicated', async () => {
    const key = 'stall-retry-0001';
    process.kill(dynamo.pid!, 'SIGSTOP');
    stopped = true;
    try {
      const create = await timed(() =>
        alice(
          'POST',
          '/v1/requests',
          { ...VALID, reason: 'created during a stall' },
          { 'idempotency-key': key },
        ),
      );
      expectUnavailable(create.result);
      expect(create.ms).toBeLessThan(5000);

      const list = await timed(() => alice('GET', '/v1/requests?mine=true'));
      expectUnavailable(list.result);
      expect(list.ms).toBeLessThan(5000);

      const ready = await timed(() => fetch(`${stack.url}/readyz`));
      expect(ready.result.status).toBe(503);
      expect(ready.ms).toBeLessThan(2000);
    } finally {
      process.kill(dynamo.pid!, 'SIGCONT');
      stopped = false;
    }
    // The abandoned create may have committed once DynamoDB woke up: the retry must find it, not add another.
    const retry = await alice<{ id: string }>(
      'POST',
      '/v1/requests',
      { ...VALID, reason: 'created during a stall' },
      { 'idempotency-key': key },
    );
    expect([200, 201]).toContain(retry.status);
    const again = await alice<{ id: string }>(
      'POST',
      '/v1/requests',
      { ...VALID, reason: 'created during a stall' },
      { 'idempotency-key': key },
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(retry.body.id);
    const mine = await alice<{ items: Array<{ reason: string }> }>('GET', '/v1/requests?mine=true&limit=100');
    expect(mine.body.items.filter((item) => item.reason === 'created during a stall')).toHaveLength(1);
  }, 30_000);

  it('killed: API calls 503 fast, /readyz 503 within 2 s, and no unhandled-error 500s are logged', async () => {
    await dynamo.stop();
    const create = await timed(() => alice('POST', '/v1/requests', VALID));
    expectUnavailable(create.result);
    expect(create.ms).toBeLessThan(5000);
    const get = await alice('GET', '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D');
    expectUnavailable(get);
    const ready = await timed(() => fetch(`${stack.url}/readyz`));
    expect(ready.result.status).toBe(503);
    expect(ready.ms).toBeLessThan(2000);
    expect(lines.filter((line) => line.includes('unhandled error'))).toEqual([]);
  }, 30_000);
});
