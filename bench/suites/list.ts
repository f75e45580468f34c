/**
 * List latency per kind of caller at 1k and 10k requests in the table (issue 13, item 6): a requester who owns
 * 1 % of them, an approver of one small role (2 %), an approver of the big roles, an auditor and a person with
 * no groups, each listing their first page through the API. Target: p50 at 10k ≤ 2 × p50 at 1k, because each
 * listing reads only the index partitions the caller may see. Requests are seeded straight into the table (the
 * same items the store writes), so the seeding does not dominate the run.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { ulid } from 'ulid';
import { requestItem } from '../../api/adapters/dynamodb/store.js';
import type { AccessRequest, RequestStatus } from '../../api/domain/types.js';
import { DEMO_USERS } from '../../api/local/demo-users.js';
import { type LocalStack, startLocalStack } from '../../api/local/stack.js';
import { silentLogger } from '../../api/ports/logger.js';
import { benchConfig, devToken, percentile } from '../support.js';

export const name = 'list';

const SIZES = [1000, 10_000];
const CALLS = Number(process.env.BENCH_LIST_CALLS ?? 40);
const WARMUP = 5;

const CALLERS = [
  { kind: 'requester (owns 1 %)', user: 'alice' },
  { kind: 'approver of a small role', user: 'dana' },
  { kind: 'approver of the big roles', user: 'bob' },
  { kind: 'auditor', user: 'carol' },
  { kind: 'no groups', user: 'erin' },
] as const;

const STATUSES: RequestStatus[] = [
  'expired',
  'expired',
  'expired',
  'expired',
  'denied',
  'cancelled',
  'revoked',
];

/** The n-th seeded request: 1 % alice's, 2 % in db-ops, the rest spread over the example roles and 100 people. */
function seeded(n: number, start: number): AccessRequest {
  const createdAt = new Date(start + n * 60_000).toISOString();
  const roleId = n % 50 === 0 ? 'db-ops' : n % 2 === 0 ? 'prod-readonly' : 'prod-admin';
  const subject = n % 100 === 7 ? 'alice' : `person${n % 100}`;
  const status = n % 20 === 3 ? 'pending' : STATUSES[n % STATUSES.length]!;
  return {
    id: `req_${ulid(start + n * 60_000)}`,
    roleId,
    accountId: '123456789012',
    roleArn: `arn:aws:iam::123456789012:role/breakglass-${roleId}`,
    requester: { subject, email: `${subject}@example.com` },
    requesterGroups: ['sre'],
    reason: `seeded request ${n}`,
    ticket: null,
    emergency: false,
    durationMinutes: 60,
    startAt: null,
    endAt: null,
    scheduled: false,
    status,
    approvalsRequired: 1,
    approvals: [],
    denial: null,
    cancellation: null,
    revocation: null,
    postReview: null,
    extension: null,
    extensions: [],
    pendingUntil: new Date(start + n * 60_000 + 3_600_000).toISOString(),
    endReason: null,
    createdAt,
    updatedAt: createdAt,
    version: 1,
  };
}

async function seed(stack: LocalStack, tableName: string, from: number, to: number, start: number) {
  for (let n = from; n < to; n += 25) {
    const batch = Array.from({ length: Math.min(25, to - n) }, (_, i) => ({
      PutRequest: { Item: requestItem(seeded(n + i, start)) },
    }));
    let pending: typeof batch | undefined = batch;
    while (pending && pending.length > 0) {
      const result = await stack.broker.dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[tableName] as typeof batch | undefined;
    }
  }
}

async function listLatency(stack: LocalStack, token: string): Promise<{ p50: number; items: number }> {
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < CALLS + WARMUP; i++) {
    const started = performance.now();
    const response = await fetch(`${stack.url}/v1/requests?limit=25`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await response.json()) as { items?: unknown[] };
    if (response.status !== 200) throw new Error(`list answered ${response.status}`);
    if (i >= WARMUP) times.push(performance.now() - started);
    items = body.items?.length ?? 0;
  }
  return { p50: percentile(times, 50), items };
}

export async function run(): Promise<void> {
  const config = benchConfig();
  config.roles.push({
    ...config.roles.find((role) => role.id === 'prod-readonly')!,
    id: 'db-ops',
    description: 'Database operations',
    roleArn: 'arn:aws:iam::123456789012:role/breakglass-db-ops',
    approvers: ['dba'],
    approverUsers: [],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-list-'));
  const tableName = 'breakglass';
  const stack = await startLocalStack({
    port: 0,
    dataDir,
    inMemory: true,
    config,
    logger: silentLogger,
    tableName,
    demoUsers: [
      ...DEMO_USERS,
      { name: 'dana', email: 'dana@example.com', groups: ['dba'], description: 'Approves db-ops' },
    ],
  });
  try {
    const tokens = Object.fromEntries(
      await Promise.all(CALLERS.map(async (c) => [c.user, await devToken(stack, c.user)] as const)),
    );
    const start = Date.now() - SIZES.at(-1)! * 60_000 - 3_600_000;
    const results = new Map<string, number[]>();
    let seededSoFar = 0;
    for (const size of SIZES) {
      await seed(stack, tableName, seededSoFar, size, start);
      seededSoFar = size;
      console.log(`\n${size} requests in the table; ${CALLS} first-page lists (limit 25) per caller, p50:`);
      for (const caller of CALLERS) {
        const { p50, items } = await listLatency(stack, tokens[caller.user]!);
        results.set(caller.kind, [...(results.get(caller.kind) ?? []), p50]);
        console.log(`  ${caller.kind.padEnd(28)} ${p50.toFixed(1).padStart(7)} ms  (${items} items)`);
      }
    }
    console.log(`\nlist p50 at ${SIZES[1]} vs ${SIZES[0]} requests (target: ≤ 2×):`);
    for (const [kind, [small = NaN, large = NaN]] of results) {
      const ratio = large / small;
      console.log(
        `  ${kind.padEnd(28)} ${small.toFixed(1)} → ${large.toFixed(1)} ms  ×${ratio.toFixed(2)}  ${ratio <= 2 ? 'ok' : 'MISSED'}`,
      );
    }
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
