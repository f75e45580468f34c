import { chmodSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../cli/context.js';
import {
  breakglassHome,
  type CacheEntry,
  cacheDecision,
  cachedCredentialsFor,
  credentialCacheFile,
  dropCachedCredentials,
  REFRESH_BEFORE_MS,
  REVALIDATE_AFTER_MS,
  readCachedCredentials,
  readCacheEntry,
  writeCacheEntry,
} from '../../cli/credential-cache.js';
import { run } from '../../cli/run.js';
import { saveSession } from '../../cli/state.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';
const NEW_ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3NEW';
const SERVER = 'http://broker.test';

function credentials(expiresInMs: number, key = 'ASIASIMULATED'): string {
  return JSON.stringify({
    Version: 1,
    AccessKeyId: key,
    SecretAccessKey: 's',
    SessionToken: 't',
    Expiration: new Date(NOW + expiresInMs).toISOString(),
  });
}

function entry(expiresInMs: number, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    v: 2,
    output: credentials(expiresInMs),
    requestId: ID,
    roleId: 'prod-admin',
    fetchedAt: NOW,
    validatedAt: NOW,
    endAt: null,
    ...overrides,
  };
}

describe('the credential_process cache', () => {
  it('serves a fresh, recently confirmed entry verbatim, 0600', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const file = credentialCacheFile(home, { requestId: ID });
    writeCacheEntry(file, entry(REFRESH_BEFORE_MS + 1000));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readCachedCredentials(file, NOW)).toBe(credentials(REFRESH_BEFORE_MS + 1000));
    expect(readCachedCredentials(file, NOW + 1000)).toBeNull();
  });

  it.each([
    ['confirmed just now, an hour left', 'serve', entry(3600_000), NOW],
    ['confirmed 5 minutes ago', 'revalidate', entry(3600_000), NOW + REVALIDATE_AFTER_MS],
    [
      '4 minutes left, the grant lasts longer',
      'refresh',
      entry(4 * 60_000, { endAt: '2026-11-22T11:00:00Z' }),
      NOW,
    ],
    ['4 minutes left, grant end unknown', 'refresh', entry(4 * 60_000), NOW],
    // The last 5 minutes of a grant: a fetch could not give longer credentials, so none is made per call.
    [
      '4 minutes left, lasting until the grant end',
      'serve',
      entry(4 * 60_000, { endAt: '2026-11-22T10:04:00Z' }),
      NOW,
    ],
    ['past its Expiration', 'expired', entry(60_000), NOW + 60_000],
  ] as const)('%s → %s', (_name, decision, cached, now) => {
    expect(cacheDecision(cached, now)).toBe(decision);
  });

  it('ignores files others can read, garbage, the old format and wrong versions', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const file = credentialCacheFile(home, { roleId: 'prod-admin' });
    writeCacheEntry(file, entry(3600_000));
    chmodSync(file, 0o644);
    expect(readCacheEntry(file)).toBeNull();
    writeCacheEntry(file, { ...entry(3600_000), output: 'not json' });
    expect(readCacheEntry(file)).toBeNull();
    writeCacheEntry(file, { ...entry(3600_000), output: JSON.stringify({ Version: 2, Expiration: 'x' }) });
    expect(readCacheEntry(file)).toBeNull();
    expect(readCacheEntry(join(home, 'missing.json'))).toBeNull();
  });

  it('drops the entries of a grant (by id and a role entry pointing at it) or of a role, and only those', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const byId = credentialCacheFile(home, { requestId: ID });
    const byRole = credentialCacheFile(home, { roleId: 'prod-admin' });
    const other = credentialCacheFile(home, { roleId: 'prod-readonly' });
    writeCacheEntry(byId, entry(3600_000, { roleId: null }));
    writeCacheEntry(byRole, entry(3600_000));
    writeCacheEntry(other, entry(3600_000, { requestId: NEW_ID, roleId: 'prod-readonly' }));
    expect(dropCachedCredentials(home, { requestId: ID })).toBe(2);
    expect([existsSync(byId), existsSync(byRole), existsSync(other)]).toEqual([false, false, true]);
    expect(dropCachedCredentials(home, { roleId: 'prod-readonly' })).toBe(1);
    expect(existsSync(other)).toBe(false);
  });

  it('keys entries by request id or role, never letting a name escape the cache directory', () => {
    const home = '/state';
    expect(credentialCacheFile(home, { requestId: ID })).toBe(`/state/cache/credentials/id-${ID}.json`);
    expect(credentialCacheFile(home, { roleId: '../../etc/passwd' })).toBe(
      '/state/cache/credentials/role-.._.._etc_passwd.json',
    );
  });

  it('recognises only the credentials invocations it can answer alone', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const env = { BREAKGLASS_HOME: home };
    const fresh = { ...entry(365 * 24 * 3600_000), fetchedAt: Date.now(), validatedAt: Date.now() };
    writeCacheEntry(credentialCacheFile(home, { requestId: ID }), fresh);
    writeCacheEntry(credentialCacheFile(home, { roleId: 'prod-admin' }), fresh);
    expect(cachedCredentialsFor(['credentials', ID], env)).toBe(fresh.output);
    expect(cachedCredentialsFor(['credentials', ID, '--json', '--server', 'http://x'], env)).toBe(
      fresh.output,
    );
    expect(cachedCredentialsFor(['credentials', '--role', 'prod-admin'], env)).toBe(fresh.output);
    expect(cachedCredentialsFor(['credentials', '--role=prod-admin', '--server=http://x'], env)).toBe(
      fresh.output,
    );
    expect(cachedCredentialsFor(['credentials', ID, '--refresh'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials', ID, '--help'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials', ID, '--role', 'prod-admin'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials', '--role'], env)).toBeNull();
    expect(cachedCredentialsFor(['status', ID], env)).toBeNull();
    // Unconfirmed for 5 minutes: the fast path leaves it to the full CLI's re-validation.
    writeCacheEntry(credentialCacheFile(home, { requestId: ID }), {
      ...fresh,
      validatedAt: Date.now() - REVALIDATE_AFTER_MS,
    });
    expect(cachedCredentialsFor(['credentials', ID], env)).toBeNull();
  });

  it('lives under BREAKGLASS_HOME, else ~/.config/breakglass', () => {
    expect(breakglassHome({ BREAKGLASS_HOME: '/x' }, '/home/a')).toBe('/x');
    expect(breakglassHome({}, '/home/a')).toBe('/home/a/.config/breakglass');
  });
});

