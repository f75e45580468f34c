/**
 * The audit keys the CLI trusts, kept apart from anything it verifies: pinned per server on first use (like
 * SSH's known_hosts) in `known-audit-keys.json`, or given with `--keys FILE`. A server that later presents a key
 * that is not pinned is refused until the user accepts it with `breakglass audit keys --accept`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import type { TrustedKeys } from '../api/services/digests.js';
import { type CliContext, stateDir } from './context.js';
import { CliError, EXIT } from './errors.js';
import { writePrivateFile } from './state.js';

interface PinnedKeys {
  keys: JSONWebKeySet['keys'];
  pinnedAt: string;
}

type KnownKeys = Record<string, PinnedKeys>;

const identity = (key: JSONWebKeySet['keys'][number]) => `${key.kid}:${key.x}:${key.y}`;

const knownKeysFile = (ctx: CliContext) => join(stateDir(ctx), 'known-audit-keys.json');

function readKnown(ctx: CliContext): KnownKeys {
  try {
    return JSON.parse(readFileSync(knownKeysFile(ctx), 'utf8')) as KnownKeys;
  } catch {
    return {};
  }
}

export function pinnedKeys(ctx: CliContext, server: string): PinnedKeys | null {
  return readKnown(ctx)[server] ?? null;
}

/** Pins `keys` for `server`; with `keep`, the keys pinned before stay trusted too (a rotation keeps old digests valid). */
export function pinKeys(ctx: CliContext, server: string, keys: JSONWebKeySet, keep = false): void {
  const known = readKnown(ctx);
  const before = keep ? (known[server]?.keys ?? []) : [];
  const seen = new Set(keys.keys.map(identity));
  known[server] = {
    keys: [...keys.keys, ...before.filter((key) => !seen.has(identity(key)))],
    pinnedAt: new Date(ctx.now()).toISOString(),
  };
  writePrivateFile(knownKeysFile(ctx), `${JSON.stringify(known, null, 2)}\n`);
}

export type Served = { ok: true; keys: JSONWebKeySet } | { ok: false; reason: string };

/** The JWKS the server publishes now; the reason when it cannot be had. */
export async function servedKeys(ctx: CliContext, server: string): Promise<Served> {
  const url = `${server}/.well-known/breakglass-audit-keys.json`;
  try {
    const response = await ctx.fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return { ok: false, reason: `${url} answered ${response.status}` };
    const body = (await response.json()) as JSONWebKeySet;
    if (!Array.isArray(body?.keys)) return { ok: false, reason: `${url} is not a JWKS` };
    return { ok: true, keys: { keys: body.keys } };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, reason: `cannot reach ${server} (${cause ?? (error as Error).name})` };
  }
}

/** Keys the server presents that are not pinned (a rotation, or a look-alike server). */
export function unpinned(pinned: PinnedKeys, served: JSONWebKeySet): string[] {
  const known = new Set(pinned.keys.map(identity));
  return served.keys.filter((key) => !known.has(identity(key))).map((key) => String(key.kid));
}

export interface Trust {
  trusted: TrustedKeys | null;
  /** Why nothing is trusted, for the failure line. */
  untrustedBecause?: string;
  /** A line for stderr, e.g. "pinned on first use". */
  notice?: string;
}

/** The keys `audit verify` trusts: `--keys`, else the server's pinned keys (pinning them on first use). */
export async function resolveTrust(ctx: CliContext, server: string, keysFile?: string): Promise<Trust> {
  if (keysFile) {
    try {
      const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as JSONWebKeySet;
      if (!Array.isArray(keys?.keys)) throw new Error('not a JWKS');
      return { trusted: { source: 'file', origin: keysFile, keys } };
    } catch (error) {
      throw new CliError(
        `cannot read the keys file ${keysFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        EXIT.usage,
      );
    }
  }
  const pinned = pinnedKeys(ctx, server);
  const served = await servedKeys(ctx, server);
  if (pinned) {
    if (served.ok) {
      const changed = unpinned(pinned, served.keys);
      if (changed.length > 0) throw keysChanged(server, changed);
    }
    return { trusted: { source: 'pinned', origin: server, keys: { keys: pinned.keys } } };
  }
  if (!served.ok)
    return { trusted: null, untrustedBecause: `no key pinned for ${server}, and ${served.reason}` };
  pinKeys(ctx, server, served.keys);
  return {
    trusted: { source: 'pinned', origin: server, keys: served.keys },
    notice: `pinned the audit keys of ${server} on first use (kid ${served.keys.keys.map((key) => key.kid).join(', ')})`,
  };
}

export function keysChanged(server: string, kids: string[]): CliError {
  return new CliError(
    `the audit keys of ${server} changed: kid ${kids.join(', ')} is not pinned — refusing to trust it`,
    EXIT.conflict,
    'if the key rotation is expected, check the new kid with your security team, then run `breakglass audit keys --accept`',
    'audit_keys_changed',
  );
}
