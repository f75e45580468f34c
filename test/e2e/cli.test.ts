/** The built `breakglass` CLI as a subprocess against a real local stack: everyday commands and every failure path. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../api/local/stack.js';
import { startTestStack } from '../support/stack.js';
import { type CliResult, cliEnv, closedPort, ensureBuilt, runCli, tempHome } from './cli-helpers.js';

type Env = NodeJS.ProcessEnv;

/** Every failure is exactly one line on stderr, prefixed, without a stack trace. */
function expectOneLineError(result: CliResult, code: number, pattern?: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^breakglass: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  if (pattern) expect(lines[0]).toMatch(pattern);
}

describe('breakglass CLI against a local stack', () => {
  let stack: LocalStack;
  const env: Record<string, Env> = {};
  const cli = (user: string, ...args: string[]) => runCli(args, env[user]!);

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startTestStack();
    await Promise.all(
      ['alice', 'bob', 'dave', 'carol', 'erin'].map(async (user) => {
        env[user] = cliEnv(tempHome(`bg-${user}-`), { BREAKGLASS_URL: stack.url });
        const login = await cli(user, 'login', '--dev-user', user, '--json');
        expect(login.code, login.stderr).toBe(0);
        expect(JSON.parse(login.stdout)).toMatchObject({
          email: `${user}@example.com`,
          method: 'dev-user',
          server: stack.url,
        });
      }),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps the login in a 0600 file and prints identity and token', async () => {
    const session = join(env.alice!.BREAKGLASS_HOME!, 'session.json');
    expect(statSync(session).mode & 0o777).toBe(0o600);
    const whoami = await cli('alice', 'whoami', '--json');
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      email: 'alice@example.com',
      groups: ['sre'],
      canRequest: ['prod-admin', 'prod-readonly'],
    });
    const token = await cli('alice', 'token');
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const human = await cli('alice', 'whoami');
    expect(human.stdout).toContain('alice@example.com');
    expect(human.stdout).toContain('can request   prod-admin, prod-readonly');
  });

  it('lists requestable roles as a table and as JSON', async () => {
    const json = await cli('alice', 'roles', '--json');
    const roles = JSON.parse(json.stdout) as Array<{
      id: string;
      approvalsRequired: number;
      emergencyAllowed: boolean;
    }>;
    expect(roles.map((role) => role.id)).toEqual(['prod-admin', 'prod-readonly']);
    expect(roles[0]).toMatchObject({ approvalsRequired: 2, emergencyAllowed: true, maxDurationMinutes: 240 });
    const table = await cli('alice', 'roles');
    const [header, first] = table.stdout.split('\n');
    expect(header).toMatch(/^ROLE\s+ACCOUNT\s+MAX\s+APPROVALS\s+EMERGENCY/);
    expect(first).toMatch(/^prod-admin\s+123456789012\s+4h\s+2\s+allowed/);
    expect(table.stdout).not.toContain('\u001b[');
    expect((await cli('erin', 'roles')).stdout).toBe('You may not request any role.\n');
  });

  it('request → two approvals → active, with self-approval refused and every step in the timeline', async () => {
    const created = await cli(
      'alice',
      'request',
      'prod-admin',
      '--duration',
      '1h30m',
      '--ticket',
      'INC-7',
      '--reason',
      'database failover',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe('');
    const request = JSON.parse(created.stdout) as {
      id: string;
      status: string;
      durationMinutes: number;
      url: string;
    };
    expect(request).toMatchObject({
      status: 'pending',
      durationMinutes: 90,
      roleId: 'prod-admin',
      ticket: 'INC-7',
    });
    expect(request.url).toBe(`${stack.url}/requests/${request.id}`);

    const first = await cli('bob', 'approve', request.id, '--comment', 'ok');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^Approved ${request.id} .* now pending \\(1 of 2 approvals\\)`));

    const self = await cli('alice', 'approve', request.id);
    expectOneLineError(self, 4, /self_approval/);
    const twice = await cli('bob', 'approve', request.id);
    expectOneLineError(twice, 6, /already_approved/);

    const second = await cli('dave', 'approve', request.id, '--json');
    expect(JSON.parse(second.stdout)).toMatchObject({
      status: 'active',
      approvals: [{ approver: { email: 'bob@example.com' }, via: 'cli' }, {}],
    });

    const status = await cli('alice', 'status', request.id);
    expect(status.stdout).toMatch(/status\s+active until/);
    expect(status.stdout).toMatch(/approved by bob@example\.com via cli: ok/);
    expect(status.stdout).toMatch(/approved by dave@example\.com via cli/);
    expect(status.stdout).toMatch(/grant activated/);

    const mine = JSON.parse((await cli('alice', 'list', '--mine', '--json')).stdout) as Array<{ id: string }>;
    expect(mine.map((item) => item.id)).toContain(request.id);
    const table = await cli('alice', 'list', '--mine', '--status', 'active');
    expect(table.stdout).toMatch(
      new RegExp(`${request.id}\\s+prod-admin\\s+active\\s+alice@example.com\\s+2 of 2\\s+1h30m`),
    );

    const revoked = await cli('alice', 'revoke', request.id, '--reason', 'done');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^Revoked .* now revoked/);
    expectOneLineError(await cli('alice', 'revoke', request.id, '--reason', 'again'), 6, /invalid_state/);
  });

  it('emergency self-activation, post-review and an approved extension', async () => {
    const created = await cli(
      'alice',
      'request',
      'prod-admin',
      '--emergency',
      '-d',
      '1h',
      '-t',
      'INC-5',
      '-r',
      'outage, nobody awake',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/status\s+active until/);
    expect(created.stdout).toContain('EMERGENCY');
    const id = /(req_\w{26})/.exec(created.stdout)![1]!;

    const extended = await cli(
      'alice',
      'extend',
      id,
      '--duration',
      '30m',
      '--reason',
      'failover still running',
    );
    expect(extended.code, extended.stderr).toBe(0);
    expect(extended.stdout, extended.stdout).toMatch(
      /^Asked to extend .* by 30m: 0 of 2 approvals, 2 more needed — the grant still ends /,
    );
    // An approver sees it waiting, and approving it says what is still missing instead of an end.
    const approvable = await cli('bob', 'list', '--approvable');
    expect(approvable.stdout).toMatch(
      new RegExp(`${id} +prod-admin +active, extending +alice@example\\.com +ext 0 of 2`),
    );
    const first = await cli('bob', 'approve', id);
    expect(first.stdout).toMatch(/^Approved the extension of .* by 30m: 1 of 2 approvals, 1 more needed/);
    const approved = JSON.parse((await cli('dave', 'approve', id, '--json')).stdout) as {
      extensions: Array<{ durationMinutes: number }>;
      extension: unknown;
    };
    expect(approved.extensions).toMatchObject([{ durationMinutes: 30 }]);
    expect(approved.extension).toBeNull();
    // The timeline, read back from storage, names the extension's approvers.
    const withApprovers = (await cli('alice', 'status', id)).stdout;
    expect(withApprovers).toMatch(/extension of 30m approved by bob@example\.com via cli/);
    expect(withApprovers).toMatch(/extension of 30m approved by dave@example\.com via cli/);

    expectOneLineError(
      await cli('bob', 'review', id, '--outcome', 'acknowledged'),
      2,
      /--comment is required/,
    );
    const reviewed = await cli(
      'bob',
      'review',
      id,
      '--outcome',
      'acknowledged',
      '--comment',
      'justified by INC-5',
      '--json',
    );
    expect(JSON.parse(reviewed.stdout)).toMatchObject({
      postReview: { outcome: 'acknowledged', by: { email: 'bob@example.com' } },
    });
    const timeline = (await cli('alice', 'status', id)).stdout;
    expect(timeline).toMatch(/requested by alice@example\.com \(EMERGENCY\)/);
    expect(timeline).toMatch(/extended by 30m \(was until [^)]+\): failover still running/);
    expect(timeline).toMatch(/post-review acknowledged by bob@example\.com: justified by INC-5/);
    await cli('alice', 'revoke', id, '--reason', 'done');
  });

  it('deny and cancel, with approvable listing for approvers', async () => {
    const one = JSON.parse(
      (await cli('alice', 'request', 'prod-readonly', '-d', '30m', '-r', 'read the logs', '--json')).stdout,
    ) as { id: string };
    const two = JSON.parse(
      (await cli('alice', 'request', 'prod-readonly', '-d', '2h', '-r', 'another look', '--json')).stdout,
    ) as { id: string };
    const approvable = JSON.parse((await cli('bob', 'list', '--approvable', '--json')).stdout) as Array<{
      id: string;
    }>;
    expect(approvable.map((item) => item.id)).toEqual(expect.arrayContaining([one.id, two.id]));

    expectOneLineError(await cli('bob', 'deny', one.id), 2, /--comment is required/);
    const denied = await cli('bob', 'deny', one.id, '--comment', 'use the dashboards', '--json');
    expect(JSON.parse(denied.stdout)).toMatchObject({
      status: 'denied',
      denial: { comment: 'use the dashboards' },
    });

    expectOneLineError(await cli('bob', 'cancel', two.id), 4);
    const cancelled = await cli('alice', 'cancel', two.id, '--json');
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ status: 'cancelled' });
    expectOneLineError(await cli('alice', 'cancel', two.id), 6, /invalid_state/);
  });

  it('refuses bad input with one line and the documented exit code', async () => {
    expectOneLineError(
      await cli('alice', 'request', 'prod-nope', '-d', '1h', '-r', 'why not'),
      5,
      /unknown_role/,
    );
    expectOneLineError(
      await cli('alice', 'request', 'prod-admin', '-d', 'soon', '-r', 'x y z'),
      2,
      /--duration "soon" is not a duration/,
    );
    expectOneLineError(await cli('alice', 'request', 'prod-readonly', '-d', '1h'), 2, /--reason is required/);
    expectOneLineError(
      await cli('alice', 'request', 'prod-readonly', '-d', '9h', '-r', 'too long'),
      2,
      /duration_out_of_range/,
    );
    expectOneLineError(
      await cli('alice', 'request', 'prod-admin', '-d', '1h', '-r', 'no ticket'),
      2,
      /ticket_required/,
    );
    expectOneLineError(
      await cli('erin', 'request', 'prod-readonly', '-d', '1h', '-r', 'curious'),
      4,
      /not_requester/,
    );
    expectOneLineError(await cli('alice', 'frobnicate'), 2, /unknown command 'frobnicate'/);
    expectOneLineError(await cli('alice', 'list', '--colour'), 2, /unknown option '--colour'/);
    expectOneLineError(await cli('alice', 'list', '--status', 'sleeping'), 2, /sleeping/);
    expectOneLineError(await cli('alice', 'status', 'not-an-id'), 2, /is not a request id/);
    expectOneLineError(await cli('alice', 'status', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D'), 5, /not_found/);
    expectOneLineError(await cli('carol', 'review', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D', '--outcome', 'meh'), 2);
  });

  it('tells you to log in when the login is absent, expired or for another server', async () => {
    const nobody = cliEnv(tempHome(), { BREAKGLASS_URL: stack.url });
    expectOneLineError(await runCli(['roles'], nobody), 3, /not logged in — run `breakglass login`/);

    const expired = cliEnv(tempHome(), { BREAKGLASS_URL: stack.url });
    expect((await runCli(['login', '--dev-user', 'alice'], expired)).code).toBe(0);
    const file = join(expired.BREAKGLASS_HOME!, 'session.json');
    const session = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...session, expiresAt: Date.now() - 60_000 }), { mode: 0o600 });
    expectOneLineError(await runCli(['list'], expired), 3, /login has expired.*breakglass login/);

    // A forged token (valid shape, wrong signature) is refused by the server.
    writeFileSync(
      file,
      JSON.stringify({ ...session, accessToken: `${String(session.accessToken).slice(0, -4)}AAAA` }),
      { mode: 0o600 },
    );
    expectOneLineError(await runCli(['list'], expired), 3, /refused your login/);

    // The token is never sent to another server.
    expectOneLineError(
      await runCli(['list', '--server', 'http://127.0.0.1:9'], env.alice!),
      3,
      /logged in to .* not http:\/\/127\.0\.0\.1:9 —/,
    );
  });

  it('--dev-user is refused by a server that is not in dev mode, and an unreachable server is one line', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          version: '1',
          issuer: 'https://idp.example.com',
          audience: 'breakglass',
          clientId: 'cli',
          scopes: ['openid'],
          devMode: false,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const home = cliEnv(tempHome());
      expectOneLineError(
        await runCli(['login', '--dev-user', 'alice', '--server', url], home),
        4,
        /not a development server/,
      );
    } finally {
      server.close();
    }
    const port = await closedPort();
    expectOneLineError(
      await runCli(
        ['login', '--dev-user', 'alice', '--server', `http://127.0.0.1:${port}`],
        cliEnv(tempHome()),
      ),
      1,
      new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });

  it('exports the audit log and verify finds the first tampered seq', async () => {
    const dir = tempHome('bg-audit-');
    const file = join(dir, 'audit.jsonl');
    expectOneLineError(await cli('alice', 'audit', 'export', '--out', file), 4);
    const exported = await cli('carol', 'audit', 'export', '--out', file);
    expect(exported.code, exported.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // A boundary line, the events with the digest lines after the events they sign, an end line.
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const indexOfSeq = (seq: number) => lines.findIndex((line) => line.includes(`"seq":${seq},`));
    const events = lines.filter((line) => !line.startsWith('{"type":"export.')).length;
    expect(events).toBeGreaterThan(5);
    expect(lines.some((line) => line.startsWith('{"type":"export.digest"'))).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'export.boundary' });
    expect(exported.stdout).toBe(`Exported ${events} events to ${file} (jsonl)\n`);

    // The first verify pins the server's key (trust on first use) and checks the manifest and digests with it.
    const ok = await cli('carol', 'audit', 'verify', file, '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      ok: true,
      events,
      firstSeq: 1,
      lastSeq: events,
      signature: 'valid',
      keySource: 'pinned',
      signedRange: { fromSeq: 1, toSeq: events },
    });
    const human = await cli('carol', 'audit', 'verify', file);
    expect(human.stdout).toMatch(
      new RegExp(
        `verified — ${events} events, seq 1…${events}; signed seq 1…${events} against pinned keys of http://`,
      ),
    );

    const tampered = join(dir, 'tampered.jsonl');
    const edited = [...lines];
    const at3 = indexOfSeq(3);
    const event = JSON.parse(edited[at3]!) as { seq: number; data: Record<string, unknown> };
    expect(event.seq).toBe(3);
    edited[at3] = JSON.stringify({ ...event, data: { ...event.data, reason: 'nothing to see' } });
    writeFileSync(tampered, `${edited.join('\n')}\n`);
    expectOneLineError(
      await cli('carol', 'audit', 'verify', tampered),
      1,
      /failed at seq 3 \(hash_mismatch\)/,
    );

    const dropped = join(dir, 'dropped.jsonl');
    writeFileSync(dropped, `${lines.filter((_, i) => i !== indexOfSeq(2)).join('\n')}\n`);
    expectOneLineError(await cli('carol', 'audit', 'verify', dropped), 1, /failed at seq 2 \(/);
    expectOneLineError(await cli('carol', 'audit', 'verify', join(dir, 'missing.jsonl')), 5, /ENOENT/);

    const stdout = await cli('carol', 'audit', 'export');
    expect(stdout.stdout.trimEnd().split('\n').length).toBeGreaterThanOrEqual(lines.length);
  });

  it('validates config files and lists every problem by path', async () => {
    const example = await runCli(
      ['config', 'validate', join(import.meta.dirname, '../../breakglass.example.yaml')],
      env.alice!,
    );
    expect(example.code, example.stderr).toBe(0);
    expect(example.stdout).toMatch(/is valid: 2 role\(s\) \(prod-admin, prod-readonly\)/);
    const bad = join(tempHome(), 'bad.yaml');
    const text = readFileSync(join(import.meta.dirname, '../../breakglass.example.yaml'), 'utf8')
      .replace('approvalsRequired: 1', 'approvalsRequired: -1')
      .replace('maxDuration: 4h', 'maxDuration: forever');
    writeFileSync(bad, text);
    const result = await runCli(['config', 'validate', bad], env.alice!);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/roles\[1\]\.approvalsRequired: /);
    expect(result.stderr).toMatch(/roles\[0\]\.maxDuration: /);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^breakglass: .* is invalid \(\d+ problems\)$/,
    );
    const json = await runCli(['config', 'validate', bad, '--json'], env.alice!);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false });
  });

  it('prints its version, help with examples on every command, and completion scripts', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    expect((await runCli(['--version'], env.alice!)).stdout).toBe(`${pkg.version}\n`);
    for (const command of [
      'login',
      'request',
      'credentials',
      'profile',
      'console',
      'list',
      'approve',
      'audit export',
      'audit verify',
      'config validate',
      'completion',
    ]) {
      const help = await runCli([...command.split(' '), '--help'], env.alice!);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
      expect(help.stdout, command).toContain('--json');
    }
    const bash = await runCli(['completion', 'bash'], env.alice!);
    expect(bash.stdout).toContain('complete -o default -F _breakglass breakglass');
    expect(bash.stdout).toMatch(/credentials\) opts="--json --server --role --refresh --help"/);
    expect((await runCli(['completion', 'fish'], env.alice!)).stdout).toContain(
      "-a request -d 'ask for a role",
    );
    expect((await runCli(['completion', 'zsh'], env.alice!)).stdout).toContain(
      'compdef _breakglass breakglass',
    );
    expectOneLineError(await runCli(['completion', 'tcsh'], env.alice!), 2, /unknown shell/);
  });
});