/** The CLI in-process against a scripted broker: which requests it makes and what it prints. */
function cli(respond: (method: string, path: string) => Response | Promise<Response>) {
  let stdout = '';
  let stderr = '';
  let now = NOW;
  const calls: string[] = [];
  const home = mkdtempSync(join(tmpdir(), 'bg-cache-cli-'));
  const ctx: CliContext = {
    env: { BREAKGLASS_HOME: join(home, 'state'), BREAKGLASS_URL: SERVER },
    home,
    cwd: home,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const method = init?.method ?? 'GET';
      calls.push(`${method} ${url.pathname}${url.search}`);
      return respond(method, `${url.pathname}${url.search}`);
    }) as typeof fetch,
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: {
      write: (chunk: string) => {
        stderr += chunk;
        return true;
      },
    },
    stdin: new PassThrough() as unknown as CliContext['stdin'],
    openUrl: async () => false,
    now: () => now,
    signal: new AbortController().signal,
  };
  saveSession(ctx, {
    server: SERVER,
    issuer: `${SERVER}/oidc`,
    clientId: 'breakglass-cli',
    audience: 'breakglass',
    method: 'dev-user',
    accessToken: 'header.payload.signature',
    expiresAt: NOW + 24 * 3600_000,
  });
  return {
    ctx,
    calls,
    run: async (...argv: string[]) => {
      stdout = '';
      stderr = '';
      calls.length = 0;
      const code = await run(argv, ctx);
      return { code, stdout, stderr };
    },
    advance: (ms: number) => {
      now += ms;
    },
    cacheFile: (target: { requestId: string } | { roleId: string }) =>
      credentialCacheFile(join(home, 'state'), target),
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });

