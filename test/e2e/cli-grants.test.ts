/**
 * The built CLI against a local stack once grants are involved: `request --wait` while approvals arrive,
 * credential_process output read by the AWS SDK, the 0600 cache (hit without network, refresh near expiry),
 * `profile` editing an existing ~/.aws/config, and `console`.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../api/local/stack.js';
import { apiClient, startTestStack, tokenFor } from '../support/stack.js';
import { CLI, cliEnv, closedPort, ensureBuilt, runCli, startCli, tempHome } from './cli-helpers.js';

describe('breakglass CLI: waiting, credentials, profiles and console', () => {
  let stack: LocalStack;
  let alice: NodeJS.ProcessEnv;
  let bob: ReturnType<typeof apiClient>;
  let dave: ReturnType<typeof apiClient>;

  /** An active prod-readonly grant for alice (one approval by bob). */
  async function activeGrant(reason = 'read the logs'): Promise<string> {
    const created = await runCli(['request', 'prod-readonly', '-d', '2h', '-r', reason, '--json'], alice);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const approved = await bob<{ status: string }>('POST', `/v1/requests/${id}/approve`, {});
    expect(approved.body.status).toBe('active');
    return id;
  }

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startTestStack();
    alice = cliEnv(tempHome('bg-alice-'), { BREAKGLASS_URL: stack.url, BREAKGLASS_POLL_INTERVAL_MS: '150' });
    expect((await runCli(['login', '--dev-user', 'alice'], alice)).code).toBe(0);
    bob = apiClient(stack, await tokenFor(stack, 'bob'));
    dave = apiClient(stack, await tokenFor(stack, 'dave'));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('request --wait shows each approval as it arrives and ends with the next command', async () => {
    const waiting = startCli(
      ['request', 'prod-admin', '-d', '1h', '-t', 'INC-9', '-r', 'database failover', '--wait'],
      alice,
    );
    const [, id] = await waiting.waitFor(/Requested prod-admin for 1h: (req_\w+)/);
    await waiting.waitFor(/Waiting for req_\w+: pending \(0 of 2 approvals\)/);
    expect(waiting.output.stdout).toMatch(/approvers\s+sre-leads \(2 needed, never yourself\)/);

    await bob('POST', `/v1/requests/${id}/approve`, { comment: 'go' });
    await waiting.waitFor(/approved by bob@example\.com \(1 of 2\): go/);
    expect(waiting.child.exitCode).toBeNull();
    await dave('POST', `/v1/requests/${id}/approve`, {});
    const result = await waiting.finished;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/approved by dave@example\.com \(2 of 2\)/);
    expect(result.stderr).toMatch(/→ active until/);
    expect(result.stdout).toMatch(new RegExp(`${id} is active until .* Next: breakglass credentials ${id}`));
    expect((await bob('POST', `/v1/requests/${id}/revoke`, { reason: 'test done' })).status).toBe(200);
  });

  it('request --wait ends non-zero when the request is denied, and Ctrl-C stops waiting cleanly', async () => {
    const waiting = startCli(
      ['request', 'prod-readonly', '-d', '1h', '-r', 'peek', '--wait', '--json'],
      alice,
    );
    let target: { id: string } | undefined;
    for (let attempt = 0; attempt < 100 && !target; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      const pending = await bob<{ items: Array<{ id: string; reason: string }> }>(
        'GET',
        '/v1/requests?approvable=true&status=pending',
      );
      target = pending.body.items.find((item) => item.reason === 'peek');
    }
    expect(target).toBeDefined();
    await bob('POST', `/v1/requests/${target!.id}/deny`, { comment: 'not now' });
    const denied = await waiting.finished;
    expect(denied.code).toBe(6);
    expect(JSON.parse(denied.stdout)).toMatchObject({ id: target!.id, status: 'denied' });
    expect(denied.stderr).toMatch(/^breakglass: req_\w+ was denied by bob@example\.com: not now\n$/);

    const other = JSON.parse(
      (await runCli(['request', 'prod-readonly', '-d', '1h', '-r', 'later', '--json'], alice)).stdout,
    ) as { id: string };
    const watching = startCli(['status', other.id, '--wait'], alice);
    await watching.waitFor(/Waiting for/);
    watching.child.kill('SIGINT');
    const stopped = await watching.finished;
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toContain(
      `Stopped waiting; ${other.id} is still pending. Next: breakglass status ${other.id} --wait`,
    );
    expect(stopped.stderr).not.toMatch(/breakglass: /);
  });

  it('credentials prints exactly the credential_process JSON and serves the 0600 cache without any network', async () => {
    const id = await activeGrant();
    const first = await runCli(['credentials', id], alice);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const parsed = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'Version',
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ]);
    expect(parsed.Version).toBe(1);
    expect(parsed.AccessKeyId).toMatch(/^ASIASIMULATED/);
    // One JSON document and a trailing newline, from the full path and (below) the cached fast path alike.
    expect(first.stdout).toBe(`${JSON.stringify(parsed)}\n`);

    const cacheFile = join(alice.BREAKGLASS_HOME!, 'cache', 'credentials', `id-${id}.json`);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);

    const offline = `http://127.0.0.1:${await closedPort()}`;
    const hit = await runCli(['credentials', id, '--server', offline], { ...alice, BREAKGLASS_URL: offline });
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stdout).toBe(first.stdout);

    // Inside the last 5 minutes (with a grant that lasts longer) the cache is not used: the CLI asks the server
    // (here: one it has no login for) …
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, unknown>;
    const nearExpiry = { ...parsed, Expiration: new Date(Date.now() + 4 * 60_000).toISOString() };
    writeFileSync(cacheFile, JSON.stringify({ ...entry, output: JSON.stringify(nearExpiry) }), {
      mode: 0o600,
    });
    const miss = await runCli(['credentials', id], { ...alice, BREAKGLASS_URL: offline });
    expect(miss.code).toBe(3);
    // … which answers with a fresh set and rewrites the cache.
    const refreshed = await runCli(['credentials', id], alice);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const fresh = JSON.parse(refreshed.stdout) as { Expiration: string; AccessKeyId: string };
    expect(Date.parse(fresh.Expiration)).toBeGreaterThan(Date.now() + 5 * 60_000);
    expect(`${JSON.parse(readFileSync(cacheFile, 'utf8')).output}\n`).toBe(refreshed.stdout);

    // A cache file others can read is ignored rather than trusted.
    writeFileSync(cacheFile, readFileSync(cacheFile, 'utf8'), { mode: 0o644 });
    const { chmodSync } = await import('node:fs');
    chmodSync(cacheFile, 0o644);
    const untrusted = await runCli(['credentials', id], { ...alice, BREAKGLASS_URL: offline });
    expect(untrusted.code).toBe(3);
  });

  it('--role finds the active grant, explains how to get one when there is none', async () => {
    const none = await runCli(['credentials', '--role', 'prod-admin'], alice);
    expect(none.code).toBe(5);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(
      /^breakglass: you have no active grant for prod-admin — request one: breakglass request prod-admin .*--wait\n$/,
    );

    await activeGrant('for the role lookup');
    const byRole = await runCli(['credentials', '--role', 'prod-readonly'], alice);
    expect(byRole.code, byRole.stderr).toBe(0);
    expect(JSON.parse(byRole.stdout)).toMatchObject({ Version: 1 });
    const offline = `http://127.0.0.1:${await closedPort()}`;
    const cached = await runCli(['credentials', '--role', 'prod-readonly'], {
      ...alice,
      BREAKGLASS_URL: offline,
    });
    expect(cached.stdout).toBe(byRole.stdout);
  });

  it('profile edits ~/.aws/config in place and the AWS SDK process provider accepts the output', async () => {
    const configFile = join(tempHome('bg-aws-'), 'config');
    const original = [
      '# my AWS config — keep these comments',
      '[default]',
      'region = eu-west-1',
      '',
      '; staging uses SSO',
      '[profile staging]',
      'sso_session = corp',
      'sso_account_id = 111111111111',
      '',
      '[profile breakglass-prod-readonly]',
      'region = us-east-1   # keep this region',
      'credential_process = old-command',
      '',
      '[sso-session corp]',
      'sso_start_url = https://corp.awsapps.com/start',
      '',
    ].join('\n');
    writeFileSync(configFile, original);
    const env = { ...alice, AWS_CONFIG_FILE: configFile };

    const result = await runCli(['profile', 'prod-readonly'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('aws --profile breakglass-prod-readonly');
    const updated = readFileSync(configFile, 'utf8');
    const expectedLine = `credential_process = ${process.execPath} ${CLI} credentials --role prod-readonly`;
    expect(updated).toBe(original.replace('credential_process = old-command', expectedLine));

    const added = await runCli(['profile', 'prod-admin', '--name', 'pa', '--region', 'us-east-2'], env);
    expect(added.code, added.stderr).toBe(0);
    const withNew = readFileSync(configFile, 'utf8');
    expect(withNew.startsWith(updated)).toBe(true);
    expect(withNew.slice(updated.length)).toBe(
      `\n[profile pa]\ncredential_process = ${process.execPath} ${CLI} credentials --role prod-admin\nregion = us-east-2\n`,
    );
    const again = await runCli(['profile', 'prod-admin', '--name', 'pa', '--region', 'us-east-2'], env);
    expect(again.stdout).toMatch(/^Profile already up to date/);
    expect(readFileSync(configFile, 'utf8')).toBe(withNew);

    // The SDK runs credential_process itself (through a shell, with this process's environment).
    await activeGrant('for the sdk');
    const saved = { home: process.env.BREAKGLASS_HOME, url: process.env.BREAKGLASS_URL };
    process.env.BREAKGLASS_HOME = alice.BREAKGLASS_HOME;
    process.env.BREAKGLASS_URL = stack.url;
    try {
      const provider = fromProcess({
        profile: 'breakglass-prod-readonly',
        configFilepath: configFile,
        filepath: join(configFile, '..', 'none'),
      });
      const credentials = await provider();
      expect(credentials.accessKeyId).toMatch(/^ASIASIMULATED/);
      expect(credentials.sessionToken).toBeTruthy();
      expect(credentials.expiration!.getTime()).toBeGreaterThan(Date.now());
    } finally {
      for (const [key, value] of [
        ['BREAKGLASS_HOME', saved.home],
        ['BREAKGLASS_URL', saved.url],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('console --print prints the sign-in URL; --json gives url and expiry', async () => {
    const id = await activeGrant('console look');
    const printed = await runCli(['console', id, '--print'], alice);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout.trim()).toMatch(/^https:\/\/\S+$/);
    const json = JSON.parse((await runCli(['console', id, '--json'], alice)).stdout) as {
      url: string;
      expiresAt: string;
    };
    expect(json.url).toMatch(/^https:\/\//);
    expect(Date.parse(json.expiresAt)).toBeGreaterThan(Date.now());
    // Without a browser it falls back to printing, saying why on stderr.
    const fallback = await runCli(['console', id], alice);
    expect(fallback.code).toBe(0);
    expect(fallback.stderr).toMatch(/Could not open a browser/);
    expect(fallback.stdout.trim()).toMatch(/^https:\/\//);
  });
});
