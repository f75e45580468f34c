import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../api/local/stack.js';
import { auditEvents, SIDE_EFFECT_EVENT } from '../support/fixtures.js';
import { apiClient, startTestStack, tokenFor } from '../support/stack.js';

describe('the core flow against DynamoDB Local and the development OIDC provider', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('alice requests prod-admin, bob and dave approve, the grant becomes active and the chain verifies', async () => {
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const dave = apiClient(stack, await tokenFor(stack, 'dave'));
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));

    const created = await alice<{ id: string; status: string }>('POST', '/v1/requests', {
      roleId: 'prod-admin',
      durationMinutes: 60,
      reason: 'database failover',
      ticket: 'INC-42',
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');
    const id = created.body.id;

    const first = await bob<{ status: string; approvals: unknown[] }>(
      'POST',
      `/v1/requests/${id}/approve`,
      {},
    );
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('pending');
    expect(first.body.approvals).toHaveLength(1);

    const self = await alice<{ code: string }>('POST', `/v1/requests/${id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('self_approval');

    const second = await dave<{ status: string; endAt: string }>('POST', `/v1/requests/${id}/approve`);
    expect(second.status).toBe(200);
    expect(second.body.status).toBe('active');

    const refused = await erin<{ code: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'curious',
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('not_requester');

    const verify = await carol<{ ok: boolean; lastSeq: number }>('GET', '/v1/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body.ok).toBe(true);

    const types = (await auditEvents(carol))
      .map((event) => event.type)
      .filter((type) => !SIDE_EFFECT_EVENT.test(type));
    expect(types).toEqual([
      'request.created',
      'approval.recorded',
      'access.forbidden',
      'approval.recorded',
      'request.approved',
      'grant.activated',
      'access.forbidden',
    ]);
    expect(verify.body.lastSeq).toBeGreaterThanOrEqual(7);
  });
});
