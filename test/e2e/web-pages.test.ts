/**
 * Every page for every actor in real headless Chromium (Debian's, via playwright-core) against a real local
 * stack, at desktop and phone sizes: screenshots kept under test-results/web-pages/, and axe-core run inside
 * each page with zero serious or critical violations (results printed). Sessions are sealed with the stack's
 * cookie key (as /auth/callback would); one test signs in through the provider's real login form.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAxe } from '../support/axe.js';
import { CHROMIUM_PATH, launchChromium } from '../support/browser.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { useKnownCookieSecret, webSessionFor } from '../support/web-session.js';

const SHOTS = join(process.cwd(), 'test-results', 'web-pages');
/** Set DOCS_SCREENSHOTS=1 to refresh the small screenshots of docs/approvers.md. */
const DOCS_IMG = process.env.DOCS_SCREENSHOTS === '1' ? join(process.cwd(), 'docs', 'img') : null;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const SIZES = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 390, height: 844 },
} as const;
type Size = keyof typeof SIZES;

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: unknown[];
}

describe.skipIf(!existsSync(CHROMIUM_PATH))('every page, every actor, in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let secret: string;
  const ids: Record<string, string> = {};
  const axeSummary: string[] = [];

  type Api = ReturnType<typeof apiClient>;
  const as: Record<string, Api> = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    if (DOCS_IMG) mkdirSync(DOCS_IMG, { recursive: true });
    secret = useKnownCookieSecret();
    stack = await startTestStack();
    browser = await launchChromium();
    for (const user of ['alice', 'bob', 'dave', 'carol', 'pat', 'erin'])
      as[user] = apiClient(stack, await tokenFor(stack, user));
    const create = async (body: Record<string, unknown>) => {
      const created = await as.alice!<{ id: string }>('POST', '/v1/requests', {
        durationMinutes: 30,
        ticket: 'INC-7',
        ...body,
      });
      expect(created.status).toBe(201);
      return created.body.id;
    };
    ids.pending = await create({
      roleId: 'prod-admin',
      reason: 'rotate the database credentials',
      durationMinutes: 60,
    });
    ids.active = await create({ roleId: 'prod-readonly', reason: 'look at the failing batch job' });
    expect((await as.bob!('POST', `/v1/requests/${ids.active}/approve`, {})).status).toBe(200);
    ids.denied = await create({ roleId: 'prod-readonly', reason: 'curious about prod' });
    expect(
      (await as.bob!('POST', `/v1/requests/${ids.denied}/deny`, { comment: 'use staging' })).status,
    ).toBe(200);
    ids.emergency = await create({
      roleId: 'prod-admin',
      reason: 'site down, failover',
      ticket: 'INC-9',
      emergency: true,
    });
    ids.flagged = await create({
      roleId: 'prod-admin',
      reason: 'hotfix the config',
      ticket: 'INC-10',
      emergency: true,
    });
    const review = await as.bob!('POST', `/v1/requests/${ids.flagged}/review`, {
      outcome: 'flagged',
      comment: 'changed IAM users, follow up',
    });
    expect(review.status).toBe(200);
    // Enough events for the browser to need a second page.
    for (let i = 0; i < 45; i++) await as.erin!('GET', '/v1/audit/verify');
  });

  afterAll(async () => {
    console.log(`axe-core results (serious/critical must be 0):\n${axeSummary.join('\n')}`);
    await browser?.close();
    await stack?.stop();
  });

  async function contextFor(user: string, size: Size, extra: Parameters<Browser['newContext']>[0] = {}) {
    const context = await browser.newContext({ viewport: SIZES[size], ...extra });
    const { cookie } = await webSessionFor(stack.url, secret, user);
    const [name, ...value] = cookie.split('=');
    await context.addCookies([{ name: name!, value: value.join('='), url: stack.url }]);
    return context;
  }

  /** Runs axe-core inside the page (evaluated over CDP, so the page's CSP stays as served). */
  async function axe(page: Page, label: string): Promise<AxeViolation[]> {
    await page.evaluate(AXE_SOURCE);
    const violations = (await page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) })))`,
    )) as AxeViolation[];
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    axeSummary.push(
      `  ${label}: ${violations.length} violation(s), ${bad.length} serious/critical${
        violations.length ? ` [${violations.map((v) => `${v.id}:${v.impact}`).join(', ')}]` : ''
      }`,
    );
    return bad;
  }

  /** Opens a page, checks it rendered for this user, screenshots it and runs axe. */
  async function visit(user: string, size: Size, path: string, name: string) {
    const context = await contextFor(user, size);
    const page = await context.newPage();
    const response = await page.goto(`${stack.url}${path}`);
    expect(response?.status(), `${name} status`).toBe(200);
    expect(new URL(page.url()).pathname).toBe(new URL(`${stack.url}${path}`).pathname);
    // The script ran: times are localised (and keep UTC on hover).
    await page.waitForSelector('time[data-zone]', { timeout: 5000 }).catch(() => undefined);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow, `${name} ${size} wider than the screen`).toBeLessThanOrEqual(0);
    expect(await axe(page, `${name} (${user}, ${size})`)).toEqual([]);
    return { context, page };
  }

  async function docShot(page: Page, file: string) {
    if (!DOCS_IMG) return;
    await page.screenshot({ path: join(DOCS_IMG, file), type: 'jpeg', quality: 60 });
  }

  describe.each(['desktop', 'phone'] as const)('%s', (size) => {
    it('approver (bob): home lists what waits for him with deadlines, emergency grants to review, active grants with revoke', async () => {
      const { context, page } = await visit('bob', size, '/', `home-approver`);
      const waiting = page.locator('#waiting-list');
      expect(await waiting.locator(`tr[data-request="${ids.pending}"]`).count()).toBe(1);
      expect(await waiting.locator(`tr[data-request="${ids.pending}"] [data-until]`).count()).toBe(1);
      expect(await waiting.locator(`tr[data-request="${ids.pending}"] [data-risk=high]`).count()).toBe(1);
      // The unreviewed emergency grant appears with its review deadline; the reviewed one does not.
      const review = page.locator('#review-list');
      expect(await review.locator(`tr[data-request="${ids.emergency}"]`).count()).toBe(1);
      expect(await review.locator(`tr[data-request="${ids.emergency}"] [data-until]`).count()).toBe(1);
      expect(await review.locator(`tr[data-request="${ids.flagged}"]`).count()).toBe(0);
      const active = page.locator('#active-list');
      expect(await page.locator('#active').textContent()).toContain('Active grants of your roles');
      expect(await active.locator(`tr[data-request="${ids.active}"] form[action$="/revoke"]`).count()).toBe(
        1,
      );
      expect(await active.locator(`tr[data-request="${ids.active}"] [data-until]`).textContent()).toMatch(
        /^in (\d+ min|less than a minute)$/,
      );
      if (size === 'phone') await docShot(page, 'approver-home.jpg');
      await context.close();
    });

    it('approver (bob): a pending high-risk request — countdown, risk cue, Approve above the fold', async () => {
      const { context, page } = await visit('bob', size, `/requests/${ids.pending}`, 'request-pending');
      expect(await page.locator('#next-step').textContent()).toContain('Decision needed by');
      expect(await page.locator('#countdown').textContent()).toMatch(/^in (1 h 5\d min|1 h|2 h)$/);
      expect(await page.locator('h1 [data-risk=high]').count()).toBe(1);
      expect(await page.locator('#approve').textContent()).toContain('high-risk');
      const box = await page.locator('#approve').boundingBox();
      expect(box).not.toBeNull();
      expect(box!.y + box!.height, 'Approve must be visible without scrolling').toBeLessThanOrEqual(
        SIZES[size].height,
      );
      const time = page.locator('dl.facts time').first();
      expect(await time.getAttribute('title')).toMatch(/ UTC$/);
      if (size === 'phone') await docShot(page, 'approver-request.jpg');
      await context.close();
    });

    it('requester (alice): home with her requests; a denied request never shows a hypothetical start or end', async () => {
      const home = await visit('alice', size, '/', 'home-requester');
      const mine = home.page.locator('#mine-list');
      for (const id of [ids.pending, ids.active, ids.denied]) {
        expect(await mine.locator(`tr[data-request="${id}"]`).count()).toBe(1);
      }
      expect(await home.page.locator('#waiting').count()).toBe(0);
      await home.context.close();
      const { context, page } = await visit('alice', size, `/requests/${ids.denied}`, 'request-denied');
      const facts = (await page.locator('dl.facts').textContent()) ?? '';
      expect(facts).toContain('never started (denied)');
      expect(facts).not.toContain('when approved');
      expect(facts).not.toContain('after start');
      expect(await page.locator('#next-step').count()).toBe(0);
      if (size === 'phone') await docShot(page, 'requester-denied.jpg');
      await context.close();
    });

    it("requester (alice): the new-request form marks high-risk roles and names the API's limits", async () => {
      const { context, page } = await visit('alice', size, '/requests/new', 'new-request');
      expect(await page.locator('#roleId option[value=prod-admin]').textContent()).toContain('HIGH RISK');
      expect(await page.locator('#reason-hint').textContent()).toContain('1,000 characters at most');
      expect(await page.locator('#ticket-hint').textContent()).toContain('128 characters at most');
      await context.close();
    });

    it("requester (alice): a pasted 1,001-character reason reaches the server whole and is refused in the API's words; nothing is lost or created", async () => {
      const before = await as.alice!<{ items: unknown[] }>('GET', '/v1/requests?mine=true&limit=100');
      const reason = `${'because '.repeat(125)}!`;
      expect(reason).toHaveLength(1001);
      const api = await as.alice!<{ code: string; detail: string }>('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason,
        ticket: 'INC-7',
      });
      expect(api.status).toBe(400);
      const { context, page } = await visit('alice', size, '/requests/new', 'new-request-too-long');
      await page.selectOption('#roleId', 'prod-readonly');
      await page.fill('#duration', '30');
      await page.fill('#ticket', 'INC-7');
      // As a paste: the browser would cut the text at a maxlength here.
      await page.locator('#reason').focus();
      await page.keyboard.insertText(reason);
      expect(await page.locator('#reason').inputValue()).toHaveLength(1001);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${stack.url}/requests` && r.request().method() === 'POST'),
        page.click('#submit-request'),
      ]);
      expect(response.status()).toBe(400);
      await page.waitForSelector('[role=alert]');
      const alert = page.locator('[role=alert]');
      expect(await alert.getAttribute('data-code')).toBe(api.body.code);
      expect(await alert.textContent()).toContain(api.body.detail);
      expect(await page.locator('#reason').inputValue()).toBe(reason);
      expect(await page.locator('#ticket').inputValue()).toBe('INC-7');
      const { serious, line } = await runAxe(page, `new-request refused (alice, ${size})`);
      axeSummary.push(line);
      expect(serious).toEqual([]);
      const after = await as.alice!<{ items: unknown[] }>('GET', '/v1/requests?mine=true&limit=100');
      expect(after.body.items.length).toBe(before.body.items.length);
      await context.close();
    });

    it('approver (bob): an over-long deny comment is refused like the API refuses it, the text kept and the request still pending', async () => {
      const comment = 'n'.repeat(1001);
      const { context, page } = await visit('bob', size, `/requests/${ids.pending}`, 'request-deny-too-long');
      await page.locator('#deny-comment').focus();
      await page.keyboard.insertText(comment);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/deny') && r.request().method() === 'POST'),
        page.click('#deny'),
      ]);
      expect(response.status()).toBe(400);
      await page.waitForSelector('[role=alert]');
      expect(await page.locator('[role=alert]').getAttribute('data-code')).toBe('validation_failed');
      expect(await page.locator('[role=alert]').textContent()).toContain('comment');
      expect(await page.locator('#deny-comment').inputValue()).toBe(comment);
      expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('pending');
      const { serious, line } = await runAxe(page, `request refused deny (bob, ${size})`);
      axeSummary.push(line);
      expect(serious).toEqual([]);
      await context.close();
      expect((await as.bob!<{ status: string }>('GET', `/v1/requests/${ids.pending}`)).body.status).toBe(
        'pending',
      );
    });

    it('approver (bob): emergency grants — open review banner with its deadline; a flagged review stands out', async () => {
      const open = await visit('bob', size, `/requests/${ids.emergency}`, 'request-emergency');
      expect(await open.page.locator('#emergency-banner').getAttribute('data-review')).toBe('open');
      expect(await open.page.locator('#emergency-banner').textContent()).toContain('must review it by');
      expect(await open.page.locator('#review').count()).toBe(1);
      await open.context.close();
      const { context, page } = await visit('bob', size, `/requests/${ids.flagged}`, 'request-flagged');
      const banner = page.locator('#emergency-banner');
      expect(await banner.getAttribute('data-review')).toBe('flagged');
      expect(await banner.textContent()).toContain('flagged in post-review');
      expect(await banner.textContent()).not.toContain('must review');
      expect(await page.locator('#history-list li[data-type="review.recorded"]').textContent()).toContain(
        'post-review flagged: changed IAM users',
      );
      expect(await page.locator('#review').count()).toBe(0);
      if (size === 'phone') await docShot(page, 'approver-flagged.jpg');
      await context.close();
    });

    it('auditor (carol): home links to the audit pages; /audit browses events with filters, links and pages', async () => {
      const home = await visit('carol', size, '/', 'home-auditor');
      expect(await home.page.locator('a[href="/audit"]').count()).toBeGreaterThan(0);
      expect(
        await home.page.locator('section[aria-labelledby=audit-links] a[href="/v1/audit/report"]').count(),
      ).toBe(1);
      await home.context.close();

      const { context, page } = await visit('carol', size, '/audit', 'audit');
      expect(await page.locator('#verify-result').getAttribute('data-ok')).toBe('true');
      expect(await page.locator('#events tbody tr').count()).toBe(50);
      const seqs = await page
        .locator('#events tbody tr')
        .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-seq'))));
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(await page.locator('a[href="/v1/audit/events?format=csv"]').count()).toBe(1);
      // The next page continues below the last seq shown, without repeating it.
      await Promise.all([page.waitForURL(/before=/), page.click('#older-events')]);
      const older = await page
        .locator('#events tbody tr')
        .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-seq'))));
      expect(older.length).toBeGreaterThan(0);
      expect(Math.max(...older)).toBeLessThan(Math.min(...seqs));

      // Filters: person and type, through the form.
      await page.goto(`${stack.url}/audit`);
      await page.fill('#f-user', 'bob@example.com');
      await page.selectOption('#f-type', 'request.denied');
      await Promise.all([page.waitForURL(/type=request.denied/), page.click('#filter-events')]);
      const rows = page.locator('#events tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().getAttribute('data-type')).toBe('request.denied');
      if (size === 'desktop') await docShot(page, 'auditor-events.jpg');
      await Promise.all([
        page.waitForURL(new RegExp(`/requests/${ids.denied}$`)),
        rows.first().locator('a').click(),
      ]);
      expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('denied');
      await context.close();
    });

    it('admin (pat): home lists all active grants', async () => {
      const { context, page } = await visit('pat', size, '/', 'home-admin');
      expect(await page.locator('#active').textContent()).toContain('All active grants');
      for (const id of [ids.active, ids.emergency, ids.flagged]) {
        expect(await page.locator(`#active-list tr[data-request="${id}"]`).count()).toBe(1);
      }
      await context.close();
    });
  });

  it('auditor filters: by request, by role and time range; bad filter values are a 400 page, not a 500', async () => {
    const context = await contextFor('carol', 'desktop');
    const page = await context.newPage();
    await page.goto(`${stack.url}/audit?request=${ids.flagged}`);
    const links = await page
      .locator('#events tbody tr a')
      .evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(links.length).toBeGreaterThanOrEqual(3);
    expect(new Set(links)).toEqual(new Set([`/requests/${ids.flagged}`]));
    await page.goto(`${stack.url}/audit?role=prod-readonly&type=request.created`);
    expect(await page.locator('#events tbody tr').count()).toBe(2);
    await page.goto(`${stack.url}/audit?since=2999-01-01T00:00`);
    expect(await page.locator('#no-events').count()).toBe(1);
    await page.goto(`${stack.url}/audit?since=2000-01-01T00:00&until=2999-01-01T00:00&type=review.recorded`);
    expect(await page.locator('#events tbody tr').count()).toBe(1);
    for (const bad of ['since=yesterday', 'request=req_x', 'before=-1']) {
      const response = await page.goto(`${stack.url}/audit?${bad}`);
      expect(response?.status(), bad).toBe(400);
      expect(await page.locator('[role=alert]').getAttribute('data-code')).toBe('validation_failed');
    }
    // Not an auditor: refused, and recorded once.
    const bob = await contextFor('bob', 'desktop');
    const bobPage = await bob.newPage();
    expect((await bobPage.goto(`${stack.url}/audit`))?.status()).toBe(403);
    await bob.close();
    await context.close();
  });

  it('extensions: asked (waiting for bob, with its approvers), denied and granted — all in the request history', async () => {
    const grant = await as.alice!<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason: 'long migration',
    });
    const id = grant.body.id;
    expect((await as.bob!('POST', `/v1/requests/${id}/approve`, {})).status).toBe(200);
    const ask = (minutes: number, reason: string) =>
      as.alice!('POST', `/v1/requests/${id}/extend`, { durationMinutes: minutes, reason });
    expect((await ask(15, 'first batch slow')).status).toBe(200);
    expect((await as.bob!('POST', `/v1/requests/${id}/deny`, { comment: 'finish tomorrow' })).status).toBe(
      200,
    );
    expect((await ask(10, 'last table')).status).toBe(200);
    expect((await as.bob!('POST', `/v1/requests/${id}/approve`, {})).status).toBe(200);
    expect((await ask(5, 'verify')).status).toBe(200);

    const home = await visit('dave', 'desktop', '/', 'home-approver-extension');
    const row = home.page.locator(`#waiting-list tr[data-request="${id}"]`);
    expect(await row.textContent()).toContain('extension asked');
    expect(await row.textContent()).toContain('before the end');
    await home.context.close();

    const { context, page } = await visit('dave', 'desktop', `/requests/${id}`, 'request-extension');
    expect(await page.locator('#extension-asked').textContent()).toContain(
      '5 min: verify (0 of 1 approvals)',
    );
    expect(await page.locator('#approve').textContent()).toBe('Approve extension');
    const history = await page
      .locator('#history-list li')
      .evaluateAll((items) => items.map((item) => `${item.getAttribute('data-type')}: ${item.textContent}`));
    expect(history.join('\n')).toContain('grant.extension_denied');
    expect(history.join('\n')).toContain('extension of 15 min denied: finish tomorrow');
    expect(history.join('\n')).toContain('extended by 10 min');
    expect(history.filter((line) => line.startsWith('grant.extension_requested'))).toHaveLength(3);
    await context.close();
  });

  it('times: server-rendered in UTC without the script; localised with UTC on hover and ticking with it', async () => {
    const plain = await contextFor('bob', 'desktop', { javaScriptEnabled: false });
    const page = await plain.newPage();
    await page.goto(`${stack.url}/requests/${ids.pending}`);
    const utc = await page.locator('#next-step time').textContent();
    expect(utc).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(await page.locator('#countdown').textContent()).toMatch(/^in /);
    await plain.close();

    const tokyo = await contextFor('bob', 'desktop', { timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const local = await tokyo.newPage();
    // The page's clock is Playwright's (starting at the real now), so the test can move it and watch the tick.
    await local.clock.install({ time: new Date() });
    await local.goto(`${stack.url}/requests/${ids.pending}`);
    const time = local.locator('#next-step time');
    await local.waitForSelector('#next-step time[data-zone="Asia/Tokyo"]');
    expect(await time.getAttribute('title')).toBe(utc);
    const shown = (await time.textContent()) ?? '';
    expect(shown).not.toBe(utc);
    const iso = (await time.getAttribute('datetime'))!;
    const tokyoHour = new Date(Date.parse(iso) + 9 * 3600_000).getUTCHours();
    expect(shown).toContain(String(tokyoHour).padStart(2, '0'));
    const minutesLeft = (text: string | null) => {
      const match = /^in (?:(\d+) h ?)?(?:(\d+) min)?$/.exec(text ?? '');
      return match ? Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0) : Number.NaN;
    };
    const before = minutesLeft(await local.locator('#countdown').textContent());
    await local.clock.fastForward('10:00');
    const after = minutesLeft(await local.locator('#countdown').textContent());
    expect(before - after).toBeGreaterThanOrEqual(9);
    expect(before - after).toBeLessThanOrEqual(11);
    await tokyo.close();
  });

  it('one refused web approval writes exactly one access.forbidden', async () => {
    const erin = await webSessionFor(stack.url, secret, 'erin');
    const response = await fetch(`${stack.url}/requests/${ids.pending}/approve`, {
      method: 'POST',
      headers: {
        cookie: erin.cookie,
        origin: stack.url,
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: erin.csrf, comment: 'let me' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('data-code="not_approver"');
    await stack.sealing.idle(10_000);
    const events = await as.carol!<string>('GET', '/v1/audit/events?format=jsonl');
    const refusals = String(events.body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter(
        (event) =>
          event.type === 'access.forbidden' &&
          event.actor.email === 'erin@example.com' &&
          String(event.data.action).includes('approve'),
      );
    expect(refusals).toHaveLength(1);
  });

  it('a cross-site logout is refused with a clear reason and audited; the session survives', async () => {
    const alice = await webSessionFor(stack.url, secret, 'alice');
    const response = await fetch(`${stack.url}/auth/logout`, {
      method: 'POST',
      headers: {
        cookie: alice.cookie,
        'sec-fetch-site': 'same-site',
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: alice.csrf }),
    });
    expect(response.status).toBe(403);
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe('csrf_failed');
    expect(problem.detail).toContain('another host of this site');
    expect(problem.detail).not.toContain('(same-site)');
    await stack.sealing.idle(10_000);
    const events = await as.carol!<string>('GET', '/v1/audit/events?format=jsonl');
    const logged = String(events.body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((event) => event.type === 'access.forbidden' && event.data.action === 'web.logout');
    expect(logged).toHaveLength(1);
    expect(logged[0].actor.email).toBe('alice@example.com');
    const still = await fetch(`${stack.url}/`, { headers: { cookie: alice.cookie }, redirect: 'manual' });
    expect(still.status).toBe(200);
  });

  it('the web form refuses what the API refuses (a 1,001-character reason), keeps the text and creates nothing', async () => {
    const alice = await webSessionFor(stack.url, secret, 'alice');
    const before = await as.alice!<{ items: unknown[] }>('GET', '/v1/requests?mine=true&limit=100');
    const reason = 'x'.repeat(1001);
    const response = await fetch(`${stack.url}/requests`, {
      method: 'POST',
      headers: {
        cookie: alice.cookie,
        origin: stack.url,
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        _csrf: alice.csrf,
        roleId: 'prod-readonly',
        durationMinutes: '30',
        reason,
      }),
      redirect: 'manual',
    });
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain('data-code="validation_failed"');
    expect(page).toContain('reason');
    expect(page).toContain(reason);
    const api = await as.alice!('POST', '/v1/requests', {
      roleId: 'prod-readonly',
      durationMinutes: 30,
      reason,
    });
    expect(api.status).toBe(400);
    const after = await as.alice!<{ items: unknown[] }>('GET', '/v1/requests?mine=true&limit=100');
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it('signing in through the dev provider needs nothing from the internet; pages carry a favicon', async () => {
    const context = await browser.newContext({ viewport: SIZES.desktop });
    const page = await context.newPage();
    const outside: string[] = [];
    page.on('request', (request) => {
      const host = new URL(request.url()).hostname;
      if (host !== '127.0.0.1' && host !== 'localhost') outside.push(request.url());
    });
    await page.goto(`${stack.url}/`);
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\//);
    expect(await page.content()).not.toContain('fonts.googleapis.com');
    await page.fill('input[name=login]', 'dave');
    await page.fill('input[name=password]', 'any password');
    await Promise.all([page.waitForURL(`${stack.url}/`), page.click('button[type=submit]')]);
    expect(await page.locator('#waiting').count()).toBe(1);
    expect(outside).toEqual([]);
    expect(await page.locator('link[rel=icon]').getAttribute('href')).toBe('/favicon.svg');
    const icon = await fetch(`${stack.url}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toContain('image/svg+xml');
    const script = await fetch(`${stack.url}/assets/app.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    // The page's only script is the same-origin file: no inline script for the CSP to allow.
    expect(await page.locator('script:not([src])').count()).toBe(0);
    await context.close();
  });
});
