/**
 * The credential_process cache. This module is on the hot path of every `aws` call that uses a breakglass
 * profile, so it imports Node built-ins only: a cache hit must not load commander, openid-client or the SDK.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Cached credentials are served until this long before their Expiration, then fetched again. */
export const REFRESH_BEFORE_MS = 5 * 60 * 1000;

export type CredentialTarget = { requestId: string } | { roleId: string };

/** BREAKGLASS_HOME, or ~/.config/breakglass. */
export function breakglassHome(env: Record<string, string | undefined>, home = homedir()): string {
  return env.BREAKGLASS_HOME || join(home, '.config', 'breakglass');
}

export function credentialCacheDir(stateDir: string): string {
  return join(stateDir, 'cache', 'credentials');
}

export function credentialCacheFile(stateDir: string, target: CredentialTarget): string {
  const key = 'requestId' in target ? `id-${target.requestId}` : `role-${target.roleId}`;
  return join(credentialCacheDir(stateDir), `${key.replace(/[^\w.-]/g, '_')}.json`);
}

/**
 * Returns the cached credential_process JSON (exactly as first printed) when it is still fresh, else null.
 * A file readable by anyone else is ignored: it may have been planted.
 */
export function readCachedCredentials(file: string, now: number): string | null {
  try {
    const stat = statSync(file);
    if ((stat.mode & 0o077) !== 0) return null;
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return null;
    const text = readFileSync(file, 'utf8');
    const parsed = JSON.parse(text) as { Version?: unknown; Expiration?: unknown };
    if (parsed.Version !== 1 || typeof parsed.Expiration !== 'string') return null;
    const expires = Date.parse(parsed.Expiration);
    if (!Number.isFinite(expires) || expires - REFRESH_BEFORE_MS <= now) return null;
    return text;
  } catch {
    return null;
  }
}

/** Writes the credential_process JSON atomically with mode 0600. */
export function writeCachedCredentials(file: string, json: string): void {
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, json, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function clearCredentialCache(stateDir: string): void {
  rmSync(credentialCacheDir(stateDir), { recursive: true, force: true });
}

/**
 * Recognises `credentials ID` / `credentials --role ROLE` (with optional --json / --server, which do not change
 * the answer) and returns the fresh cached output, or null so the full CLI handles the call.
 */
export function cachedCredentialsFor(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): string | null {
  if (argv[0] !== 'credentials') return null;
  let requestId: string | undefined;
  let roleId: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') continue;
    if (arg === '--server' || arg === '--role') {
      const value = argv[++i];
      if (value === undefined) return null;
      if (arg === '--role') roleId = value;
      continue;
    }
    if (arg.startsWith('--server=')) continue;
    if (arg.startsWith('--role=')) {
      roleId = arg.slice('--role='.length);
      continue;
    }
    if (arg.startsWith('-') || requestId !== undefined) return null;
    requestId = arg;
  }
  if ((requestId === undefined) === (roleId === undefined)) return null;
  const target: CredentialTarget = requestId !== undefined ? { requestId } : { roleId: roleId! };
  return readCachedCredentials(credentialCacheFile(breakglassHome(env), target), Date.now());
}
