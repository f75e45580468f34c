/**
 * The approver web pages in real headless Chromium against a real local stack: the development OIDC provider's
 * login page, DynamoDB Local, and the same RequestService rules as the API.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../api/http/web/session.js';
import { CHROMIUM_PATH, launchChromium } from '../support/browser.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const SHOTS = join(process.cwd(), 'test-results', 'web');

describe('safe return paths after login (no open redirects)', () => {
  const base = 'http://127.0.0.1:8787';
  it.each([
    ['/requests/req_1?x=1', '/requests/req_1?x=1'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/auth/callback?code=x', '/'],
    ['/a\nb', '/'],
    [undefined, '/'],
  ])('%s → %s', (input, expected) => {
    expect(safeReturnTo(input, base)).toBe(expected);
  });
});

describe.skipIf(!existsSync(CHROMIUM_PATH))('approver web pages in headless Chromium', () => {
  let stack: TestStack;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await startTestStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function createRequest(roleId: string, reason: string): Promise<string> {
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const created = await alice<{ id: string; status: string }>('POST', '/v1/requests', {
      roleId,
      durationMinutes: 30,
      reason,
      ticket: 'INC-7',
    });
    expect(created.status).toBe(201);
    return created.body.id;
  }

  /** Opens `path`, is sent through the provider's real login form, and lands back on `path`. */
  async function signIn(user: string, path: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.url}${path}`);
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\//);
    await page.fill('input[name=login]', user);
    await page.fill('input[name=password]', 'any password');
    await Promise.all([page.waitForURL(`${stack.url}${path}`), page.click('button[type=submit]')]);
    return { context, page };
  }

  async function auditTypes(): Promise<
    Array<{ type: string; actor: { email?: string }; data: { code?: string } }>
  > {
    const carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const events = await carol<string>('GET', '/v1/audit/events?format=jsonl');
    return String(events.body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  it('bob signs in through the provider from a deep link, approves alice’s request and sees it become active', async () => {
    const id = await createRequest('prod-readonly', 'look at the failing batch job');
    const { context, page } = await signIn('bob', `/requests/${id}`);

    expect(await page.locator('h1').textContent()).toContain('prod-readonly for alice@example.com');
    expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('pending');
    expect(await page.locator('a[href="https://tracker.example.com/browse/INC-7"]').count()).toBe(1);
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'bg_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    // The cookie is encrypted: no email or group in it.
    expect(session?.value).not.toContain('bob');

    await page.screenshot({ path: join(SHOTS, 'request-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SHOTS, 'request-phone.png'), fullPage: true });
    // Readable on a phone: nothing wider than the screen.
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);

    await page.fill('#approve-comment', 'go ahead');
    await Promise.all([page.waitForURL(/done=approve/), page.click('#approve')]);
    expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('active');
    expect(await page.locator('[role=status]').textContent()).toContain('approval was recorded');
    expect(await page.locator('ol.timeline').textContent()).toContain('grant activated');
    expect(await page.locator('#approve').count()).toBe(0);

    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const stored = await bob<{
      status: string;
      approvals: Array<{ via: string; approver: { email: string } }>;
    }>('GET', `/v1/requests/${id}`);
    expect(stored.body.status).toBe('active');
    expect(stored.body.approvals).toEqual([
      expect.objectContaining({
        via: 'web',
        approver: expect.objectContaining({ email: 'bob@example.com' }),
      }),
    ]);
    await context.close();
  });

  it('alice sees no approve button on her own request; forged and CSRF-less POSTs are refused and recorded', async () => {
    const id = await createRequest('prod-admin', 'rotate the database credentials');
    const { context, page } = await signIn('alice', `/requests/${id}`);
    expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('pending');
    expect(await page.locator('#approve').count()).toBe(0);
    expect(await page.locator('#deny').count()).toBe(0);
    expect(await page.locator('#cancel').count()).toBe(1);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    expect(csrf.length).toBeGreaterThan(20);

    const post = (form: Record<string, string>, origin = stack.url) =>
      context.request.post(`${stack.url}/requests/${id}/approve`, {
        form,
        headers: { origin, accept: 'application/json' },
        maxRedirects: 0,
      });

    const forged = await post({ _csrf: csrf, comment: 'self' });
    expect(forged.status()).toBe(403);
    expect((await forged.json()).code).toBe('self_approval');

    const missing = await post({ comment: 'no token' });
    expect(missing.status()).toBe(403);
    expect((await missing.json()).code).toBe('csrf_failed');

    const wrong = await post({ _csrf: `${csrf.slice(0, -2)}xx`, comment: 'wrong token' });
    expect(wrong.status()).toBe(403);
    expect((await wrong.json()).code).toBe('csrf_failed');

    const crossSite = await post({ _csrf: csrf }, 'https://evil.example');
    expect(crossSite.status()).toBe(403);
    expect((await crossSite.json()).code).toBe('csrf_failed');

    // The session opens audit GETs only to auditors, and never stands in for a bearer token on writes.
    const audit = await context.request.get(`${stack.url}/v1/audit/verify`);
    expect(audit.status()).toBe(403);
    const apiWrite = await context.request.post(`${stack.url}/v1/requests/${id}/approve`, {
      data: {},
      headers: { origin: stack.url },
    });
    expect(apiWrite.status()).toBe(401);

    const after = await apiClient(stack, await tokenFor(stack, 'alice'))<{
      status: string;
      approvals: unknown[];
    }>('GET', `/v1/requests/${id}`);
    expect(after.body.status).toBe('pending');
    expect(after.body.approvals).toHaveLength(0);

    const refusals = (await auditTypes()).filter(
      (event) => event.type === 'access.forbidden' && event.actor.email === 'alice@example.com',
    );
    expect(refusals.map((event) => event.data.code)).toEqual(
      expect.arrayContaining(['self_approval', 'csrf_failed', 'csrf_failed', 'csrf_failed']),
    );
    await context.close();
  });

  it('logout ends the session, even for a copy of the old cookie', async () => {
    const { context, page } = await signIn('carol', '/audit');
    expect(await page.locator('#verify-result').getAttribute('data-ok')).toBe('true');
    // The page's export links: read-only audit GETs accept the browser session.
    const csv = await context.request.get(`${stack.url}/v1/audit/events?format=csv`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect(await page.locator('a[href="/v1/audit/report"]').count()).toBe(1);
    const before = (await context.cookies()).find((cookie) => cookie.name === 'bg_session');
    expect(before).toBeDefined();

    await page.click('#logout');
    expect(await page.locator('h1').textContent()).toBe('Signed out');
    expect((await context.cookies()).find((cookie) => cookie.name === 'bg_session')).toBeUndefined();

    const replay = await fetch(`${stack.url}/`, {
      headers: { cookie: `bg_session=${before!.value}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/);
    await context.close();
  });

  it('a person without a session is sent to login, and pages carry the security headers', async () => {
    const response = await fetch(`${stack.url}/requests/new`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Frequests%2Fnew');
    const login = await fetch(`${stack.url}/auth/login?returnTo=https://evil.example/`, {
      redirect: 'manual',
    });
    expect(login.status).toBe(302);
    const provider = new URL(login.headers.get('location')!);
    expect(provider.searchParams.get('code_challenge_method')).toBe('S256');
    expect(provider.searchParams.get('state')).toBeTruthy();
    expect(provider.searchParams.get('nonce')).toBeTruthy();
    const css = await fetch(`${stack.url}/assets/app.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    const csp = css.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(css.headers.get('x-content-type-options')).toBe('nosniff');
    const noSession = await fetch(`${stack.url}/requests/x/approve`, {
      method: 'POST',
      body: new URLSearchParams({}),
    });
    expect(noSession.status).toBe(401);
    expect(((await noSession.json()) as { code: string }).code).toBe('login_required');
  });

  it('alice asks for access through the form', async () => {
    const { context, page } = await signIn('alice', '/requests/new');
    await page.selectOption('#roleId', 'prod-readonly');
    await page.fill('#duration', '45');
    await page.fill('#reason', 'check the replica lag');
    await Promise.all([page.waitForURL(/done=created/), page.click('#submit-request')]);
    expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('pending');
    expect(await page.locator('dl.facts').textContent()).toContain('45 min');
    await page.goto(`${stack.url}/`);
    expect(await page.locator('section[aria-labelledby=mine]').textContent()).toContain(
      'check the replica lag',
    );
    await context.close();
  });
});
