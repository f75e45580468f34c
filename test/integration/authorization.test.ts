/**
 * Who may do what (DESIGN.md's actor table) with real tokens: a role matrix per route, where every refusal is
 * a 403 with a stable code, leaves the request untouched and writes exactly one `access.forbidden` event;
 * visibility, list filters and cursor pagination; and `oidc.requireMfa`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/domain/types.js';
import { type Api, auditEvents, SIDE_EFFECT_EVENT, TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

type Req = AccessRequest & { url: string };
type Who = 'alice' | 'sam' | 'bob' | 'dave' | 'carol' | 'pat' | 'erin';
const PEOPLE: Who[] = ['alice', 'sam', 'bob', 'dave', 'carol', 'pat', 'erin'];

/** Fixtures the matrix acts on; created once, never changed by a refused call. */
type Target = 'pending' | 'active' | 'emergency' | 'none';

interface Case {
  who: Who;
  method: 'GET' | 'POST';
  path: string;
  target: Target;
  body?: unknown;
  code: string;
}

const refusals: Case[] = [
  ...(['erin', 'carol', 'bob', 'pat'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests',
      target: 'none',
      body: { roleId: 'prod-readonly', durationMinutes: 30, reason: 'incident' },
      code: 'not_requester',
    }),
  ),
  ...(['erin', 'sam'] as const).map(
    (who): Case => ({ who, method: 'GET', path: '/v1/requests/{id}', target: 'pending', code: 'forbidden' }),
  ),
  {
    who: 'alice',
    method: 'POST',
    path: '/v1/requests/{id}/approve',
    target: 'pending',
    body: {},
    code: 'self_approval',
  },
  ...(['sam', 'carol', 'pat', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/approve',
      target: 'pending',
      body: {},
      code: 'not_approver',
    }),
  ),
  {
    who: 'alice',
    method: 'POST',
    path: '/v1/requests/{id}/deny',
    target: 'pending',
    body: { comment: 'no' },
    code: 'self_approval',
  },
  ...(['sam', 'carol', 'pat', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/deny',
      target: 'pending',
      body: { comment: 'no' },
      code: 'not_approver',
    }),
  ),
  ...(['bob', 'sam', 'pat', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/cancel',
      target: 'pending',
      code: 'forbidden',
    }),
  ),
  ...(['sam', 'carol', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/revoke',
      target: 'active',
      body: { reason: 'stop' },
      code: 'forbidden',
    }),
  ),
  ...(['bob', 'sam', 'pat', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/extend',
      target: 'active',
      body: { durationMinutes: 10, reason: 'more' },
      code: 'forbidden',
    }),
  ),
  {
    who: 'alice',
    method: 'POST',
    path: '/v1/requests/{id}/review',
    target: 'emergency',
    body: { outcome: 'acknowledged', comment: 'ok' },
    code: 'self_approval',
  },
  ...(['sam', 'carol', 'pat', 'erin'] as const).map(
    (who): Case => ({
      who,
      method: 'POST',
      path: '/v1/requests/{id}/review',
      target: 'emergency',
      body: { outcome: 'acknowledged', comment: 'ok' },
      code: 'not_approver',
    }),
  ),
  ...(['alice', 'bob', 'pat', 'erin'] as const).flatMap((who): Case[] => [
    { who, method: 'GET', path: '/v1/audit/events?format=jsonl', target: 'none', code: 'forbidden' },
    { who, method: 'GET', path: '/v1/audit/verify', target: 'none', code: 'forbidden' },
  ]),
];

