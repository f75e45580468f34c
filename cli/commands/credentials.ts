/** `credentials` (credential_process), `profile` (~/.aws/config) and `console`. */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiClient } from '../api-client.js';
import { shellWord, upsertProfile } from '../aws-config.js';
import { type CliContext, stateDir } from '../context.js';
import {
  type CacheEntry,
  type CredentialTarget,
  cacheDecision,
  credentialCacheFile,
  readCacheEntry,
  writeCacheEntry,
} from '../credential-cache.js';
import { CliError, EXIT, usage } from '../errors.js';
import { shortTime, writeJson } from '../output.js';
import type { RequestView } from '../requests-view.js';
import { writePrivateFile } from '../state.js';
import { connect, type GlobalOptions, requestId } from './common.js';

export interface CredentialsOptions extends GlobalOptions {
  role?: string;
  /** Ignore the cache and fetch new credentials. */
  refresh?: boolean;
}

interface GrantStatus {
  id: string;
  status: string;
  active: boolean;
  endAt: string | null;
  lastRevocationOnRoleAt: string | null;
}

interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/** The caller's active grant for a role, or a one-line explanation of how to get one. */
async function activeGrantFor(client: ApiClient, roleId: string): Promise<RequestView> {
  const query = new URLSearchParams({ mine: 'true', status: 'active', role: roleId, limit: '100' });
  const page = await client.json<{ items: RequestView[] }>('GET', `/v1/requests?${query}`);
  const grants = page.items.filter((item) => item.roleId === roleId && item.status === 'active');
  grants.sort((a, b) => (b.endAt ?? '').localeCompare(a.endAt ?? ''));
  const grant = grants[0];
  if (!grant) {
    throw new CliError(
      `you have no active grant for ${roleId}`,
      EXIT.notFound,
      `request one: breakglass request ${roleId} --duration 1h --reason "…" --wait`,
      'no_active_grant',
    );
  }
  return grant;
}

/**
 * Prints exactly the credential_process JSON. The cached path (cli/main.ts) answers before this module loads
 * when the entry needs nothing; this handles the rest:
 * - `--refresh`: fetch regardless of the cache;
 * - an entry the server confirmed more than 5 minutes ago: one small `grant-status` read. Still active and not
 *   cut off → served (and re-confirmed); revoked, ended or possibly cut off → dropped (a role entry then fetches
 *   for the current grant). Server unreachable → served from the cache while the credentials last;
 * - an entry within 5 minutes of expiry that a fetch could extend → fetch; one that already lasts until the
 *   grant's end is served to the end instead of re-issued on every call.
 */
export async function credentials(
  ctx: CliContext,
  id: string | undefined,
  options: CredentialsOptions,
): Promise<void> {
  if ((id === undefined) === (options.role === undefined))
    throw usage('give a request id or --role ROLE (one of them)');
  const target: CredentialTarget =
    id !== undefined ? { requestId: requestId(id) } : { roleId: options.role! };
  const cacheFile = credentialCacheFile(stateDir(ctx), target);
  const entry = options.refresh ? null : readCacheEntry(cacheFile);
  if (entry) {
    const decision = cacheDecision(entry, ctx.now());
    if (decision === 'serve') {
      ctx.stdout.write(`${entry.output}\n`);
      return;
    }
    if (decision === 'revalidate' || (decision === 'refresh' && entry.endAt === null)) {
      const checked = await revalidate(ctx, options, cacheFile, entry, target);
      // Unreachable: the cached credentials still carry the hard stop and any revocation, so serving them
      // cannot widen access; they are served until they expire.
      if (checked === 'unreachable' || (checked && cacheDecision(checked, ctx.now()) === 'serve')) {
        ctx.stdout.write(`${entry.output}\n`);
        return;
      }
    }
  }
  rmSync(cacheFile, { force: true });
  const client = await connect(ctx, options);
  const grant = 'requestId' in target ? null : await activeGrantFor(client, target.roleId);
  const grantId = grant?.id ?? (target as { requestId: string }).requestId;
  const issued = await client.json<ProcessCredentials>('POST', `/v1/requests/${grantId}/credentials`, {
    body: {},
  });
  if (issued.Version !== 1 || !issued.AccessKeyId || !issued.SecretAccessKey || !issued.Expiration) {
    throw new CliError('the server returned credentials in an unexpected shape', EXIT.error);
  }
  const output = JSON.stringify({
    Version: 1,
    AccessKeyId: issued.AccessKeyId,
    SecretAccessKey: issued.SecretAccessKey,
    SessionToken: issued.SessionToken,
    Expiration: issued.Expiration,
  });
  const now = ctx.now();
  writeCacheEntry(cacheFile, {
    v: 2,
    output,
    requestId: grantId,
    roleId: grant?.roleId ?? null,
    fetchedAt: now,
    validatedAt: now,
    endAt: grant?.endAt ?? null,
  });
  // One JSON document and a newline, like every other command's output (a terminal prompt starts on its own line).
  ctx.stdout.write(`${output}\n`);
}

/**
 * Asks the server whether the entry's grant still serves it. Returns the updated entry, null when it must not
 * be served (dropped), or `unreachable` when the server could not be asked.
 */
