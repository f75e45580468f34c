/**
 * The CLI at a real terminal (a tmux pseudo-terminal) against a local stack: the guided `request`, the
 * `--wait` progress line, and Ctrl-C — asserted on the screen a person sees and on the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../api/local/stack.js';
import { apiClient, startTestStack, tokenFor } from '../support/stack.js';
import { cliEnv, ensureBuilt, runCli, tempHome } from './cli-helpers.js';
import { Terminal } from './terminal.js';

describe('breakglass at a terminal', () => {
  let stack: LocalStack;
  let alice: NodeJS.ProcessEnv;
  let bob: ReturnType<typeof apiClient>;
  const terminals: Terminal[] = [];
  const open = (args: string[]) => {
    const terminal = Terminal.start(args, { ...alice, TERM: 'xterm-256color' });
    terminals.push(terminal);
    return terminal;
  };

  async function pendingRequest(reason: string): Promise<string> {
    const created = await runCli(['request', 'prod-readonly', '-d', '1h', '-r', reason, '--json'], alice);
    return (JSON.parse(created.stdout) as { id: string }).id;
  }

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startTestStack();
    alice = cliEnv(tempHome('bg-tty-'), { BREAKGLASS_URL: stack.url, BREAKGLASS_POLL_INTERVAL_MS: '200' });
    delete alice.CI;
    expect((await runCli(['login', '--dev-user', 'alice'], alice)).code).toBe(0);
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
  });
  afterAll(async () => {
    for (const terminal of terminals) terminal.close();
    Terminal.closeAll();
    await stack?.stop();
  });

  it('request with no arguments asks for everything, re-asks a refused answer and keeps the others', async () => {
    const tty = open(['request']);
    await tty.waitFor(/Role \(1-2 or an id\):$/);
    const picker = tty.screen().split('\n');
    const header = picker.find((line) => line.includes('ROLE'))!;
    const rows = picker.filter((line) => /^ {2}\d\) /.test(line));
    expect(rows.map((row) => row.slice(header.indexOf('ROLE')).split(' ')[0])).toEqual([
      'prod-admin',
      'prod-readonly',
    ]);
    expect(rows.every((row) => row.slice(header.indexOf('MAX')).match(/^\d+h /))).toBe(true);

    tty.type('1');
    await tty.waitFor(/Reason:$/);
    tty.type('database failover');
    await tty.waitFor(/Ticket \(must match \^INC-\[0-9\]\+\$\):$/);
    tty.type('JIRA-7');
    await tty.waitFor(/"JIRA-7" does not match \^INC-\[0-9\]\+\$\n.*Ticket \(must match/);
    tty.type('INC-7');
    await tty.waitFor(/Duration \(Enter for 1h, at most 4h\):$/);
    tty.type('9h');
    await tty.waitFor(/prod-admin allows at most 4h\n.*Duration/);
    tty.type('2h');
    await tty.waitFor(/Start \(Enter for as soon as approved/);
    tty.type('');
    expect(await tty.exitCode()).toBe(0);
    const screen = tty.screen();
    expect(screen).toMatch(/Requested prod-admin for 2h: req_[0-9A-Z]{26}/);
    expect(screen).toContain('starts     as soon as it is approved');
    expect(screen).not.toMatch(/\n\s+at |Error:/);
    const id = /Requested prod-admin for 2h: (req_[0-9A-Z]{26})/.exec(screen)![1]!;
    const shown = await runCli(['status', id, '--json'], alice);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      reason: 'database failover',
      ticket: 'INC-7',
      durationMinutes: 120,
    });
  });

  it('Ctrl-C at a question exits 130 with one line, and nothing is requested', async () => {
    const before = JSON.parse((await runCli(['list', '--mine', '--json', '--limit', '100'], alice)).stdout);
    const tty = open(['request', 'prod-readonly']);
    await tty.waitFor(/Reason:$/);
    tty.press('C-c');
    expect(await tty.exitCode()).toBe(130);
    expect(tty.screen()).toContain('breakglass: interrupted; nothing was requested');
    const after = JSON.parse((await runCli(['list', '--mine', '--json', '--limit', '100'], alice)).stdout);
    expect(after).toHaveLength(before.length);
  });

  it('status --wait keeps one live progress line, and Ctrl-C stops waiting with exit 130', async () => {
    const id = await pendingRequest('watch it wait');
    const tty = open(['status', id, '--wait']);
    await tty.waitFor(new RegExp(`Waiting for ${id}: pending \\(0 of 1 approvals\\) — Ctrl-C stops waiting`));
    await tty.waitFor(/waiting… [1-9]\d*s/);
    // The progress line is rewritten in place, never one line per poll.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(tty.screen().match(/waiting… /g)).toHaveLength(1);
    tty.press('C-c');
    expect(await tty.exitCode()).toBe(130);
    expect(tty.screen()).toContain(
      `Stopped waiting; ${id} is still pending. Next: breakglass status ${id} --wait`,
    );
  });

  it('status --wait shows the denial as it happens and exits 6', async () => {
    const id = await pendingRequest('will be denied');
    const tty = open(['status', id, '--wait']);
    await tty.waitFor(/waiting… /);
    const denied = await bob('POST', `/v1/requests/${id}/deny`, { comment: 'use the dashboards' });
    expect(denied.status).toBe(200);
    expect(await tty.exitCode()).toBe(6);
    const screen = tty.screen();
    expect(screen).toContain('  → denied');
    expect(screen).toContain(`breakglass: ${id} was denied by bob@example.com: use the dashboards`);
    expect(screen).not.toMatch(/waiting… \d+s\S*\n.*waiting… /);
  });
});