describe('authorization with real tokens', () => {
  let stack: TestStack;
  const api = {} as Record<Who, Api>;
  const ids = {} as Record<Exclude<Target, 'none'>, string>;
  const created: Array<{ id: string; by: Who; roleId: string; status: string }> = [];

  async function create(who: Who, body: Record<string, unknown>): Promise<Req> {
    const response = await api[who]<Req>('POST', '/v1/requests', { reason: 'incident response', ...body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    created.push({
      id: response.body.id,
      by: who,
      roleId: response.body.roleId,
      status: response.body.status,
    });
    return response.body;
  }

  beforeAll(async () => {
    stack = await startTestStack({ config: testConfig(), demoUsers: TEST_USERS });
    for (const who of PEOPLE) api[who] = apiClient(stack, await tokenFor(stack, who));
    ids.pending = (await create('alice', { roleId: 'prod-admin', durationMinutes: 60, ticket: 'INC-1' })).id;
    ids.active = (await create('alice', { roleId: 'sandbox-auto', durationMinutes: 60 })).id;
    ids.emergency = (
      await create('alice', { roleId: 'prod-admin', durationMinutes: 60, ticket: 'INC-2', emergency: true })
    ).id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe.each(refusals.map((c) => [`${c.who} ${c.method} ${c.path} (${c.target})`, c] as const))(
    '%s',
    (_name, c) => {
      it(`→ 403 ${c.code}, nothing changes, one access.forbidden event`, async () => {
        const target = c.target === 'none' ? undefined : ids[c.target];
        const before = target ? await stack.broker.store.getRequest(target) : null;
        const head = (await stack.broker.store.chainHead()).seq;

        const response = await api[c.who]<{ code: string; status: number }>(
          c.method,
          c.path.replace('{id}', target ?? ''),
          c.body,
        );
        expect(response.status).toBe(403);
        expect(response.body.code).toBe(c.code);
        expect(response.headers.get('content-type')).toContain('application/problem+json');

        if (target) expect(await stack.broker.store.getRequest(target)).toEqual(before);
        const written = (await auditEvents(api.carol, head + 1)).filter(
          (e) => !SIDE_EFFECT_EVENT.test(e.type),
        );
        expect(written).toHaveLength(1);
        expect(written[0]).toMatchObject({
          type: 'access.forbidden',
          actor: { type: 'user', email: `${c.who}@example.com` },
          data: { code: c.code },
          ...(target ? { requestId: target } : {}),
        });
      });
    },
  );

  it.each([
    ['alice', 'own request'],
    ['bob', 'approver of the role'],
    ['dave', 'approver of the role'],
    ['carol', 'auditor'],
    ['pat', 'admin'],
  ] as const)('GET /v1/requests/{id} is allowed for %s (%s)', async (who, _why) => {
    const response = await api[who]<Req>('GET', `/v1/requests/${ids.pending}`);
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(ids.pending);
  });

  it.each([
    ['alice', 'the requester'],
    ['bob', 'an approver of the role'],
    ['pat', 'an admin'],
  ] as const)('revoke is allowed for %s (%s)', async (who, _why) => {
    const grant = await create('alice', { roleId: 'prod-readonly', durationMinutes: 30 });
    expect((await api.dave<Req>('POST', `/v1/requests/${grant.id}/approve`)).body.status).toBe('active');
    const response = await api[who]<Req>('POST', `/v1/requests/${grant.id}/revoke`, { reason: 'done' });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('revoked');
    expect(response.body.revocation?.by.email).toBe(`${who}@example.com`);
  });

  it('only auditors read and verify the audit log', async () => {
    const verify = await api.carol('GET', '/v1/audit/verify');
    expect(verify.body, JSON.stringify(verify.body)).toMatchObject({ ok: true });
    expect((await api.carol<string>('GET', '/v1/audit/events?format=jsonl')).status).toBe(200);
  });

  it('/v1/me and /v1/roles say what each person may do', async () => {
    const me = async (who: Who) =>
      (
        await api[who]<{ canRequest: string[]; canApprove: string[]; auditor: boolean; admin: boolean }>(
          'GET',
          '/v1/me',
        )
      ).body;
    expect(await me('alice')).toMatchObject({ auditor: false, admin: false, canApprove: [] });
    expect((await me('alice')).canRequest).toContain('prod-admin');
    expect((await me('bob')).canApprove).toEqual(['prod-admin', 'prod-readonly', 'prod-triple']);
    expect(await me('carol')).toMatchObject({ auditor: true, admin: false, canRequest: [] });
    expect(await me('pat')).toMatchObject({ auditor: false, admin: true, canRequest: [] });
    expect(await me('erin')).toMatchObject({ auditor: false, admin: false, canRequest: [], canApprove: [] });
    expect((await api.erin<{ roles: unknown[] }>('GET', '/v1/roles')).body.roles).toEqual([]);
    const roles = (await api.alice<{ roles: Array<{ id: string }> }>('GET', '/v1/roles')).body.roles;
    expect(roles.map((role) => role.id)).toContain('prod-readonly');
  });

  describe('listing', () => {
    /** Walks every page; fails on a duplicate. */
    async function walk(who: Who, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response: { status: number; body: { items: Req[]; nextCursor: string | null } } = await api[
          who
        ](
          'GET',
          `/v1/requests?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        expect(response.body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...response.body.items.map((item) => item.id));
        cursor = response.body.nextCursor;
        pages += 1;
        expect(pages).toBeLessThan(100);
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      return { ids: seen, pages };
    }

    beforeAll(async () => {
      for (let index = 0; index < 7; index++) {
        await create('alice', { roleId: 'prod-readonly', durationMinutes: 30 + index });
      }
      await create('sam', { roleId: 'prod-readonly', durationMinutes: 30 });
      await create('sam', { roleId: 'prod-admin', durationMinutes: 30, ticket: 'INC-9' });
    });

    const sorted = (values: string[]) => [...values].sort();

    it('mine=true pages through exactly the caller’s own requests, newest first, without gaps or repeats', async () => {
      const { ids: mine, pages } = await walk('alice', 'mine=true', 3);
      const expected = created.filter((c) => c.by === 'alice').map((c) => c.id);
      expect(sorted(mine)).toEqual(sorted(expected));
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 3));
      expect(mine).toEqual([...mine].sort().reverse()); // ULIDs: newest first
      expect(sorted((await walk('sam', 'mine=true', 1)).ids)).toEqual(
        sorted(created.filter((c) => c.by === 'sam').map((c) => c.id)),
      );
    });

    it('without filters each caller sees exactly what they may view', async () => {
      const all = created.map((c) => c.id);
      expect(sorted((await walk('carol', 'mine=false', 4)).ids)).toEqual(sorted(all));
      expect(sorted((await walk('pat', 'mine=false', 50)).ids)).toEqual(sorted(all));
      // bob approves every role but sandbox-auto (which has no approvers); requesters see only their own.
      expect(sorted((await walk('bob', 'mine=false', 5)).ids)).toEqual(
        sorted(created.filter((c) => c.roleId !== 'sandbox-auto').map((c) => c.id)),
      );
      expect(sorted((await walk('sam', 'mine=false', 2)).ids)).toEqual(
        sorted(created.filter((c) => c.by === 'sam').map((c) => c.id)),
      );
      expect((await walk('erin', 'mine=false', 10)).ids).toEqual([]);
    });

    it('status and role filters, alone and together, across pages', async () => {
      const current = await Promise.all(
        created.map(async (c) => (await stack.broker.store.getRequest(c.id))!),
      );
      const pendingIds = current.filter((r) => r.status === 'pending').map((r) => r.id);
      expect(pendingIds.length).toBeGreaterThan(5);
      expect(sorted((await walk('carol', 'status=pending', 2)).ids)).toEqual(sorted(pendingIds));
      expect(sorted((await walk('carol', 'role=prod-readonly', 3)).ids)).toEqual(
        sorted(current.filter((r) => r.roleId === 'prod-readonly').map((r) => r.id)),
      );
      expect(sorted((await walk('alice', 'status=pending&role=prod-admin', 1)).ids)).toEqual(
        sorted(
          current
            .filter(
              (r) =>
                r.status === 'pending' && r.roleId === 'prod-admin' && r.requester.email.startsWith('alice'),
            )
            .map((r) => r.id),
        ),
      );
    });

    it('approvable lists what waits for this approver, and an approval moves it off their list only', async () => {
      const before = (await walk('bob', 'approvable=true', 100)).ids;
      const target = created.find((c) => c.by === 'sam' && c.roleId === 'prod-admin')!.id;
      expect(before).toContain(target);
      expect(before).not.toContain(ids.active);
      expect((await api.bob<Req>('POST', `/v1/requests/${target}/approve`)).body.status).toBe('pending');
      expect((await walk('bob', 'approvable=true', 100)).ids).not.toContain(target);
      expect((await walk('dave', 'approvable=true', 100)).ids).toContain(target);
      // Requesters never see their own requests as approvable; non-approvers see nothing.
      expect((await walk('sam', 'approvable=true', 100)).ids).toEqual([]);
      expect((await walk('carol', 'approvable=true', 100)).ids).toEqual([]);
    });

    it.each([
      ['garbage', 'not-a-cursor'],
      ['base64 of something else', Buffer.from('{"i":"byCreated","k":{"pk":{"S":1}}}').toString('base64url')],
    ])('a %s cursor is 400 invalid_cursor', async (_name, cursor) => {
      const response = await api.carol<{ code: string }>('GET', `/v1/requests?cursor=${cursor}`);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_cursor');
    });

    it('a cursor from one listing is refused by another', async () => {
      const page = await api.alice<{ nextCursor: string }>('GET', '/v1/requests?mine=true&limit=1');
      expect(page.body.nextCursor).toBeTruthy();
      const response = await api.alice<{ code: string }>(
        'GET',
        `/v1/requests?status=pending&cursor=${page.body.nextCursor}`,
      );
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_cursor');
    });
  });
});

describe('oidc.requireMfa', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      config: testConfig((raw) => {
        (raw.oidc as Record<string, unknown>).requireMfa = true;
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('approve and emergency access refuse a token whose amr shows no MFA; plain requests do not need it', async () => {
    const aliceNoMfa = apiClient(stack, await tokenFor(stack, 'alice', { mfa: false }));
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bobNoMfa = apiClient(stack, await tokenFor(stack, 'bob', { mfa: false }));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    expect((await bobNoMfa<{ mfa: boolean }>('GET', '/v1/me')).body.mfa).toBe(false);
    expect((await bob<{ mfa: boolean }>('GET', '/v1/me')).body.mfa).toBe(true);

    const request = await aliceNoMfa<Req>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'incident',
    });
    expect(request.status).toBe(201);

    const head = (await stack.broker.store.chainHead()).seq;
    const refused = await bobNoMfa<{ code: string }>('POST', `/v1/requests/${request.body.id}/approve`, {});
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('mfa_required');
    expect((await auditEvents(carol, head + 1)).filter((e) => !SIDE_EFFECT_EVENT.test(e.type))).toMatchObject(
      [{ type: 'access.forbidden', actor: { email: 'bob@example.com' }, data: { code: 'mfa_required' } }],
    );
    expect((await bob<Req>('POST', `/v1/requests/${request.body.id}/approve`, {})).body.status).toBe(
      'active',
    );

    const emergency = {
      roleId: 'prod-admin',
      durationMinutes: 30,
      reason: 'outage',
      ticket: 'INC-3',
      emergency: true,
    };
    const noMfa = await aliceNoMfa<{ code: string }>('POST', '/v1/requests', emergency);
    expect(noMfa.status).toBe(403);
    expect(noMfa.body.code).toBe('mfa_required');
    expect((await alice<Req>('POST', '/v1/requests', emergency)).body.status).toBe('active');
  });
});