async function revalidate(
  ctx: CliContext,
  options: CredentialsOptions,
  cacheFile: string,
  entry: CacheEntry,
  target: CredentialTarget,
): Promise<CacheEntry | 'unreachable' | null> {
  let status: GrantStatus;
  try {
    const client = await connect(ctx, options);
    status = await client.json<GrantStatus>('GET', `/v1/requests/${entry.requestId}/grant-status`);
  } catch (error) {
    if (error instanceof CliError && error.code === 'unreachable') return 'unreachable';
    throw error;
  }
  const cutOff =
    status.lastRevocationOnRoleAt !== null &&
    Date.parse(status.lastRevocationOnRoleAt) >= entry.fetchedAt - 1000;
  if (!status.active || cutOff) {
    rmSync(cacheFile, { force: true });
    if (!status.active && 'requestId' in target) {
      throw new CliError(
        `grant ${status.id} is ${status.status}, not active`,
        EXIT.conflict,
        'request access again: breakglass request ROLE --reason "…"',
        'grant_not_active',
      );
    }
    return null;
  }
  const updated: CacheEntry = { ...entry, validatedAt: ctx.now(), endAt: status.endAt };
  writeCacheEntry(cacheFile, updated);
  return updated;
}

/** The command line that runs this CLI, for credential_process. */
function selfCommand(ctx: CliContext): string {
  if (ctx.env.BREAKGLASS_CREDENTIAL_COMMAND) return ctx.env.BREAKGLASS_CREDENTIAL_COMMAND;
  const main = resolve(fileURLToPath(import.meta.url), '..', '..', 'main.js');
  return `${shellWord(process.execPath)} ${shellWord(main)}`;
}

export interface ProfileOptions extends GlobalOptions {
  name?: string;
  region?: string;
}

/** Writes (or updates) `[profile NAME]` with credential_process, keeping the rest of the file byte-for-byte. */
export async function profile(ctx: CliContext, roleId: string, options: ProfileOptions): Promise<void> {
  if (!/^[\w.-]{1,64}$/.test(roleId)) throw usage(`"${roleId}" is not a role id`, 'run `breakglass roles`');
  const name = options.name ?? `breakglass-${roleId}`;
  if (!/^[\w.@+-]{1,128}$/.test(name)) throw usage(`--name "${name}" is not a usable profile name`);
  // A profile for a role you may not request would only fail later, inside every `aws` call: check first.
  const client = await connect(ctx, options);
  const { roles } = await client.json<{ roles: Array<{ id: string }> }>('GET', '/v1/roles');
  if (!roles.some((role) => role.id === roleId)) {
    throw new CliError(
      `no role "${roleId}" among the roles you may request; no profile was written`,
      EXIT.notFound,
      `run \`breakglass roles\` (you may request: ${roles.map((role) => role.id).join(', ') || 'none'})`,
      'unknown_role',
    );
  }
  const file = ctx.env.AWS_CONFIG_FILE || join(ctx.home, '.aws', 'config');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const command = `${selfCommand(ctx)} credentials --role ${shellWord(roleId)}`;
  const settings: Record<string, string> = { credential_process: command };
  if (options.region) settings.region = options.region;
  const updated = upsertProfile(existing, name, settings);
  if (updated !== existing) {
    const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
    writePrivateFile(file, updated);
    if (mode !== 0o600) {
      const { chmodSync } = await import('node:fs');
      chmodSync(file, mode);
    }
  }
  if (options.json) {
    writeJson(ctx, { profile: name, file, credentialProcess: command, changed: updated !== existing });
    return;
  }
  ctx.stdout.write(
    `${updated === existing ? 'Profile already up to date' : 'Wrote profile'} ${name} in ${file}\n` +
      `Use it: aws --profile ${name} sts get-caller-identity\n`,
  );
}

export interface ConsoleOptions extends GlobalOptions {
  print?: boolean;
}

/** Opens the AWS console for an active grant; `--print` only prints the sign-in URL. */
export async function openConsole(ctx: CliContext, id: string, options: ConsoleOptions): Promise<void> {
  const target = requestId(id);
  const client = await connect(ctx, options);
  const link = await client.json<{ url: string; expiresAt: string; simulated?: boolean }>(
    'POST',
    `/v1/requests/${target}/console`,
    { body: {} },
  );
  if (options.json) {
    writeJson(ctx, link);
    return;
  }
  // A simulated broker (the local stack) hands out a stand-in link: say so rather than let it pass for AWS.
  const simulated = link.simulated
    ? 'simulated: the broker runs in simulated mode, this is not a real AWS console sign-in'
    : null;
  if (options.print) {
    if (simulated) ctx.stderr.write(`(${simulated})\n`);
    ctx.stdout.write(`${link.url}\n`);
    return;
  }
  if (await ctx.openUrl(link.url)) {
    ctx.stdout.write(
      `Opened the ${link.simulated ? 'simulated ' : ''}AWS console sign-in (session until ${shortTime(link.expiresAt)}).\n`,
    );
    if (simulated) ctx.stderr.write(`(${simulated})\n`);
    return;
  }
  if (simulated) ctx.stderr.write(`(${simulated})\n`);
  // The URL signs in whoever opens it: say so when it has to be shown.
  ctx.stderr.write('Could not open a browser; open this sign-in link yourself (treat it as a secret):\n');
  ctx.stdout.write(`${link.url}\n`);
}
