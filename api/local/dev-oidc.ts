/**
 * The local stack's identity provider: a real OpenID Connect provider (`oidc-provider`) with the demo users,
 * discovery, JWKS, device flow, authorization code + PKCE, and signed JWT access tokens for the broker's
 * audience. Never part of a production deployment.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { html } from 'hono/html';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_USERS, type DemoUser } from './demo-users.js';

/** Development-only grant: a real signed token for a named demo user, for `breakglass login --dev-user`. */
export const DEV_USER_GRANT = 'urn:breakglass:params:oauth:grant-type:dev-user';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCESS_TOKEN_TTL_SECONDS = 3600;

export interface DevOidcOptions {
  issuer: string;
  audience: string;
  cliClientId: string;
  webClientId: string;
  webClientSecret: string;
  /** Where the web app's callback lives, e.g. http://127.0.0.1:8787/auth/callback */
  webRedirectUri: string;
  /** Signing keys are kept here so tokens survive a restart. */
  keyFile: string;
  /** Who can log in; the example config's demo users when omitted (tests add more, e.g. many approvers). */
  demoUsers?: readonly DemoUser[];
}

async function signingKeys(keyFile: string) {
  if (existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: object[] };
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `dev-${randomBytes(4).toString('hex')}`,
    use: 'sig',
    alg: 'RS256',
  };
  const keys = { keys: [jwk] };
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

function claimsFor(findDemoUser: (name: string) => DemoUser | undefined, accountId: string, mfa = true) {
  const user = findDemoUser(accountId);
  if (!user) return undefined;
  return { email: user.email, groups: user.groups, amr: mfa ? ['pwd', 'otp'] : ['pwd'] };
}

export async function createDevOidcProvider(options: DevOidcOptions): Promise<Provider> {
  const demoUsers = options.demoUsers ?? DEMO_USERS;
  const findDemoUser = (name: string) => demoUsers.find((user) => user.name === name || user.email === name);
  // RFC 8707 resource indicators must be absolute URIs; a bare audience such as `breakglass` is wrapped in
  // a URN so device and browser logins (which go through resource resolution) still get aud=audience.
  const resourceIndicator = URL.canParse(options.audience)
    ? options.audience
    : `urn:breakglass:resource:${options.audience}`;
  const resourceServer = {
    audience: options.audience,
    accessTokenFormat: 'jwt' as const,
    accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
    scope: 'openid email profile groups offline_access',
    jwt: { sign: { alg: 'RS256' as const } },
  };
  const configuration: Configuration = {
    clients: [
      {
        client_id: options.cliClientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token', 'authorization_code', DEV_USER_GRANT],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
      {
        client_id: options.webClientId,
        client_secret: options.webClientSecret,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [options.webRedirectUri],
        post_logout_redirect_uris: [new URL('/', options.webRedirectUri).toString()],
      },
    ],
    jwks: await signingKeys(options.keyFile),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resourceIndicator,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServer,
      },
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      DeviceCode: 600,
      RefreshToken: 14 * 24 * 3600,
      Session: 8 * 3600,
      // Set explicitly (the web login uses these) so the provider does not print a notice for each default.
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 600,
      AuthorizationCode: 60,
    },
    // Demo users have no consent screen: their grant is created on first use.
    loadExistingGrant: async (ctx) => {
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid email profile groups offline_access');
      grant.addResourceScope(resourceIndicator, resourceServer.scope);
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    findAccount: async (ctx, sub) => {
      const user = findDemoUser(sub);
      if (!user) {
        // A name typed into the dev login form that is no demo user: say who can sign in (the provider would
        // answer "server_error oops!"), and forget the sign-in so that the next attempt starts over.
        if (ctx.oidc?.session?.accountId === sub) await ctx.oidc.session.destroy();
        throw unknownDemoUser(sub, demoUsers);
      }
      return {
        accountId: user.name,
        claims: async () => ({
          sub: user.name,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
    extraTokenClaims: async (_ctx, token) => {
      if (!('accountId' in token) || typeof token.accountId !== 'string') return undefined;
      const requested = (token as { extra?: { mfa?: boolean } }).extra?.mfa;
      return claimsFor(findDemoUser, token.accountId, requested ?? true);
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      // hono's `html` escapes every interpolated value.
      ctx.body = String(
        out.error === UNKNOWN_DEMO_USER
          ? await html`<!doctype html><title>Unknown demo user</title><h1>Unknown demo user</h1><p>${String(out.error_description ?? '')}</p><p><a href="${new URL('/auth/login', options.webRedirectUri).href}">Sign in again</a></p>`
          : await html`<!doctype html><title>Login error</title><h1>${String(out.error)}</h1><p>${String(out.error_description ?? '')}</p>`,
      );
    },
  };

  const provider = new Provider(options.issuer, configuration);
  provider.proxy = true;
  // The provider's built-in pages import a web font from the internet; the local stack must work offline and
  // our CSP would refuse it anyway, so the import is cut from every HTML page it serves.
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === 'string' && ctx.body.includes(WEB_FONT_IMPORT)) {
      ctx.body = ctx.body.replace(WEB_FONT_IMPORT_ALL, '');
    }
  });

  provider.registerGrantType(
    DEV_USER_GRANT,
    async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params as { username?: string; mfa?: string };
      const user = params.username ? findDemoUser(params.username) : undefined;
      if (!user) throw unknownDemoUser(params.username ?? '', demoUsers);
      const client = ctx.oidc.client!;
      const { AccessToken, ResourceServer } = ctx.oidc.provider;
      const token = new AccessToken({
        accountId: user.name,
        client,
        scope: 'openid email profile groups',
        gty: 'dev_user',
        grantId: `dev-${user.name}`,
      });
      token.resourceServer = new ResourceServer(options.audience, resourceServer);
      (token as unknown as { extra: object }).extra = { mfa: params.mfa !== 'false' };
      const value = await token.save();
      ctx.body = {
        access_token: value,
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: token.scope,
      };
    },
    ['username', 'mfa'],
  );
  return provider;
}

const WEB_FONT_IMPORT = '@import url(https://fonts.googleapis.com/';
const WEB_FONT_IMPORT_ALL = /@import url\(https:\/\/fonts\.googleapis\.com\/[^)]*\);?/g;

const UNKNOWN_DEMO_USER = 'unknown_demo_user';

/** A 400 whose description (what the CLI and the login page show) names the demo users. */
function unknownDemoUser(name: string, demoUsers: readonly DemoUser[]) {
  const error = new errors.CustomOIDCProviderError(
    UNKNOWN_DEMO_USER,
    `no demo user "${name.slice(0, 64)}"; sign in as one of ${demoUsers.map((user) => user.name).join(', ')}`,
  );
  // Shown on the provider's own page rather than redirected to the client as an error parameter.
  error.allow_redirect = false;
  return error;
}
