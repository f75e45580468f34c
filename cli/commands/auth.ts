/** `login`, `logout`, `whoami`, `token`. */
import { ApiClient, getInfo } from '../api-client.js';
import { type CliContext, interactive, stateDir } from '../context.js';
import { clearCredentialCache } from '../credential-cache.js';
import { CliError, EXIT, usage } from '../errors.js';
import { relative, styleFor, writeJson } from '../output.js';
import {
  deleteSession,
  expiryOf,
  readSession,
  resolveServer,
  type ServerInfo,
  type Session,
  saveSession,
} from '../state.js';
import { pinKeys, pinnedKeys, servedKeys, unpinned } from '../trust.js';
import { connect, type GlobalOptions } from './common.js';

const DEV_USER_GRANT = 'urn:breakglass:params:oauth:grant-type:dev-user';

export interface LoginOptions extends GlobalOptions {
  devUser?: string;
  browser?: boolean;
  /** Commander's negation of --no-open. */
  open?: boolean;
}

interface Me {
  subject: string;
  email: string;
  groups: string[];
  mfa: boolean;
  auditor: boolean;
  admin: boolean;
  canRequest: string[];
  canApprove: string[];
}

/** The development-only grant of the local stack's provider: a real token for a demo user. */
async function devUserLogin(ctx: CliContext, server: string, info: ServerInfo, username: string) {
  if (!info.devMode) {
    throw new CliError(
      `${server} is not a development server; --dev-user is refused`,
      EXIT.forbidden,
      'log in with `breakglass login` (device flow) or `--browser`',
      'dev_mode_only',
    );
  }
  let response: Response;
  try {
    response = await ctx.fetch(`${info.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEV_USER_GRANT, username, client_id: info.clientId }),
      signal: ctx.signal,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach the identity provider ${info.issuer} (${cause})`, EXIT.error);
  }
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.access_token) {
    throw new CliError(
      `the identity provider refused ${username}: ${body.error_description ?? body.error ?? `HTTP ${response.status}`}`,
      EXIT.unauthenticated,
    );
  }
  return { accessToken: body.access_token, expiresAt: expiryOf(ctx, body.access_token, body.expires_in) };
}

export async function login(ctx: CliContext, options: LoginOptions): Promise<void> {
  const server = resolveServer(ctx, options.server);
  if (options.devUser !== undefined && options.browser) throw usage('choose one of --dev-user and --browser');
  const info = await getInfo(ctx, server);
  const openBrowser = options.open !== false && interactive(ctx, Boolean(options.json));
  let method: Session['method'];
  let tokens: { accessToken: string; refreshToken?: string; expiresAt: number };
  if (options.devUser !== undefined) {
    method = 'dev-user';
    tokens = await devUserLogin(ctx, server, info, options.devUser);
  } else {
    const { browserLogin, deviceLogin } = await import('../oidc.js');
    method = options.browser ? 'browser' : 'device';
    tokens = options.browser
      ? await browserLogin(ctx, info, openBrowser)
      : await deviceLogin(ctx, info, openBrowser);
  }
  const session: Session = {
    server,
    issuer: info.issuer,
    clientId: info.clientId,
    audience: info.audience,
    method,
    ...tokens,
  };
  saveSession(ctx, session);
  // Cached credentials belong to whoever was logged in before.
  clearCredentialCache(stateDir(ctx));
  const client = await ApiClient.connect(ctx, server);
  const me = await client.json<Me>('GET', '/v1/me');
  saveSession(ctx, { ...session, email: me.email, subject: me.subject });
  const keys = await pinOnFirstLogin(ctx, server);
  if (keys) ctx.stderr.write(`${keys}\n`);
  if (options.json) {
    writeJson(ctx, {
      server,
      email: me.email,
      subject: me.subject,
      method,
      expiresAt: new Date(session.expiresAt).toISOString(),
    });
    return;
  }
  const style = styleFor(ctx);
  ctx.stdout.write(
    `Logged in to ${server} as ${style.bold(me.email)}${method === 'dev-user' ? ' (development user)' : ''}\n`,
  );
}

/**
 * Pins the server's audit keys on the first login to it (trust on first use); later logins leave the pin alone
 * and only warn when the server now presents a key that is not pinned. Never fails the login.
 */
async function pinOnFirstLogin(ctx: CliContext, server: string): Promise<string | null> {
  const served = await servedKeys(ctx, server);
  if (!served.ok) return null;
  const pinned = pinnedKeys(ctx, server);
  if (!pinned) {
    pinKeys(ctx, server, served.keys);
    return `Pinned the audit signing keys of ${server} (kid ${served.keys.keys.map((key) => key.kid).join(', ')})`;
  }
  const changed = unpinned(pinned, served.keys);
  return changed.length > 0
    ? `Warning: ${server} now presents audit key kid ${changed.join(', ')}, which is not pinned; \`breakglass audit verify\` refuses it until \`breakglass audit keys --accept\``
    : null;
}

export async function logout(ctx: CliContext, options: GlobalOptions): Promise<void> {
  const session = readSession(ctx);
  let revoked = false;
  if (session?.refreshToken) {
    const { revokeSession } = await import('../oidc.js');
    revoked = await revokeSession(ctx, session);
  }
  deleteSession(ctx);
  clearCredentialCache(stateDir(ctx));
  if (options.json) {
    writeJson(ctx, { loggedOut: Boolean(session), revoked });
    return;
  }
  if (!session) ctx.stdout.write('Not logged in; nothing to do.\n');
  else ctx.stdout.write(`Logged out of ${session.server}${revoked ? ' (refresh token revoked)' : ''}.\n`);
}

export async function whoami(ctx: CliContext, options: GlobalOptions): Promise<void> {
  const client = await connect(ctx, options);
  const me = await client.json<Me>('GET', '/v1/me');
  const session = client.identity;
  if (options.json) {
    writeJson(ctx, { ...me, server: client.server, expiresAt: new Date(session.expiresAt).toISOString() });
    return;
  }
  const style = styleFor(ctx);
  const lines = [
    `${style.bold(me.email)}  (subject ${me.subject})`,
    `  server        ${client.server}`,
    `  groups        ${me.groups.join(', ') || '(none)'}`,
    `  can request   ${me.canRequest.join(', ') || '(nothing)'}`,
    `  can approve   ${me.canApprove.join(', ') || '(nothing)'}`,
  ];
  if (me.auditor) lines.push('  auditor       yes');
  if (me.admin) lines.push('  admin         yes');
  lines.push(`  mfa           ${me.mfa ? 'yes' : 'no'}`);
  lines.push(
    `  login         ${session.method}, token expires ${relative(new Date(session.expiresAt).toISOString(), ctx.now())}`,
  );
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

/** Prints the access token (refreshed if needed), like `gh auth token`. */
export async function token(ctx: CliContext, options: GlobalOptions): Promise<void> {
  const client = await connect(ctx, options);
  if (options.json) {
    writeJson(ctx, {
      accessToken: client.accessToken,
      expiresAt: new Date(client.identity.expiresAt).toISOString(),
    });
    return;
  }
  ctx.stdout.write(`${client.accessToken}\n`);
}
