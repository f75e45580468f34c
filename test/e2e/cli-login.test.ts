/** `breakglass login` end to end against the development oidc-provider: device flow, browser, refresh, logout. */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../api/local/stack.js';
import { startTestStack } from '../support/stack.js';
import { cliEnv, completeBrowserLogin, ensureBuilt, runCli, startCli, tempHome } from './cli-helpers.js';

describe('breakglass login against a real OIDC provider', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    await ensureBuilt();
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('device flow: prints the code, the user confirms in the provider pages, the CLI gets a broker token', async () => {
    const home = tempHome();
    const env = cliEnv(home, { BREAKGLASS_URL: stack.url });
    const login = startCli(['login'], env);
    const [, completeUrl] = await login.waitFor(/\(or open (\S+user_code=\S+)\)/);
    expect(login.output.stderr).toMatch(/enter the code [A-Z]{4}-[A-Z]{4}/);

    const page = await completeBrowserLogin(completeUrl!, 'dave');
    expect(page).toMatch(/success/i);
    const result = await login.finished;
    expect(result.stderr).not.toMatch(/breakglass:/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('dave@example.com');

    const session = join(home, 'state', 'session.json');
    expect(statSync(session).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(session, 'utf8')) as { method: string; refreshToken?: string };
    expect(saved.method).toBe('device');
    expect(saved.refreshToken).toBeTruthy();

    const whoami = await runCli(['whoami', '--json'], env);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      email: 'dave@example.com',
      canApprove: ['prod-admin', 'prod-readonly'],
    });

    // An expired access token is replaced silently with the refresh token.
    const before = JSON.parse(readFileSync(session, 'utf8')) as { accessToken: string; expiresAt: number };
    writeFileSync(session, JSON.stringify({ ...before, expiresAt: Date.now() - 1000 }), { mode: 0o600 });
    const refreshed = await runCli(['token'], env);
    expect(refreshed.stderr).toBe('');
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout.trim()).not.toBe(before.accessToken);
    const after = JSON.parse(readFileSync(session, 'utf8')) as { accessToken: string; expiresAt: number };
    expect(after.accessToken).toBe(refreshed.stdout.trim());
    expect(after.expiresAt).toBeGreaterThan(Date.now());

    // logout revokes the refresh token at the provider: it can no longer mint tokens.
    const refreshToken = (JSON.parse(readFileSync(session, 'utf8')) as { refreshToken: string }).refreshToken;
    const out = await runCli(['logout'], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('refresh token revoked');
    const reuse = await fetch(`${stack.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: 'breakglass-cli',
      }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
    const gone = await runCli(['whoami'], env);
    expect(gone.code).toBe(3);
  });

  it('--browser: loopback redirect on 127.0.0.1 with PKCE S256 and state', async () => {
    const home = tempHome();
    const env = cliEnv(home, { BREAKGLASS_URL: stack.url });
    const login = startCli(['login', '--browser'], env);
    const [, authorizeUrl] = await login.waitFor(/Opening (\S+)/);
    const url = new URL(authorizeUrl!);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const outcome = await completeBrowserLogin(url.href, 'carol');
    expect(outcome).toBe('callback 200');
    const result = await login.finished;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('carol@example.com');
  });

  it('--dev-user with an unknown name: one line naming the demo users, exit 3, nothing saved', async () => {
    const home = tempHome();
    const env = cliEnv(home, { BREAKGLASS_URL: stack.url });
    const result = await runCli(['login', '--dev-user', 'mallory'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'breakglass: the identity provider refused mallory: no demo user "mallory"; sign in as one of alice, bob, dave, carol, pat, erin\n',
    );
    expect(existsSync(join(home, 'state', 'session.json'))).toBe(false);
  });

  it('the web dev login names the demo users for an unknown name; a real one then signs in', async () => {
    const page = await completeBrowserLogin(`${stack.url}/auth/login`, 'mallory');
    expect(page).toContain('Unknown demo user');
    expect(page).toContain(
      'no demo user &quot;mallory&quot;; sign in as one of alice, bob, dave, carol, pat, erin',
    );
    expect(page).not.toMatch(/server_error|oops/i);
    // A real demo user then gets past the provider (this minimal browser stops at the signed-in pages).
    const again = await completeBrowserLogin(`${stack.url}/auth/login`, 'bob');
    expect(again).not.toMatch(/Unknown demo user|server_error|oops/i);
  });
});
