/**
 * Rate limits: a person's legitimate burst of 100 calls passes; refused calls are limited much tighter, answer
 * 429 problem+json with Retry-After, and past the limit are recorded as one `access.throttled` event per
 * principal and window carrying the count, not one `access.forbidden` each; unauthenticated callers are limited
 * per address. Counters live in DynamoDB Local (store: dynamodb), as in a Lambda deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, auditEvents, TEST_USERS, tally, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { useKnownCookieSecret, webSessionFor } from '../support/web-session.js';

const WINDOW = 10;

describe('rate limits', () => {
  let stack: TestStack;
  let auditor: Api;
  let cookieSecret: string;
  const LIMITS = {
    windowSeconds: WINDOW,
    perPrincipal: 150,
    refusedPerPrincipal: 10,
    perIp: 15,
    store: 'dynamodb' as const,
  };

  beforeAll(async () => {
    cookieSecret = useKnownCookieSecret();
    stack = await startTestStack({
      config: testConfig(),
      demoUsers: TEST_USERS,
      limits: {
        windowSeconds: WINDOW,
        perPrincipal: 150,
        refusedPerPrincipal: 10,
        perIp: 15,
        store: 'dynamodb',
      },
    });
    auditor = apiClient(stack, await tokenFor(stack, 'carol'));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Waits for the start of a fresh window, so a burst is not split across two. */
  async function freshWindow() {
    const ms = WINDOW * 1000;
    await new Promise((resolve) => setTimeout(resolve, ms - (Date.now() % ms) + 20));
  }

  it('a burst of 100 legitimate calls by one person all pass', async () => {
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    // Warm the identity provider's key set first: a cold burst is a separate (known) weakness, see the report.
    expect((await alice('GET', '/v1/me')).status).toBe(200);
    await freshWindow();
    const statuses = await Promise.all(Array.from({ length: 100 }, () => alice('GET', '/v1/me')));
    expect(
      tally(
        statuses.map((response) => `${response.status}:${(response.body as { code?: string }).code ?? ''}`),
      ),
    ).toEqual({ '200:': 100 });
  });

  it('refused calls past the limit get 429 with Retry-After and one access.throttled event with the count', async () => {
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));
    const body = { roleId: 'prod-readonly', durationMinutes: 30, reason: 'not allowed' };
    await freshWindow();
    const started = new Date();
    const responses = [];
    for (let i = 0; i < 25; i++) responses.push(await erin('POST', '/v1/requests', body));
    expect(tally(responses.map((response) => response.status))).toEqual({ 403: 10, 429: 15 });
    const limited = responses.at(-1)!;
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body).toMatchObject({ code: 'rate_limited', status: 429 });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW);

    // Once the window has closed, its report is in the trail: one event, the count, no access.forbidden flood.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 500));
    const events = (await auditEvents(auditor)).filter(
      (event) =>
        event.actor.type === 'user' && event.actor.subject === 'erin' && event.time >= started.toISOString(),
    );
    expect(tally(events.map((event) => event.type))).toEqual({
      'access.forbidden': 10,
      'access.throttled': 1,
    });
    expect(events.find((event) => event.type === 'access.throttled')?.data).toMatchObject({
      kind: 'refused',
      count: 15,
      limit: 10,
      windowSeconds: WINDOW,
    });
    // The next window starts afresh.
    expect((await erin('POST', '/v1/requests', body)).status).toBe(403);
  }, 30_000);

  it('one person flooding refusals does not slow or stop another person', async () => {
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));
    await freshWindow();
    await Promise.all(
      Array.from({ length: 50 }, () => erin('GET', '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D')),
    );
    const created = await alice('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'x-incident',
    });
    expect(created.status).toBe(201);
  });

  it('unauthenticated callers are limited per address: refused tokens, then login', async () => {
    await freshWindow();
    const anonymous = apiClient(stack, 'not.a.token');
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await anonymous('GET', '/v1/me')).status);
    expect(tally(statuses)).toEqual({ 401: 15, 429: 5 });
    await freshWindow();
    const logins = [];
    for (let i = 0; i < 20; i++) {
      logins.push((await fetch(`${stack.url}/auth/login`, { redirect: 'manual' })).status);
    }
    expect(logins.filter((status) => status === 429)).toHaveLength(5);
    const slack = await fetch(`${stack.url}/slack/interactions`, { method: 'POST', body: 'payload=x' });
    expect([429, 401, 404]).toContain(slack.status);
  }, 30_000);

  it('web form posts spend the same per-person budget: refused ones are limited like API calls', async () => {
    const erin = await webSessionFor(stack.url, cookieSecret, 'erin', TEST_USERS);
    await freshWindow();
    const statuses = [];
    for (let i = 0; i < 15; i++) {
      const response = await fetch(`${stack.url}/requests`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: erin.cookie,
          origin: stack.url,
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          _csrf: erin.csrf,
          roleId: 'prod-readonly',
          durationMinutes: '30',
          reason: 'form flood',
        }),
      });
      statuses.push(response.status);
    }
    expect(tally(statuses)).toEqual({ 403: 10, 429: 5 });
  }, 30_000);

  it('the identity provider token endpoint is limited per address', async () => {
    await freshWindow();
    const statuses = [];
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${stack.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'x',
          client_id: 'breakglass-cli',
        }),
      });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    }
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    expect(statuses.slice(0, 15).every((status) => status !== 429)).toBe(true);
  }, 30_000);

  it('a window’s report owed when the broker stops is written after the restart, once, with the count', async () => {
    const first = await startTestStack({ config: testConfig(), demoUsers: TEST_USERS, limits: LIMITS });
    const erin = apiClient(first, await tokenFor(first, 'erin'));
    const body = { roleId: 'prod-readonly', durationMinutes: 30, reason: 'not allowed' };
    await freshWindow();
    const started = new Date().toISOString();
    const statuses = [];
    for (let i = 0; i < 14; i++) statuses.push((await erin('POST', '/v1/requests', body)).status);
    expect(tally(statuses)).toEqual({ 403: 10, 429: 4 });
    // Stopped inside the window: nothing to report yet, and nothing may be lost.
    await first.stop();

    const second = await startTestStack({
      config: testConfig(),
      demoUsers: TEST_USERS,
      limits: LIMITS,
      tableName: first.tableName,
    });
    try {
      await freshWindow();
      const task = second.broker.sweepTasks.find((candidate) => candidate.name === 'throttle-reports')!;
      await task.run();
      await task.run();
      const carol = apiClient(second, await tokenFor(second, 'carol'));
      const events = (await auditEvents(carol)).filter(
        (event) => event.type === 'access.throttled' && event.time >= started,
      );
      expect(events).toHaveLength(1);
      expect(events[0]?.actor).toMatchObject({ subject: 'erin' });
      expect(events[0]?.data).toMatchObject({ kind: 'refused', count: 4, limit: 10, windowSeconds: WINDOW });
    } finally {
      await second.stop();
    }
  }, 60_000);
});
