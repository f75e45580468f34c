/** Extensions as the CLI shows them: in list, in status (denied ones and their approvers too), after approve. */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors.js';
import { run } from '../../cli/run.js';
import { bob, harness, ID, json, loggedIn, NOW, requestView } from './cli-harness.js';

const iso = (offsetMinutes: number) => new Date(NOW + offsetMinutes * 60_000).toISOString();
const dave = { subject: 'dave', email: 'dave@example.com' };
const approval = (who: typeof bob, at: number) => ({ approver: who, at: iso(at), comment: null, via: 'cli' });
const active = {
  status: 'active',
  startAt: iso(-30),
  endAt: iso(30),
  approvals: [approval(bob, -31), approval(dave, -31)],
};
const waiting = requestView({
  ...active,
  updatedAt: iso(-1),
  extension: {
    durationMinutes: 30,
    reason: 'failover still running',
    requestedAt: iso(-5),
    approvalsRequired: 2,
    approvals: [approval(dave, -1)],
  },
});

describe('extensions in the CLI', () => {
  it('list --approvable shows an extension waiting for approvals, not a settled grant', async () => {
    const h = harness(() => json({ items: [waiting], nextCursor: null }));
    loggedIn(h);
    expect(await run(['list', '--approvable'], h.ctx)).toBe(EXIT.ok);
    const row = h.out().split('\n')[1]!;
    expect(row).toMatch(/active, extending +alice@example\.com +ext 1 of 2/);
  });

  it('status shows the waiting extension in the status line and its approvers in the timeline', async () => {
    const h = harness(() => json(waiting));
    loggedIn(h);
    await run(['status', ID], h.ctx);
    expect(h.out()).toContain(
      'status      active until 2026-11-22 10:30Z (in 30m); extension of 30m waiting (1 of 2 approvals)',
    );
    expect(h.out()).toMatch(/09:59Z {2}extension of 30m approved by dave@example\.com via cli/);
  });

  it('status shows a denied extension, who had approved it and who denied it', async () => {
    const h = harness(() =>
      json(
        requestView({
          ...active,
          deniedExtensions: [
            {
              durationMinutes: 30,
              reason: 'failover still running',
              requestedAt: iso(-10),
              approvals: [approval(dave, -8)],
              denial: { by: bob, at: iso(-6), comment: 'wrap it up' },
            },
          ],
        }),
      ),
    );
    loggedIn(h);
    await run(['status', ID], h.ctx);
    const timeline = h.out().slice(h.out().indexOf('Timeline'));
    expect(timeline).toContain('09:50Z  extension of 30m asked: failover still running');
    expect(timeline).toContain('09:52Z  extension of 30m approved by dave@example.com via cli');
    expect(timeline).toContain('09:54Z  extension of 30m denied by bob@example.com: wrap it up');
  });

  it('a granted extension lists its approvers and the end it replaced', async () => {
    const h = harness(() =>
      json(
        requestView({
          ...active,
          endAt: iso(60),
          extensions: [
            {
              durationMinutes: 30,
              reason: 'more',
              approvedAt: iso(-2),
              previousEndAt: iso(30),
              approvals: [approval(dave, -3), approval(bob, -2)],
            },
          ],
        }),
      ),
    );
    loggedIn(h);
    await run(['status', ID], h.ctx);
    expect(h.out()).toContain('09:57Z  extension of 30m approved by dave@example.com via cli');
    expect(h.out()).toContain('09:58Z  extended by 30m (was until 2026-11-22 10:30Z): more');
  });

  it('approving an extension that still waits says so and gives the unchanged end', async () => {
    const h = harness(() => json(waiting));
    loggedIn(h);
    await run(['approve', ID], h.ctx);
    expect(h.out()).toBe(
      `Approved the extension of ${ID} (prod-admin for alice@example.com) by 30m: 1 of 2 approvals, 1 more needed — the grant still ends 2026-11-22 10:30Z (in 30m)\n`,
    );
  });

  it('the approval that grants it prints the new end and the old one', async () => {
    const h = harness(() =>
      json(
        requestView({
          ...active,
          endAt: iso(60),
          updatedAt: iso(0),
          extensions: [{ durationMinutes: 30, reason: 'more', approvedAt: iso(0), previousEndAt: iso(30) }],
        }),
      ),
    );
    loggedIn(h);
    await run(['approve', ID], h.ctx);
    expect(h.out()).toBe(
      `Approved the extension of ${ID} (prod-admin for alice@example.com) by 30m — now ends 2026-11-22 11:00Z (in 1h), was 2026-11-22 10:30Z\n`,
    );
  });

  it('denying an extension says the grant keeps its end', async () => {
    const h = harness(() =>
      json(
        requestView({
          ...active,
          updatedAt: iso(0),
          deniedExtensions: [
            {
              durationMinutes: 30,
              reason: 'more',
              requestedAt: iso(-5),
              approvals: [],
              denial: { by: bob, at: iso(0), comment: 'no' },
            },
          ],
        }),
      ),
    );
    loggedIn(h);
    await run(['deny', ID, '--comment', 'no'], h.ctx);
    expect(h.out()).toBe(
      `Denied the extension of ${ID} (prod-admin for alice@example.com) by 30m — the grant still ends 2026-11-22 10:30Z (in 30m)\n`,
    );
  });
});
