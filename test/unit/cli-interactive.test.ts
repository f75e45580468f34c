/**
 * The interactive `request` at a terminal, in-process: a fake TTY answers each question as it is asked. It asks
 * for everything the role requires, checks answers before sending, and when the broker refuses one answer asks
 * for that one again, keeping the others.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../cli/context.js';
import { EXIT } from '../../cli/errors.js';
import { run } from '../../cli/run.js';
import { type Harness, harness, json, loggedIn, problem, ROLE, requestView } from './cli-harness.js';

const READONLY = {
  ...ROLE,
  id: 'prod-readonly',
  description: 'Read-only',
  maxDurationMinutes: 480,
  defaultDurationMinutes: 120,
  approvalsRequired: 1,
  ticket: { required: false, pattern: null },
  emergencyAllowed: false,
};

const PROMPT = /^(Role \(|Reason: |Ticket \(|Duration \(|Start \()/;

/** A terminal whose user types `answers` in order, one per question; records the questions asked. */
function atTerminal(
  respond: (url: string, init?: RequestInit) => Response | Promise<Response>,
  answers: string[],
): Harness & { asked: string[]; posts: () => unknown[] } {
  const h = harness(respond);
  const input = new PassThrough();
  const stdin = Object.assign(input, { isTTY: true }) as unknown as CliContext['stdin'];
  const asked: string[] = [];
  const write = h.ctx.stderr.write.bind(h.ctx.stderr);
  h.ctx.stdin = stdin;
  h.ctx.stderr = {
    isTTY: true,
    write: (chunk: string) => {
      write(chunk);
      if (PROMPT.test(chunk)) {
        asked.push(chunk);
        const answer = answers.shift();
        if (answer !== undefined) setImmediate(() => input.write(`${answer}\n`));
      }
      return true;
    },
  };
  loggedIn(h);
  return {
    ...h,
    asked,
    posts: () => h.calls.filter((call) => call.method === 'POST').map((call) => call.body),
  };
}

const broker =
  (...answers: Array<() => Response>) =>
  (url: string) =>
    url.endsWith('/v1/roles') ? json({ roles: [ROLE, READONLY] }) : answers.shift()!();

describe('interactive request', () => {
  it('walks through role, reason, ticket (pattern as hint), duration within limits and start', async () => {
    const t = atTerminal(
      broker(() => json(requestView(), 201)),
      ['nosuch', '1', 'db failover', 'JIRA-1', 'INC-7', '9h', '2h', ''],
    );
    expect(await run(['request'], t.ctx)).toBe(EXIT.ok);
    expect(t.asked).toEqual([
      'Role (1-2 or an id): ',
      'Role (1-2 or an id): ',
      'Reason: ',
      'Ticket (must match ^INC-[0-9]+$): ',
      'Ticket (must match ^INC-[0-9]+$): ',
      'Duration (Enter for 1h, at most 4h): ',
      'Duration (Enter for 1h, at most 4h): ',
      'Start (Enter for as soon as approved, or a delay such as 30m, or an ISO time): ',
    ]);
    expect(t.err()).toContain('  "nosuch" is not one of the roles above; type its number or its id\n');
    expect(t.err()).toContain('  "JIRA-1" does not match ^INC-[0-9]+$\n');
    expect(t.err()).toContain('  prod-admin allows at most 4h\n');
    expect(t.posts()).toEqual([
      { roleId: 'prod-admin', durationMinutes: 120, reason: 'db failover', ticket: 'INC-7' },
    ]);
  });

  it('the role picker lines its columns up', async () => {
    const t = atTerminal(
      broker(() => json(requestView(), 201)),
      ['2', 'look', '', ''],
    );
    await run(['request'], t.ctx);
    const lines = t.err().split('\n');
    const header = lines.find((line) => line.includes('ROLE'))!;
    const rows = lines.filter((line) => /^ {2}\d\)/.test(line));
    expect(rows).toHaveLength(2);
    for (const column of ['ROLE', 'MAX', 'APPROVALS', 'TICKET', 'DESCRIPTION']) {
      const at = header.indexOf(column);
      for (const row of rows) expect(row[at - 1], `${column} in ${row}`).toBe(' ');
      for (const row of rows) expect(row[at], `${column} in ${row}`).not.toBe(' ');
    }
  });

  it('a ticket the broker refuses is asked again alone; the typed reason is kept', async () => {
    const t = atTerminal(
      broker(
        () => problem(422, 'ticket_required', 'prod-readonly requires a ticket'),
        () => json(requestView({ roleId: 'prod-readonly' }), 201),
      ),
      ['prod-readonly', 'the typed reason', '', '', 'CHG-9'],
    );
    expect(await run(['request'], t.ctx)).toBe(EXIT.ok);
    expect(t.asked.at(-1)).toBe('Ticket (required): ');
    expect(t.asked.filter((q) => q === 'Reason: ')).toHaveLength(1);
    expect(t.err()).toContain('breakglass: prod-readonly requires a ticket (ticket_required)');
    const [first, second] = t.posts() as Array<Record<string, unknown>>;
    expect(first).toEqual({ roleId: 'prod-readonly', durationMinutes: 120, reason: 'the typed reason' });
    expect(second).toEqual({ ...first, ticket: 'CHG-9' });
  });

  it('with role and reason on the command line, asks only for the required ticket', async () => {
    const t = atTerminal(
      broker(() => json(requestView(), 201)),
      ['INC-42'],
    );
    expect(await run(['request', 'prod-admin', '-r', 'failover'], t.ctx)).toBe(EXIT.ok);
    expect(t.asked).toEqual(['Ticket (must match ^INC-[0-9]+$): ']);
    expect(t.posts()).toEqual([
      { roleId: 'prod-admin', durationMinutes: 60, reason: 'failover', ticket: 'INC-42' },
    ]);
  });

  it('--emergency on a role without emergency access is refused before any question', async () => {
    const t = atTerminal(broker(), ['x']);
    expect(await run(['request', 'prod-readonly', '--emergency'], t.ctx)).toBe(EXIT.usage);
    expect(t.asked).toEqual([]);
    expect(t.err()).toBe(
      'breakglass: prod-readonly does not allow emergency access (emergency_not_allowed) — ask for it without --emergency, or pick a role that allows it (`breakglass roles`)\n',
    );
    expect(t.posts()).toEqual([]);
  });

  it('Ctrl-C at a question: exit 130, one line, nothing requested', async () => {
    const t = atTerminal(broker(), []);
    const running = run(['request', 'prod-admin'], t.ctx);
    await new Promise((resolve) => setImmediate(resolve));
    await expect.poll(() => t.asked.length).toBe(1);
    t.interrupt();
    expect(await running).toBe(EXIT.interrupted);
    expect(
      t
        .err()
        .split('\n')
        .filter((line) => line.startsWith('breakglass:')),
    ).toEqual(['breakglass: interrupted; nothing was requested']);
    expect(t.posts()).toEqual([]);
  });

  it('never asks without a terminal: a missing ticket is the broker’s one-line refusal, exit 2', async () => {
    const h = harness(broker(() => problem(422, 'ticket_required', 'prod-admin requires a ticket')));
    loggedIn(h);
    expect(await run(['request', 'prod-admin', '-r', 'failover'], h.ctx)).toBe(EXIT.usage);
    expect(h.err()).toBe(
      'breakglass: prod-admin requires a ticket (ticket_required) — add --ticket with the incident ticket\n',
    );
  });
});