const grantView = (id: string, endAt = '2026-11-22T12:00:00Z') => ({
  id,
  roleId: 'prod-admin',
  status: 'active',
  endAt,
  requester: { email: 'alice@example.com' },
});

describe('credentials follows the grant', () => {
  /** A broker with one active grant per role, and counters of what was issued. */
  function broker() {
    const state = { grantId: ID, status: 'active', issued: 0, lastRevocationOnRoleAt: null as string | null };
    const respond = (method: string, path: string) => {
      if (method === 'GET' && path.startsWith('/v1/requests?'))
        return json({ items: state.status === 'active' ? [grantView(state.grantId)] : [] });
      if (method === 'POST' && path.endsWith('/credentials')) {
        if (!path.includes(state.grantId) || state.status !== 'active')
          return json({ code: 'grant_not_active', title: 'Conflict', status: 409 }, 409);
        state.issued += 1;
        return new Response(credentials(3600_000, `ASIA${state.grantId.slice(-3)}${state.issued}`), {
          headers: { 'content-type': 'application/json' },
        });
      }
      if (method === 'GET' && path.endsWith('/grant-status')) {
        const id = path.split('/')[3]!;
        const active = id === state.grantId && state.status === 'active';
        return json({
          id,
          roleId: 'prod-admin',
          status: active ? 'active' : 'revoked',
          active,
          endAt: '2026-11-22T12:00:00Z',
          lastRevocationOnRoleAt: state.lastRevocationOnRoleAt,
        });
      }
      if (method === 'POST' && path.endsWith('/revoke')) {
        state.status = 'revoked';
        return json({ ...grantView(ID), status: 'revoked' });
      }
      if (method === 'POST' && path.endsWith('/cancel'))
        return json({ ...grantView(ID), status: 'cancelled' });
      if (method === 'POST' && path === '/v1/requests') {
        state.grantId = NEW_ID;
        state.status = 'active';
        return json(grantView(NEW_ID), 201);
      }
      if (method === 'GET' && path === '/v1/roles')
        return json({ roles: [{ id: 'prod-admin', description: 'x' }] });
      return json({ code: 'not_found', title: 'Not found', status: 404 }, 404);
    };
    return { state, respond };
  }

  it('revoke drops the cache: the same CLI no longer serves the revoked grant’s credentials', async () => {
    const { respond } = broker();
    const h = cli(respond);
    expect((await h.run('credentials', ID)).code).toBe(0);
    const revoked = await h.run('revoke', ID, '--reason', 'done');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(existsSync(h.cacheFile({ requestId: ID }))).toBe(false);
    const after = await h.run('credentials', ID);
    expect(after.code).not.toBe(0);
    expect(after.stdout).toBe('');
  });

  it('cancel drops the grant’s entries too', async () => {
    const { respond } = broker();
    const h = cli(respond);
    await h.run('credentials', '--role', 'prod-admin');
    expect(existsSync(h.cacheFile({ roleId: 'prod-admin' }))).toBe(true);
    expect((await h.run('cancel', ID)).code).toBe(0);
    expect(existsSync(h.cacheFile({ roleId: 'prod-admin' }))).toBe(false);
  });

  it('a new grant for the role replaces the old grant’s cached credentials', async () => {
    const { respond } = broker();
    const h = cli(respond);
    const old = JSON.parse((await h.run('credentials', '--role', 'prod-admin')).stdout).AccessKeyId;
    await h.run('request', 'prod-admin', '--duration', '1h', '--reason', 'again');
    const fresh = JSON.parse((await h.run('credentials', '--role', 'prod-admin')).stdout).AccessKeyId;
    expect(fresh).not.toBe(old);
    expect(fresh).toMatch(/NEW/);
  });

  it('prints one JSON document ending in a newline, fetched or served from the cache', async () => {
    const { respond } = broker();
    const h = cli(respond);
    const fetched = (await h.run('credentials', ID)).stdout;
    const served = (await h.run('credentials', ID)).stdout;
    for (const out of [fetched, served]) {
      expect(out.endsWith('}\n')).toBe(true);
      expect(out.split('\n')).toHaveLength(2);
      expect(JSON.parse(out)).toMatchObject({ Version: 1 });
    }
  });

  it('--refresh fetches even when the cache could serve', async () => {
    const { state, respond } = broker();
    const h = cli(respond);
    await h.run('credentials', ID);
    await h.run('credentials', ID, '--refresh');
    expect(state.issued).toBe(2);
  });

  it('serves a confirmed entry with no request, re-validates after 5 minutes with one small request', async () => {
    const { state, respond } = broker();
    const h = cli(respond);
    const first = await h.run('credentials', ID);
    const served = await h.run('credentials', ID);
    expect(served.stdout).toBe(first.stdout);
    expect(h.calls).toEqual([]);
    h.advance(REVALIDATE_AFTER_MS);
    const revalidated = await h.run('credentials', ID);
    expect(revalidated.stdout).toBe(first.stdout);
    expect(h.calls).toEqual([`GET /v1/requests/${ID}/grant-status`]);
    expect(state.issued).toBe(1);
  });

  it('a grant revoked elsewhere is noticed at re-validation: the entry is dropped and nothing served', async () => {
    const { state, respond } = broker();
    const h = cli(respond);
    await h.run('credentials', ID);
    state.status = 'revoked';
    h.advance(REVALIDATE_AFTER_MS);
    const after = await h.run('credentials', ID);
    expect(after.code).toBe(6);
    expect(after.stdout).toBe('');
    expect(existsSync(h.cacheFile({ requestId: ID }))).toBe(false);
  });

  it('a revocation on the role after the fetch (a possible cut-off) makes it fetch fresh credentials', async () => {
    const { state, respond } = broker();
    const h = cli(respond);
    const first = await h.run('credentials', '--role', 'prod-admin');
    state.lastRevocationOnRoleAt = new Date(NOW + 60_000).toISOString();
    h.advance(REVALIDATE_AFTER_MS);
    const after = await h.run('credentials', '--role', 'prod-admin');
    expect(after.code).toBe(0);
    expect(after.stdout).not.toBe(first.stdout);
    expect(state.issued).toBe(2);
  });

  it('serves from the cache when the server is unreachable at re-validation', async () => {
    const { respond } = broker();
    let down = false;
    const h = cli((method, path) => {
      if (down) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      return respond(method, path);
    });
    const first = await h.run('credentials', ID);
    down = true;
    h.advance(REVALIDATE_AFTER_MS);
    const served = await h.run('credentials', ID);
    expect(served.code).toBe(0);
    expect(served.stdout).toBe(first.stdout);
  });

  it('in the last 5 minutes of a grant, credentials lasting until its end are not re-issued on every call', async () => {
    const end = new Date(NOW + 4 * 60_000).toISOString();
    let issued = 0;
    const h = cli((method, path) => {
      if (method === 'POST' && path.endsWith('/credentials')) {
        issued += 1;
        return new Response(credentials(4 * 60_000), { headers: { 'content-type': 'application/json' } });
      }
      if (path.endsWith('/grant-status'))
        return json({
          id: ID,
          roleId: 'prod-admin',
          status: 'active',
          active: true,
          endAt: end,
          lastRevocationOnRoleAt: null,
        });
      return json({ code: 'not_found', status: 404 }, 404);
    });
    for (let call = 0; call < 5; call++) {
      expect((await h.run('credentials', ID)).code).toBe(0);
      h.advance(10_000);
    }
    expect(issued).toBe(1);
  });
});
