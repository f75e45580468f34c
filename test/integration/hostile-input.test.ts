/**
 * Issue 13's hostile inputs that reach past the JSON API: web routes with absurd ids, web forms with hostile
 * text, tokens with a non-string `sub` or an `iat` in the future, and a client claiming another channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, auditEvents, TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { resign } from '../support/tokens.js';
import { useKnownCookieSecret, type WebSessionCookie, webSessionFor } from '../support/web-session.js';

const LONG_ID = `req_${'A'.repeat(3000)}`;

describe('hostile input beyond the JSON API', () => {
  let stack: TestStack;
  let secret: string;
  let alice: Api;
  let auditor: Api;
  let aliceWeb: WebSessionCookie;
  let bobWeb: WebSessionCookie;

  beforeAll(async () => {
    secret = useKnownCookieSecret();
    stack = await startTestStack({ config: testConfig(), demoUsers: TEST_USERS });
    alice = apiClient(stack, await tokenFor(stack, 'alice'));
    auditor = apiClient(stack, await tokenFor(stack, 'carol'));
    aliceWeb = await webSessionFor(stack.url, secret, 'alice', TEST_USERS);
    bobWeb = await webSessionFor(stack.url, secret, 'bob', TEST_USERS);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  function webPost(
    session: WebSessionCookie,
    path: string,
    form: Record<string, string>,
    accept = 'text/html',
  ) {
    return fetch(`${stack.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: session.cookie,
        origin: stack.url,
        accept,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: session.csrf, ...form }),
    });
  }

  it('the web session works at all (control)', async () => {
    const response = await fetch(`${stack.url}/`, {
      headers: { cookie: aliceWeb.cookie },
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['GET', '/requests/{long}', `/requests/${LONG_ID}`],
    ['GET', '/requests/%00%ff', '/requests/%00%ff'],
    ['POST', '/requests/{long}/approve', `/requests/${LONG_ID}/approve`],
    ['POST', '/requests/{long}/revoke', `/requests/${LONG_ID}/revoke`],
    ['POST', '/requests/{long}/deny', `/requests/${LONG_ID}/deny`],
  ])('%s %s with a 3,000-character or garbage id is a 4xx, not a 500', async (method, _label, path) => {
    for (const accept of ['text/html', 'application/json']) {
      const response =
        method === 'GET'
          ? await fetch(`${stack.url}${path}`, { headers: { cookie: bobWeb.cookie, accept } })
          : await webPost(bobWeb, path, { comment: 'ok', reason: 'ok' }, accept);
      expect(response.status, `${accept}: ${await response.clone().text()}`).toBe(400);
      if (accept === 'application/json') {
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(((await response.json()) as { code: string }).code).toBe('validation_failed');
      }
    }
  });

  it('web forms apply the text rule: bidi, zero-width and lone surrogates are refused with invalid_text', async () => {
    const created = await webPost(aliceWeb, '/requests', {
      roleId: 'prod-readonly',
      durationMinutes: '30',
      reason: 'update \u202etxt.exe\u202c now',
    });
    expect(created.status).toBe(400);
    expect(await created.text()).toContain('invalid_text');

    const ok = await alice<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'plain reason',
    });
    expect(ok.status).toBe(201);
    const approve = await webPost(bobWeb, `/requests/${ok.body.id}/approve`, { comment: 'ok\u200b' }, 'json');
    expect(approve.status).toBe(400);
    expect(((await approve.json()) as { code: string }).code).toBe('invalid_text');
    // The form (urlencoded) cannot carry a lone surrogate as such: it arrives as U+FFFD, which is text.
    const current = await alice<{ status: string; approvals: unknown[] }>(
      'GET',
      `/v1/requests/${ok.body.id}`,
    );
    expect(current.body.approvals).toEqual([]);
  });

  it('the new-request form carries an Idempotency-Key: submitting it twice creates one request', async () => {
    const page = await (
      await fetch(`${stack.url}/requests/new`, { headers: { cookie: aliceWeb.cookie } })
    ).text();
    const key = /name="idempotencyKey" value="([\w-]+)"/.exec(page)?.[1];
    expect(key).toMatch(/^web-/);
    const form = {
      roleId: 'prod-readonly',
      durationMinutes: '30',
      reason: 'double submit',
      idempotencyKey: key!,
    };
    const first = await webPost(aliceWeb, '/requests', form);
    const second = await webPost(aliceWeb, '/requests', form);
    expect([first.status, second.status]).toEqual([303, 303]);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const mine = await alice<{ items: Array<{ reason: string }> }>('GET', '/v1/requests?mine=true&limit=100');
    expect(mine.body.items.filter((item) => item.reason === 'double submit')).toHaveLength(1);
  });

  it('a caller who can see no role lists an empty page, and approvable is empty without a read', async () => {
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));
    for (const query of ['', '?approvable=true', '?status=pending', '?role=prod-readonly']) {
      const page = await erin<{ items: unknown[]; nextCursor: unknown }>('GET', `/v1/requests${query}`);
      expect([query, page.status, page.body.items, page.body.nextCursor]).toEqual([query, 200, [], null]);
    }
  });

  it('a token whose sub is not a non-empty string is invalid_token, and writes nothing', async () => {
    const real = await tokenFor(stack, 'alice');
    // Reading the trail writes the auditor's own audit.read; only other events count here.
    const notReads = (events: Array<{ type: string }>) =>
      events.filter((e) => e.type !== 'audit.read').length;
    const before = notReads(await auditEvents(auditor));
    for (const sub of [['alice'], '', 42, { id: 'alice' }]) {
      const forged = await resign(stack, real, { sub: sub as never });
      const response = await apiClient(stack, forged)('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: 'array sub',
      });
      expect([sub, response.status, (response.body as { code?: string }).code]).toEqual([
        sub,
        401,
        'invalid_token',
      ]);
    }
    expect(notReads(await auditEvents(auditor))).toBe(before);
  });

  it('a token issued in the future (beyond the clock tolerance) is invalid_token; within it, accepted', async () => {
    const real = await tokenFor(stack, 'alice');
    const now = Math.floor(Date.now() / 1000);
    const tolerance = stack.config.oidc.clockToleranceSeconds;
    const future = await resign(stack, real, { iat: now + tolerance + 600 });
    expect((await apiClient(stack, future)('GET', '/v1/me')).status).toBe(401);
    const slightlyAhead = await resign(stack, real, { iat: now + Math.max(1, Math.floor(tolerance / 2)) });
    expect((await apiClient(stack, slightlyAhead)('GET', '/v1/me')).status).toBe(200);
  });

  it('audit `via` is the channel the call arrived on: a bearer call claiming to be web is recorded as api', async () => {
    const claimed = await alice<{ id: string }>(
      'POST',
      '/v1/requests',
      { roleId: 'prod-readonly', durationMinutes: 30, reason: 'claims to be web' },
      { 'x-breakglass-client': 'web' },
    );
    expect(claimed.status).toBe(201);
    const slack = await alice<{ id: string }>(
      'POST',
      '/v1/requests',
      { roleId: 'prod-readonly', durationMinutes: 30, reason: 'claims to be slack' },
      { 'x-breakglass-client': 'slack' },
    );
    const events = await auditEvents(auditor);
    const via = (id: string) =>
      events.find((event) => event.requestId === id && event.type === 'request.created')?.actor;
    expect(via(claimed.body.id)).toMatchObject({ via: 'api' });
    expect(via(slack.body.id)).toMatchObject({ via: 'api' });
  });
});
