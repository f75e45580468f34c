import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  breakglassHome,
  cachedCredentialsFor,
  credentialCacheFile,
  REFRESH_BEFORE_MS,
  readCachedCredentials,
  writeCachedCredentials,
} from '../../cli/credential-cache.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';

function credentials(expiresInMs: number): string {
  return JSON.stringify({
    Version: 1,
    AccessKeyId: 'ASIASIMULATED',
    SecretAccessKey: 's',
    SessionToken: 't',
    Expiration: new Date(NOW + expiresInMs).toISOString(),
  });
}

describe('the credential_process cache', () => {
  it('serves a fresh entry verbatim and refuses one within 5 minutes of expiry', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const file = credentialCacheFile(home, { requestId: ID });
    writeCachedCredentials(file, credentials(REFRESH_BEFORE_MS + 1000));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readCachedCredentials(file, NOW)).toBe(credentials(REFRESH_BEFORE_MS + 1000));
    expect(readCachedCredentials(file, NOW + 1000)).toBeNull();
    writeCachedCredentials(file, credentials(60_000));
    expect(readCachedCredentials(file, NOW)).toBeNull();
  });

  it('ignores files others can read, garbage and wrong versions', () => {
    const home = mkdtempSync(join(tmpdir(), 'bg-cache-'));
    const file = credentialCacheFile(home, { roleId: 'prod-admin' });
    writeCachedCredentials(file, credentials(3600_000));
    chmodSync(file, 0o644);
    expect(readCachedCredentials(file, NOW)).toBeNull();
    writeCachedCredentials(file, 'not json');
    expect(readCachedCredentials(file, NOW)).toBeNull();
    writeCachedCredentials(
      file,
      JSON.stringify({ Version: 2, Expiration: new Date(NOW + 3600_000).toISOString() }),
    );
    expect(readCachedCredentials(file, NOW)).toBeNull();
    expect(readCachedCredentials(join(home, 'missing.json'), NOW)).toBeNull();
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
    const fresh = credentials(365 * 24 * 3600_000);
    writeCachedCredentials(credentialCacheFile(home, { requestId: ID }), fresh);
    writeCachedCredentials(credentialCacheFile(home, { roleId: 'prod-admin' }), fresh);
    expect(cachedCredentialsFor(['credentials', ID], env)).toBe(fresh);
    expect(cachedCredentialsFor(['credentials', ID, '--json', '--server', 'http://x'], env)).toBe(fresh);
    expect(cachedCredentialsFor(['credentials', '--role', 'prod-admin'], env)).toBe(fresh);
    expect(cachedCredentialsFor(['credentials', '--role=prod-admin', '--server=http://x'], env)).toBe(fresh);
    expect(cachedCredentialsFor(['credentials', ID, '--help'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials', ID, '--role', 'prod-admin'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials'], env)).toBeNull();
    expect(cachedCredentialsFor(['credentials', '--role'], env)).toBeNull();
    expect(cachedCredentialsFor(['status', ID], env)).toBeNull();
  });

  it('lives under BREAKGLASS_HOME, else ~/.config/breakglass', () => {
    expect(breakglassHome({ BREAKGLASS_HOME: '/x' }, '/home/a')).toBe('/x');
    expect(breakglassHome({}, '/home/a')).toBe('/home/a/.config/breakglass');
  });
});
