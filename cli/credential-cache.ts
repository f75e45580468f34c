/**
 * The credential_process cache. This module is on the hot path of every `aws` call that uses a breakglass
 * profile, so it imports Node built-ins only: a cache hit must not load commander, openid-client or the SDK.
 */
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Cached credentials are served until this long before their Expiration, then fetched again. */
export const REFRESH_BEFORE_MS = 5 * 60 * 1000;
/** An entry older than this is re-validated with the server (grant still active, session not cut off). */
export const REVALIDATE_AFTER_MS = 5 * 60 * 1000;

export type CredentialTarget = { requestId: string } | { roleId: string };

/**
 * One cache file: the credential_process JSON exactly as first printed, and what the CLI knows about the grant
 * it came from, so that a revoke, a new grant or a cut-off can drop it.
 */
export interface CacheEntry {
  v: 2;
  output: string;
  requestId: string;
  roleId: string | null;
  /** When the credentials were fetched (ms): a role-wide cut-off after this may have killed them. */
  fetchedAt: number;
  /** When the server last confirmed the grant (ms). */
  validatedAt: number;
  /** The grant's end, once known: credentials that already last until it cannot get any longer. */
  endAt: string | null;
}

/** What to do with a cache entry at `now`. */
export type CacheDecision = 'serve' | 'revalidate' | 'refresh' | 'expired';

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

const expirationOf = (entry: CacheEntry) =>
  Date.parse((JSON.parse(entry.output) as { Expiration: string }).Expiration);

/**
 * - `expired`: the credentials no longer work at all;
 * - `refresh`: within 5 minutes of their expiry and a fetch would give longer ones (the grant lasts longer);
 *   credentials that already last until the grant's end are served to the end instead of re-issued per call;
 * - `revalidate`: older than 5 minutes since the server last confirmed the grant;
 * - `serve`: as they are.
 */
export function cacheDecision(entry: CacheEntry, now: number): CacheDecision {
  const expires = expirationOf(entry);
  if (!Number.isFinite(expires) || expires <= now) return 'expired';
  const lastUntilGrantEnd = entry.endAt !== null && expires >= Date.parse(entry.endAt);
  if (expires - REFRESH_BEFORE_MS <= now && !lastUntilGrantEnd) return 'refresh';
  if (now - entry.validatedAt >= REVALIDATE_AFTER_MS) return 'revalidate';
  return 'serve';
}

/**
 * Reads a cache entry, or null when there is none usable. A file readable by anyone else is ignored: it may
 * have been planted.
 */
export function readCacheEntry(file: string): CacheEntry | null {
  try {
    const stat = statSync(file);
    if ((stat.mode & 0o077) !== 0) return null;
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return null;
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheEntry>;
    if (entry.v !== 2 || typeof entry.output !== 'string' || typeof entry.requestId !== 'string') return null;
    if (typeof entry.fetchedAt !== 'number' || typeof entry.validatedAt !== 'number') return null;
    const output = JSON.parse(entry.output) as { Version?: unknown; Expiration?: unknown };
    if (output.Version !== 1 || typeof output.Expiration !== 'string') return null;
    return { roleId: null, endAt: null, ...entry } as CacheEntry;
  } catch {
    return null;
  }
}

/** The cached credential_process JSON when it may be served without asking the server, else null. */
export function readCachedCredentials(file: string, now: number): string | null {
  const entry = readCacheEntry(file);
  return entry && cacheDecision(entry, now) === 'serve' ? entry.output : null;
}

/** Writes a cache entry atomically with mode 0600. */
export function writeCacheEntry(file: string, entry: CacheEntry): void {
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function clearCredentialCache(stateDir: string): void {
  rmSync(credentialCacheDir(stateDir), { recursive: true, force: true });
}

/**
 * Drops every entry that matches: the grant's own entry and any role entry that points at it (revoke,
 * cancel), or a role's entry (a new grant for that role). Returns how many were dropped.
 */
export function dropCachedCredentials(
  stateDir: string,
  match: { requestId?: string; roleId?: string },
): number {
  const dir = credentialCacheDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return 0;
  }
  let dropped = 0;
  for (const name of names) {
    const file = join(dir, name);
    const entry = readCacheEntry(file);
    const hit =
      (match.requestId !== undefined &&
        (entry?.requestId === match.requestId ||
          file === credentialCacheFile(stateDir, { requestId: match.requestId }))) ||
      (match.roleId !== undefined &&
        (entry?.roleId === match.roleId || file === credentialCacheFile(stateDir, { roleId: match.roleId })));
    if (hit) {
      rmSync(file, { force: true });
      dropped += 1;
    }
  }
  return dropped;
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
