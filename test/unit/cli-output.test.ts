/** What people read: times, hints, approvals, scheduled starts, simulated consoles and "there is more". */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors.js';
import { relative } from '../../cli/output.js';
import { run } from '../../cli/run.js';
import { harness, ID, json, loggedIn, NOW, problem, ROLE, requestView } from './cli-harness.js';

const iso = (offsetMinutes: number) => new Date(NOW + offsetMinutes * 60_000).toISOString();

describe('relative times', () => {
  it('never says "in 0m" or "0m ago"', () => {
    expect(relative(new Date(NOW + 20_000).toISOString(), NOW)).toBe('in under a minute');
    expect(relative(new Date(NOW - 20_000).toISOString(), NOW)).toBe('just now');
    expect(relative(new Date(NOW + 90_000).toISOString(), NOW)).toBe('in 2m');
    expect(relative(iso(-125), NOW)).toBe('2h5m ago');
  });
});

describe('hints name the request and the refused action', () => {
  it('invalid_state names the request id, not a literal <id>', async () => {
    const h = harness(() => problem(409, 'invalid_state', 'the request is denied, not pending'));
    loggedIn(h);
    expect(await run(['approve', ID], h.ctx)).toBe(EXIT.conflict);
    expect(h.err()).toBe(
      `breakglass: the request is denied, not pending (invalid_state) — run \`breakglass status ${ID}\` to see where it stands\n`,
    );
    expect(h.err()).not.toContain('<id>');
  });

  it.each([
    ['review', ['--outcome', 'acknowledged', '--comment', 'fine'], 'review'],
    ['deny', ['--comment', 'no'], 'deny'],
    ['approve', [], 'approve'],
  ])('self_approval on %s says another approver has to %s it', async (action, flags, verb) => {
    const h = harness(() => problem(403, 'self_approval', `you cannot ${action} your own request`));
    loggedIn(h);
    expect(await run([action, ID, ...flags], h.ctx)).toBe(EXIT.forbidden);
    expect(h.err()).toMatch(new RegExp(`— another approver of the role has to ${verb} it\\n$`));
  });
});

describe('approvals and starts', () => {
  it('an emergency grant shows why it had no approvals instead of "0 of 0"', async () => {
    const emergency = requestView({
      emergency: true,
      approvalsRequired: 0,
      status: 'active',
      startAt: iso(-5),
      endAt: iso(55),
    });
    const h = harness(() => json(emergency));
    loggedIn(h);
    await run(['status', ID], h.ctx);
    expect(h.out()).toMatch(/^ {2}approvals {3}none \(emergency, reviewed afterwards\)$/m);
    expect(h.out()).not.toContain('0 of 0');
  });

  it('a scheduled request says when it starts; an unscheduled one starts once approved', async () => {
    const created: unknown[] = [requestView({ startAt: iso(30), endAt: iso(90) }), requestView()];
    const h = harness((url) => (url.endsWith('/v1/roles') ? json({ roles: [ROLE] }) : json(created.shift())));
    loggedIn(h);
    await run(['request', 'prod-admin', '-r', 'failover', '-t', 'INC-1', '--start', '30m'], h.ctx);
    expect(h.out()).toContain('  starts     2026-11-22 10:30Z (in 30m)\n');
    await run(['request', 'prod-admin', '-r', 'failover', '-t', 'INC-1'], h.ctx);
    expect(h.out()).toContain('  starts     as soon as it is approved\n');
  });
});

describe('console in simulated mode', () => {
  const link = { url: 'http://127.0.0.1:8787/simulated-console?x=1', expiresAt: iso(60) };

  it('says simulated when the broker is simulated, on every path', async () => {
    const h = harness(() => json({ ...link, simulated: true }));
    loggedIn(h);
    expect(await run(['console', ID], h.ctx)).toBe(EXIT.ok);
    expect(h.err()).toContain('simulated: the broker runs in simulated mode');
    h.ctx.openUrl = async () => true;
    await run(['console', ID], h.ctx);
    expect(h.out()).toContain('Opened the simulated AWS console sign-in');
    await run(['console', ID, '--print'], h.ctx);
    expect(h.out().trimEnd().split('\n').at(-1)).toBe(link.url);
  });

  it('says nothing of the kind for a live broker', async () => {
    const h = harness(() => json({ ...link, simulated: false }));
    loggedIn(h);
    h.ctx.openUrl = async () => true;
    await run(['console', ID], h.ctx);
    expect(h.out()).toContain('Opened the AWS console sign-in');
    expect(h.err()).toBe('');
  });
});

describe('list --json with more pages', () => {
  it('keeps stdout the bare array and says on stderr how to continue', async () => {
    const h = harness((url) =>
      new URL(url).searchParams.get('cursor') === 'c2'
        ? json({ items: [requestView({ id: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4F' })], nextCursor: null })
        : json({ items: [requestView()], nextCursor: 'c2' }),
    );
    loggedIn(h);
    expect(await run(['list', '--limit', '1', '--json'], h.ctx)).toBe(EXIT.ok);
    const first = JSON.parse(h.out()) as Array<{ id: string }>;
    expect(Array.isArray(first)).toBe(true);
    expect(first.map((item) => item.id)).toEqual([ID]);
    expect(h.err()).toBe('breakglass: more requests — continue with --cursor c2, or add --all\n');

    const next = harness((url) =>
      new URL(url).searchParams.get('cursor') === 'c2'
        ? json({ items: [requestView({ id: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4F' })], nextCursor: null })
        : json({ items: [requestView()], nextCursor: 'c2' }),
    );
    loggedIn(next);
    expect(await run(['list', '--limit', '1', '--json', '--cursor', 'c2'], next.ctx)).toBe(EXIT.ok);
    expect((JSON.parse(next.out()) as Array<{ id: string }>).map((item) => item.id)).toEqual([
      'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4F',
    ]);
    expect(next.err()).toBe('');
  });
});
