/** `credentials` (credential_process), `profile` (~/.aws/config) and `console`. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiClient } from '../api-client.js';
import { shellWord, upsertProfile } from '../aws-config.js';
import { type CliContext, stateDir } from '../context.js';
import {
  type CredentialTarget,
  credentialCacheFile,
  readCachedCredentials,
  writeCachedCredentials,
} from '../credential-cache.js';
import { CliError, EXIT, usage } from '../errors.js';
import { shortTime, writeJson } from '../output.js';
import type { RequestView } from '../requests-view.js';
import { writePrivateFile } from '../state.js';
import { connect, type GlobalOptions, requestId } from './common.js';

export interface CredentialsOptions extends GlobalOptions {
  role?: string;
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
 * Prints exactly the credential_process JSON. The cached path (cli/main.ts) answers before this module loads;
 * this is the miss: fetch, cache 0600, print.
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
  const cached = readCachedCredentials(cacheFile, ctx.now());
  if (cached !== null) {
    ctx.stdout.write(cached);
    return;
  }
  const client = await connect(ctx, options);
  const grantId = 'requestId' in target ? target.requestId : (await activeGrantFor(client, target.roleId)).id;
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
  writeCachedCredentials(cacheFile, output);
  ctx.stdout.write(output);
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
  const link = await client.json<{ url: string; expiresAt: string }>(
    'POST',
    `/v1/requests/${target}/console`,
    { body: {} },
  );
  if (options.json) {
    writeJson(ctx, link);
    return;
  }
  if (options.print) {
    ctx.stdout.write(`${link.url}\n`);
    return;
  }
  if (await ctx.openUrl(link.url)) {
    ctx.stdout.write(`Opened the AWS console sign-in (session until ${shortTime(link.expiresAt)}).\n`);
    return;
  }
  // The URL signs in whoever opens it: say so when it has to be shown.
  ctx.stderr.write('Could not open a browser; open this sign-in link yourself (treat it as a secret):\n');
  ctx.stdout.write(`${link.url}\n`);
}
