/** Commands run in-process with an injected fetch, clock and streams: no network, no real clock. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../cli/context.js';
import { EXIT, exitCodeForProblem, problemError } from '../../cli/errors.js';
import { run } from '../../cli/run.js';
import { saveSession } from '../../cli/state.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const SERVER = 'http://broker.test';

interface Harness {
  ctx: CliContext;
  out: () => string;
  err: () => string;
  calls: Array<{ url: string; init: RequestInit | undefined }>;
}

function harness(
  respond: (url: string, init?: RequestInit) => Response,
  env: Record<string, string> = {},
): Harness {
  let stdout = '';
  let stderr = '';
  const calls: Harness['calls'] = [];
  const home = mkdtempSync(join(tmpdir(), 'bg-unit-'));
  const ctx: CliContext = {
    env: { BREAKGLASS_HOME: join(home, 'state'), BREAKGLASS_URL: SERVER, ...env },
    home,
    cwd: home,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      calls.push({ url, init });
      return respond(url, init);
    }) as typeof fetch,
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    stdin: new PassThrough() as unknown as CliContext['stdin'],
    openUrl: async () => false,
    now: () => NOW,
    signal: new AbortController().signal,
  };
  return { ctx, out: () => stdout, err: () => stderr, calls };
}

const json = (body: unknown, status = 200, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

function loggedIn(h: Harness, expiresAt = NOW + 3600_000): void {
  saveSession(h.ctx, {
    server: SERVER,
    issuer: `${SERVER}/oidc`,
    clientId: 'breakglass-cli',
    audience: 'breakglass',
    method: 'dev-user',
    accessToken: 'header.payload.signature',
    expiresAt,
  });
}

const ROLE = {
  id: 'prod-admin',
  description: 'Admin',
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/x',
  maxDurationMinutes: 240,
  defaultDurationMinutes: 60,
  approvalsRequired: 2,
  approverGroups: ['sre-leads'],
  ticket: { required: true, pattern: '^INC-[0-9]+$' },
  emergencyAllowed: true,
};

describe('breakglass commands in-process', () => {
  it('sends the bearer token and x-breakglass-client: cli, and honours NO_COLOR in tables', async () => {
    const h = harness(() => json({ roles: [ROLE] }), { FORCE_COLOR: '1', NO_COLOR: '1' });
    loggedIn(h);
    expect(await run(['roles'], h.ctx)).toBe(EXIT.ok);
    const headers = new Headers(h.calls[0]!.init!.headers);
    expect(h.calls[0]!.url).toBe(`${SERVER}/v1/roles`);
    expect(headers.get('authorization')).toBe('Bearer header.payload.signature');
    expect(headers.get('x-breakglass-client')).toBe('cli');
    expect(h.out()).toMatch(/^ROLE {8}ACCOUNT/);
    expect(h.out()).not.toContain('\u001b[');
  });

  it('colours tables when FORCE_COLOR is set and NO_COLOR is not', async () => {
    const h = harness(() => json({ roles: [ROLE] }), { FORCE_COLOR: '1' });
    loggedIn(h);
    await run(['roles'], h.ctx);
    expect(h.out()).toContain('\u001b[1mROLE');
  });

  it('request sends minutes parsed from 1h30m and the role default when --duration is absent', async () => {
    const bodies: unknown[] = [];
    const h = harness((url, init) => {
      if (url.endsWith('/v1/roles')) return json({ roles: [ROLE] });
      bodies.push(JSON.parse(String(init!.body)));
      return json({ message: 'stop here' }, 418);
    });
    loggedIn(h);
    await run(
      ['request', 'prod-admin', '--duration', '1h30m', '--reason', 'failover', '--ticket', 'INC-1'],
      h.ctx,
    );
    await run(['request', 'prod-admin', '--reason', 'failover', '--start', '30m'], h.ctx);
    expect(bodies).toEqual([
      { roleId: 'prod-admin', durationMinutes: 90, reason: 'failover', ticket: 'INC-1' },
      { roleId: 'prod-admin', durationMinutes: 60, reason: 'failover', startAt: '2026-11-22T10:30:00.000Z' },
    ]);
  });

  it('rejects bad flags before any network call, with exit 2', async () => {
    const h = harness(() => {
      throw new Error('no network expected');
    });
    loggedIn(h);
    expect(await run(['request', 'prod-admin', '-d', '1h', '-r', 'x', '--start', 'tomorrow'], h.ctx)).toBe(
      EXIT.usage,
    );
    expect(await run(['extend', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D', '--duration', '30m'], h.ctx)).toBe(
      EXIT.usage,
    );
    expect(await run(['review', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D', '--outcome', 'acknowledged'], h.ctx)).toBe(
      EXIT.usage,
    );
    expect(await run(['list', '--mine', '--approvable'], h.ctx)).toBe(EXIT.usage);
    expect(await run(['list', '--limit', '500'], h.ctx)).toBe(EXIT.usage);
    expect(await run(['audit', 'export', '--since', 'last week'], h.ctx)).toBe(EXIT.usage);
    expect(h.calls).toHaveLength(0);
    expect(h.err().trimEnd().split('\n')).toHaveLength(6);
  });

  it('renders problem+json as one line with a hint and maps status to the exit code', async () => {
    const h = harness(() =>
      json(
        {
          type: 'x',
          title: 'Forbidden',
          status: 403,
          detail: 'you cannot approve your own request',
          code: 'self_approval',
          requestId: 'r_1',
        },
        403,
        'application/problem+json',
      ),
    );
    loggedIn(h);
    expect(await run(['approve', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D'], h.ctx)).toBe(EXIT.forbidden);
    expect(h.err()).toBe(
      'breakglass: you cannot approve your own request (self_approval) — another approver of the role has to approve it\n',
    );
  });

  it('maps every problem status to the documented exit code', () => {
    expect(exitCodeForProblem({ status: 400 })).toBe(EXIT.usage);
    expect(exitCodeForProblem({ status: 422, code: 'ticket_required' })).toBe(EXIT.usage);
    expect(exitCodeForProblem({ status: 422, code: 'unknown_role' })).toBe(EXIT.notFound);
    expect(exitCodeForProblem({ status: 401 })).toBe(EXIT.unauthenticated);
    expect(exitCodeForProblem({ status: 403 })).toBe(EXIT.forbidden);
    expect(exitCodeForProblem({ status: 404 })).toBe(EXIT.notFound);
    expect(exitCodeForProblem({ status: 409 })).toBe(EXIT.conflict);
    expect(exitCodeForProblem({ status: 502 })).toBe(EXIT.error);
    expect(problemError({ status: 500 }).message).toBe('HTTP 500 (http_500)');
  });

  it('an expired login without a refresh token is exit 3 and sends nothing', async () => {
    const h = harness(() => json({}));
    loggedIn(h, NOW - 1000);
    expect(await run(['whoami'], h.ctx)).toBe(EXIT.unauthenticated);
    expect(h.err()).toBe('breakglass: your login has expired — run `breakglass login`\n');
    expect(h.calls).toHaveLength(0);
  });

  it('a 401 from the server is exit 3 with the login hint', async () => {
    const h = harness(() =>
      json({ status: 401, code: 'invalid_token', detail: 'bad' }, 401, 'application/problem+json'),
    );
    loggedIn(h);
    expect(await run(['list'], h.ctx)).toBe(EXIT.unauthenticated);
    expect(h.err()).toMatch(/^breakglass: the server refused your login .* — run `breakglass login`\n$/);
  });

  it('a programming error is still one line, exit 1, and never a stack trace', async () => {
    const h = harness(() => new Response('{"roles": null}', { status: 200 }));
    loggedIn(h);
    expect(await run(['roles', '--json'], h.ctx)).toBe(EXIT.ok);
    const broken = harness(() => new Response('not json', { status: 200 }));
    loggedIn(broken);
    expect(await run(['roles'], broken.ctx)).toBe(EXIT.error);
    expect(broken.err().trimEnd().split('\n')).toHaveLength(1);
    expect(broken.err()).toMatch(/^breakglass: unexpected error: /);
    expect(broken.err()).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('doctor reads every configured role with iam:GetRole and fails on a role the broker cannot assume', async () => {
    const iam = mockClient(IAMClient);
    try {
      const issuer = 'arn:aws:iam::999999999999:role/breakglass-issuer';
      const trust = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: issuer },
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
            Condition: { StringEquals: { 'sts:ExternalId': 'bg-example' } },
          },
        ],
      };
      iam.on(GetRoleCommand, { RoleName: 'breakglass-prod-admin' }).resolves({
        Role: {
          RoleName: 'breakglass-prod-admin',
          Arn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
          Path: '/',
          RoleId: 'AROAEXAMPLE',
          CreateDate: new Date(NOW),
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)),
          Tags: [{ Key: 'breakglass:target', Value: 'true' }],
        },
      });
      iam.on(GetRoleCommand, { RoleName: 'breakglass-prod-readonly' }).rejects(
        Object.assign(new Error('role not found'), {
          name: 'NoSuchEntityException',
          $metadata: { httpStatusCode: 404 },
        }),
      );
      const h = harness(() => json({}));
      const example = readFileSync(join(import.meta.dirname, '../../breakglass.example.yaml'), 'utf8');
      const live = example.replace('mode: simulated', `mode: live\n  issuerRoleArn: ${issuer}`);
      writeFileSync(join(h.ctx.cwd, 'breakglass.yaml'), live);
      expect(await run(['doctor'], h.ctx)).toBe(EXIT.error);
      expect(iam.commandCalls(GetRoleCommand).map((call) => call.args[0].input.RoleName)).toEqual([
        'breakglass-prod-admin',
        'breakglass-prod-readonly',
      ]);
      expect(h.out()).toMatch(/^(OK|WARN) +prod-admin/m);
      expect(h.out()).toMatch(/^FAIL prod-readonly .*does not exist/m);
      expect(h.err()).toBe('breakglass: 1 role(s) cannot be assumed by the broker: prod-readonly\n');
    } finally {
      iam.restore();
    }
  });
});
