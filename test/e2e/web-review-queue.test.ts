/**
 * Two things an approver and an auditor rely on, in real Chromium against a local stack whose clock the test
 * moves: "Emergency grants to review" keeps every unreviewed emergency grant, including one whose review is
 * overdue and whose grant has already ended (a late review is still recorded), until someone reviews it; and the
 * auditor's event browser (/audit) is a read of the trail, recorded as `audit.read` like the API's exports and
 * aggregated the same way. Desktop and phone sizes, axe-core with zero serious or critical violations.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../api/domain/types.js';
import { runAxe } from '../support/axe.js';
import { CHROMIUM_PATH, launchChromium } from '../support/browser.js';
import { MutableClock } from '../support/clock.js';
import { TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, settledAndSealed, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { useKnownCookieSecret, webSessionFor } from '../support/web-session.js';

const SIZES = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 390, height: 844 },
} as const;

interface Req {
  id: string;
  status: string;
  postReview: { overdue: boolean; outcome: string | null } | null;
}

describe.skipIf(!existsSync(CHROMIUM_PATH))('review queue and audited event browsing, in Chromium', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let browser: Browser;
  let secret: string;
  const axeSummary: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    secret = useKnownCookieSecret();
    // prod-admin: emergency allowed, post-review within 30 minutes (testConfig).
    stack = await startTestStack({ clock, config: testConfig(), demoUsers: TEST_USERS });
    browser = await launchChromium();
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const dave = apiClient(stack, await tokenFor(stack, 'dave'));
    const emergency = async (reason: string, durationMinutes: number) => {
      const created = await alice<Req>('POST', '/v1/requests', {
        roleId: 'prod-admin',
        durationMinutes,
        reason,
        ticket: 'INC-42',
        emergency: true,
      });
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('active');
      return created.body.id;
    };
    ids.endedOverdue = await emergency('database on fire, short fix', 15);
    ids.activeOverdue = await emergency('long failover', 60);
    ids.reviewed = await emergency('quick restart', 15);
    expect(
      (
        await dave('POST', `/v1/requests/${ids.reviewed}/review`, {
          outcome: 'acknowledged',
          comment: 'fine',
        })
      ).status,
    ).toBe(200);
    // 16 minutes: the short grants expire. 31: the review deadline of the first three has passed.
    clock.advanceMinutes(16);
    await stack.sweeper.runOnce();
    clock.advanceMinutes(15);
    await stack.sweeper.runOnce();
    await stack.sweeper.runOnce();
    const state = async (id: string) => (await alice<Req>('GET', `/v1/requests/${id}`)).body;
    expect(await state(ids.endedOverdue)).toMatchObject({ status: 'expired', postReview: { overdue: true } });
    expect(await state(ids.activeOverdue)).toMatchObject({ status: 'active', postReview: { overdue: true } });
    expect(await state(ids.reviewed)).toMatchObject({ status: 'expired', postReview: { overdue: false } });
    // One more, asked now: its review is open and not yet due.
    ids.onTime = await emergency('fresh emergency', 60);
  }, 120_000);

  afterAll(async () => {
    console.log(`axe-core results (serious/critical must be 0):\n${axeSummary.join('\n')}`);
    await browser?.close();
    await stack?.stop();
  });

  async function open(user: string, size: keyof typeof SIZES, path: string) {
    const context = await browser.newContext({ viewport: SIZES[size] });
    const { cookie } = await webSessionFor(stack.url, secret, user, TEST_USERS);
    const [name, ...value] = cookie.split('=');
    await context.addCookies([{ name: name!, value: value.join('='), url: stack.url }]);
    const page = await context.newPage();
    const response = await page.goto(`${stack.url}${path}`);
    expect(response?.status(), `${path} as ${user}`).toBe(200);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow, `${path} ${size} wider than the screen`).toBeLessThanOrEqual(0);
    const { serious, line } = await runAxe(page, `${path} (${user}, ${size})`);
    axeSummary.push(line);
    expect(serious).toEqual([]);
    return { context, page };
  }

  describe.each(['desktop', 'phone'] as const)('%s', (size) => {
    it('approver (bob): overdue emergency grants stay to review, ended or not; reviewed ones do not', async () => {
      const { context, page } = await open('bob', size, '/');
      const list = page.locator('#review-list');
      const row = (id: string) => list.locator(`tr[data-request="${id}"]`);
      expect(await row(ids.endedOverdue!).count()).toBe(1);
      expect(await row(ids.endedOverdue!).locator('[data-status]').getAttribute('data-status')).toBe(
        'expired',
      );
      expect(await row(ids.endedOverdue!).textContent()).toContain('overdue');
      expect(await row(ids.activeOverdue!).count()).toBe(1);
      expect(await row(ids.activeOverdue!).textContent()).toContain('overdue');
      expect(await row(ids.onTime!).count()).toBe(1);
      expect(await row(ids.onTime!).textContent()).not.toContain('overdue');
      expect(await row(ids.reviewed!).count()).toBe(0);
      // Soonest deadline first: the overdue ones lead.
      const order = await list
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request')));
      expect(order.indexOf(ids.onTime!)).toBe(order.length - 1);
      expect(await page.locator('#review').textContent()).toContain(`(${order.length})`);
      await context.close();
    });
  });

  it('approver (dave): reviewing the ended, overdue grant late records it (marked overdue) and takes it off the list', async () => {
    const { context, page } = await open('dave', 'phone', `/requests/${ids.endedOverdue}`);
    expect(await page.locator('#review').count()).toBe(1);
    await page.selectOption('#review-outcome', 'flagged');
    await page.fill('#review-comment', 'late look: changed a security group');
    await Promise.all([page.waitForURL(/done=review/), page.click('#review')]);
    expect(await page.locator('#emergency-banner').getAttribute('data-review')).toBe('flagged');
    await page.goto(`${stack.url}/`);
    const list = page.locator('#review-list');
    expect(await list.locator(`tr[data-request="${ids.endedOverdue}"]`).count()).toBe(0);
    expect(await list.locator(`tr[data-request="${ids.activeOverdue}"]`).count()).toBe(1);
    await context.close();
    await settledAndSealed(stack);
    const events: AuditEvent[] = [];
    for await (const event of stack.broker.store.readEvents())
      if (event.requestId === ids.endedOverdue && event.type === 'review.recorded') events.push(event);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ outcome: 'flagged', overdue: true });
  });

  it('auditor (carol): each /audit page is an audit.read (kind browse, with its filters); repeats are aggregated', async () => {
    const browseReads = async () => {
      await stack.broker.audit.flushReads();
      await settledAndSealed(stack);
      const reads: AuditEvent[] = [];
      for await (const event of stack.broker.store.readEvents())
        if (event.type === 'audit.read' && (event.data as { kind?: string }).kind === 'browse')
          reads.push(event);
      return reads;
    };
    expect(await browseReads()).toEqual([]);
    // Start a fresh 5-minute window, then three page views inside it.
    clock.advanceMinutes(5 - ((clock.now().getTime() / 60_000) % 5) + 0.1);
    for (const path of ['/audit?type=review.recorded', '/audit', '/audit?user=bob%40example.com']) {
      const { context } = await open('carol', 'desktop', path);
      await context.close();
    }
    const reads = await browseReads();
    const first = reads.find((event) => !(event.data as { summary?: boolean }).summary);
    expect(first?.actor).toMatchObject({ type: 'user', email: 'carol@example.com', via: 'web' });
    expect(first?.data).toMatchObject({
      kind: 'browse',
      format: 'html',
      filter: { type: 'review.recorded' },
      count: 1,
    });
    expect(String((first?.data as { result?: string } | undefined)?.result)).toMatch(
      /^\d+ events shown; chain ok$/,
    );
    const summaries = reads.filter((event) => (event.data as { summary?: boolean }).summary);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.data).toMatchObject({ kind: 'browse', count: 3, repeats: 2 });
    expect(reads).toHaveLength(2);

    // The next window's first view is committed before the page is sent (no flush needed to see it).
    clock.advanceMinutes(5);
    const { context } = await open('carol', 'phone', '/audit?role=prod-admin');
    await context.close();
    await settledAndSealed(stack);
    const later: AuditEvent[] = [];
    for await (const event of stack.broker.store.readEvents())
      if (event.type === 'audit.read' && (event.data as { kind?: string }).kind === 'browse')
        later.push(event);
    expect(later).toHaveLength(3);
    expect(later.at(-1)?.data).toMatchObject({ filter: { role: 'prod-admin' }, count: 1 });

    // Not an auditor: the page is refused (and recorded as forbidden), and no read is recorded for him.
    const bob = await browser.newContext();
    const { cookie } = await webSessionFor(stack.url, secret, 'bob', TEST_USERS);
    const [name, ...value] = cookie.split('=');
    await bob.addCookies([{ name: name!, value: value.join('='), url: stack.url }]);
    expect((await (await bob.newPage()).goto(`${stack.url}/audit`))?.status()).toBe(403);
    await bob.close();
    expect(
      (await browseReads()).every(
        (event) => event.actor.type === 'user' && event.actor.email === 'carol@example.com',
      ),
    ).toBe(true);
  });
});
