/** The web app as a confidential OIDC client: authorization code + PKCE, state and nonce (openid-client 6). */
import * as oidc from 'openid-client';
import type { OidcConfig } from '../../config/schema.js';
import type { LoginState } from './session.js';

export interface WebLoginOptions {
  oidc: OidcConfig;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  fetchImpl?: typeof fetch;
}

/** Thrown when the identity provider's answer does not complete a login; the reason is for the log only. */
export class LoginFailed extends Error {
  constructor(readonly reason: string) {
    super('login_failed');
    this.name = 'LoginFailed';
  }
}

export class WebLogin {
  private configuration: Promise<oidc.Configuration> | null = null;

  constructor(private readonly options: WebLoginOptions) {}

  /** Starts a login: the URL to send the browser to and the state to keep in the login cookie. */
  async begin(returnTo: string): Promise<{ url: URL; state: LoginState }> {
    const config = await this.discover();
    const verifier = oidc.randomPKCECodeVerifier();
    const state: LoginState = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier,
      returnTo,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.scopes(),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: state.state,
      nonce: state.nonce,
      ...this.resource(),
    });
    return { url, state };
  }

  /** Completes a login: checks state, nonce and PKCE, redeems the code and returns the access token. */
  async complete(callbackUrl: URL, state: LoginState): Promise<string> {
    const config = await this.discover();
    try {
      const tokens = await oidc.authorizationCodeGrant(
        config,
        callbackUrl,
        { pkceCodeVerifier: state.verifier, expectedState: state.state, expectedNonce: state.nonce },
        this.resource(),
      );
      if (!tokens.access_token) throw new LoginFailed('no access token in the token response');
      return tokens.access_token;
    } catch (error) {
      if (error instanceof LoginFailed) throw error;
      throw new LoginFailed(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }

  private scopes(): string {
    // Refresh tokens are not needed: the session lives in our cookie, bounded by web.sessionHours.
    const scopes = this.options.oidc.scopes.filter((scope) => scope !== 'offline_access');
    return (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ');
  }

  /**
   * Asks for the broker's audience as a resource indicator (RFC 8707) so the access token is the same JWT
   * the API verifies. RFC 8707 resources are absolute URIs; a bare audience such as `breakglass` is left to
   * the provider's default resource instead.
   */
  private resource(): Record<string, string> {
    const audience = this.options.oidc.audience;
    return URL.canParse(audience) ? { resource: audience } : {};
  }

  private discover(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const issuer = new URL(this.options.oidc.issuer);
      this.configuration = oidc
        .discovery(issuer, this.options.clientId, this.options.clientSecret, undefined, {
          ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 5,
        })
        .then((config) => {
          if (this.options.fetchImpl) config[oidc.customFetch] = this.options.fetchImpl;
          return config;
        })
        .catch((error: unknown) => {
          this.configuration = null;
          throw new LoginFailed(`discovery failed: ${(error as Error).message}`);
        });
    }
    return this.configuration;
  }
}
