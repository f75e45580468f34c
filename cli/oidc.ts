/**
 * OpenID Connect logins with openid-client against the issuer the broker advertises: device authorization
 * (default), loopback redirect with PKCE S256 + state (`--browser`), refresh and revocation.
 */
import { createServer } from 'node:http';
import * as client from 'openid-client';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import type { Session } from './state.js';
import { expiryOf, type ServerInfo } from './state.js';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  expiresAt: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

type Issuer = Pick<ServerInfo, 'issuer' | 'clientId'>;

/**
 * RFC 8707 `resource` asks the provider for a token meant for the broker. It must be an absolute URI; a bare
 * audience such as `breakglass` is left to the provider's default resource for the client.
 */
export function resourceParams(audience: string): Record<string, string> {
  return /^[a-z][a-z0-9+.-]*:/i.test(audience) && URL.canParse(audience) ? { resource: audience } : {};
}

/** Discovers the issuer. Plain http is allowed only for a provider on this machine. */
export async function discover(ctx: CliContext, info: Issuer): Promise<client.Configuration> {
  const issuer = new URL(info.issuer);
  const insecure = issuer.protocol === 'http:';
  if (insecure && !LOOPBACK_HOSTS.has(issuer.hostname)) {
    throw new CliError(`the identity provider ${info.issuer} does not use https`, EXIT.error);
  }
  try {
    return await client.discovery(issuer, info.clientId, undefined, client.None(), {
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
      [client.customFetch]: ctx.fetch,
    });
  } catch (error) {
    throw oidcError(error, `cannot discover the identity provider ${info.issuer}`);
  }
}

function toTokens(ctx: CliContext, response: client.TokenEndpointResponse): Tokens {
  return {
    accessToken: response.access_token,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    expiresAt: expiryOf(ctx, response.access_token, response.expires_in),
  };
}

function oidcError(error: unknown, context: string): CliError {
  if (error instanceof CliError) return error;
  if ((error as Error).name === 'AbortError' || (error as { code?: string }).code === 'OAUTH_ABORT') {
    return new CliError('login interrupted', EXIT.interrupted);
  }
  const oauth = (error as { error?: string }).error;
  if (oauth === 'access_denied') return new CliError('login was denied', EXIT.unauthenticated);
  if (oauth === 'expired_token') {
    return new CliError(
      'the login code expired before it was confirmed',
      EXIT.unauthenticated,
      'run `breakglass login` again',
    );
  }
  const description = (error as { error_description?: string }).error_description;
  return new CliError(
    `${context}: ${oauth ?? ''}${description ? ` ${description}` : (error as Error).message}`.trim(),
    EXIT.unauthenticated,
  );
}

/** RFC 8628: prints the code and URL, opens the browser when it can, polls at the server's pace. */
export async function deviceLogin(ctx: CliContext, info: ServerInfo, openBrowser: boolean): Promise<Tokens> {
  const config = await discover(ctx, info);
  let authorization: client.DeviceAuthorizationResponse;
  try {
    authorization = await client.initiateDeviceAuthorization(config, {
      scope: info.scopes.join(' '),
      ...resourceParams(info.audience),
    });
  } catch (error) {
    throw oidcError(error, 'the identity provider refused the device login');
  }
  const url = authorization.verification_uri_complete ?? authorization.verification_uri;
  ctx.stderr.write(
    `To log in, open ${authorization.verification_uri} and enter the code ${authorization.user_code}\n` +
      (authorization.verification_uri_complete
        ? `  (or open ${authorization.verification_uri_complete})\n`
        : '') +
      'Waiting for you to confirm…\n',
  );
  if (openBrowser) await ctx.openUrl(url);
  try {
    const response = await client.pollDeviceAuthorizationGrant(
      config,
      authorization,
      resourceParams(info.audience),
      { signal: ctx.signal },
    );
    return toTokens(ctx, response);
  } catch (error) {
    throw oidcError(error, 'device login failed');
  }
}

/** RFC 8252 loopback redirect on 127.0.0.1 with PKCE S256 and state. */
export async function browserLogin(ctx: CliContext, info: ServerInfo, openBrowser: boolean): Promise<Tokens> {
  const config = await discover(ctx, info);
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();

  let deliver: (url: URL) => void = () => undefined;
  const callback = new Promise<URL>((resolve) => {
    deliver = resolve;
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>breakglass</title><p>Login complete. You can close this window.</p>');
    deliver(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  try {
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: info.scopes.join(' '),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      ...resourceParams(info.audience),
      prompt: 'consent',
    });
    ctx.stderr.write(`Opening ${authorizationUrl.href}\nWaiting for the browser to finish…\n`);
    if (openBrowser) await ctx.openUrl(authorizationUrl.href);
    const aborted = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new CliError('login timed out after 5 minutes', EXIT.unauthenticated)),
        300_000,
      );
      timer.unref();
      ctx.signal.addEventListener(
        'abort',
        () => reject(new CliError('login interrupted', EXIT.interrupted)),
        {
          once: true,
        },
      );
    });
    const returned = await Promise.race([callback, aborted]);
    // openid-client compares the redirect against the exact URL it was sent to.
    const current = new URL(`${redirectUri}${returned.search}`);
    const response = await client.authorizationCodeGrant(
      config,
      current,
      { pkceCodeVerifier: verifier, expectedState: state },
      resourceParams(info.audience),
    );
    return toTokens(ctx, response);
  } catch (error) {
    throw oidcError(error, 'browser login failed');
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

export async function refreshTokens(ctx: CliContext, session: Session): Promise<Tokens> {
  const config = await discover(ctx, session);
  const response = await client.refreshTokenGrant(
    config,
    session.refreshToken!,
    resourceParams(session.audience),
  );
  return toTokens(ctx, response);
}

/** Revokes the refresh token at the provider. Returns false when the provider would not. */
export async function revokeSession(ctx: CliContext, session: Session): Promise<boolean> {
  if (!session.refreshToken) return false;
  try {
    const config = await discover(ctx, session);
    await client.tokenRevocation(config, session.refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  } catch {
    return false;
  }
}
