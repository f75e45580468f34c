/** Shared fixtures for the integration suites: a test policy, extra people and audit-trail helpers. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { exampleConfigPath, parseConfig } from '../../api/config/load.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { DEMO_USERS, type DemoUser } from '../../api/local/demo-users.js';
import type { apiClient } from './stack.js';

export type Api = ReturnType<typeof apiClient>;

/**
 * The example policy with times short enough that a whole lifecycle fits inside one real access token's
 * lifetime (60 minutes), plus roles that need three approvals (races) and none (auto-approval).
 */
export function testConfig(change: (raw: Record<string, unknown>) => void = () => {}): BreakglassConfig {
  const raw = parse(readFileSync(exampleConfigPath, 'utf8')) as Record<string, unknown> & {
    defaults: { pendingTimeout: string };
    roles: Array<Record<string, unknown>>;
  };
  raw.defaults.pendingTimeout = '20m';
  const admin = raw.roles.find((role) => role.id === 'prod-admin')!;
  admin.emergency = { allowed: true, postReviewWithin: '30m' };
  raw.roles.push(
    {
      id: 'prod-triple',
      description: 'Needs three approvals',
      accountId: '123456789012',
      roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-triple',
      requesters: ['sre'],
      approvers: ['sre-leads'],
      approvalsRequired: 3,
      maxDuration: '4h',
    },
    {
      id: 'sandbox-auto',
      description: 'Approved as soon as it is asked for',
      accountId: '210987654321',
      roleArn: 'arn:aws:iam::210987654321:role/breakglass-sandbox',
      requesters: ['sre'],
      approvalsRequired: 0,
      maxDuration: '2h',
    },
  );
  change(raw);
  return parseConfig(raw, 'test config');
}

/** A requester who is not alice (to tell "own request" from "any requester"). */
export const SAM: DemoUser = {
  name: 'sam',
  email: 'sam@example.com',
  groups: ['sre'],
  description: 'Another SRE',
};

/** approver01 … approverNN, all in sre-leads. */
export function approvers(count: number): DemoUser[] {
  return Array.from({ length: count }, (_, index) => {
    const name = `approver${String(index + 1).padStart(2, '0')}`;
    return { name, email: `${name}@example.com`, groups: ['sre-leads'], description: 'Race approver' };
  });
}

export const TEST_USERS: readonly DemoUser[] = [...DEMO_USERS, SAM, ...approvers(20)];

/** True for a line of the JSONL export that is an audit event (not its boundary or end line). */
export function isAuditEvent(line: unknown): line is AuditEvent {
  const value = line as Partial<AuditEvent> | null;
  return (
    typeof value?.seq === 'number' &&
    typeof value.hash === 'string' &&
    typeof value.type === 'string' &&
    !value.type.startsWith('export.')
  );
}

/** The stored audit events (from `fromSeq` on), through the auditor's JSONL export. */
export async function auditEvents(auditor: Api, fromSeq = 1): Promise<AuditEvent[]> {
  const response = await auditor<string>('GET', '/v1/audit/events?format=jsonl');
  if (response.status !== 200) throw new Error(`audit export failed: ${response.status}`);
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as unknown)
    .filter(isAuditEvent)
    .filter((event) => event.seq >= fromSeq);
}

/**
 * Events other capabilities write after a change commits (schedules, IAM revocation, notifications), outside
 * the transaction, and the `audit.read` that reading the trail through an auditor writes; lifecycle assertions
 * leave them out so they state exactly what the transition wrote.
 */
export const SIDE_EFFECT_EVENT =
  /^(schedule|revocation|notification|credentials|console|bunker)\.|^audit\.read$/;

/** The lifecycle event types recorded for one request, in chain order. */
export async function eventTypesFor(auditor: Api, requestId: string, fromSeq?: number): Promise<string[]> {
  return (await auditEvents(auditor, fromSeq))
    .filter((event) => event.requestId === requestId && !SIDE_EFFECT_EVENT.test(event.type))
    .map((event) => event.type);
}

/** Counts values: `{ 200: 3, 409: 17 }`. */
export function tally<T extends string | number>(values: T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return counts;
}
