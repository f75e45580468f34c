import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { OidcConfig } from '../../config/schema.js';
import type { Caller, Channel } from '../../domain/types.js';
import {
  IdentityProviderUnavailable,
  TokenRejected,
  type TokenVerifier,
} from '../../ports/token-verifier.js';

/** Reads a claim by name or dot path (`realm_access.roles`). */
export function readClaim(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  return path.split('.').reduce<unknown>((value, key) => {
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }, payload);
}

export function callerFromClaims(
  oidc: OidcConfig,
  payload: JWTPayload,
  context: { via: Channel; ip?: string },
): Caller {
  const subject: unknown = payload.sub;
  // jose checks presence only: an array or object `sub` would end up inside index keys and audit events.
  if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 255) {
    throw new TokenRejected('token has no usable sub claim (a non-empty string)');
  }
  const email = readClaim(payload, oidc.emailClaim);
  if (typeof email !== 'string' || !email.includes('@')) {
    throw new TokenRejected(`token has no usable ${oidc.emailClaim} claim`);
  }
  const rawGroups = readClaim(payload, oidc.groupsClaim);
  const groups =
    typeof rawGroups === 'string'
      ? [rawGroups]
      : Array.isArray(rawGroups)
        ? rawGroups.filter((group): group is string => typeof group === 'string')
        : [];
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((v): v is string => typeof v === 'string') : [];
  return {
    subject,
    email: email.toLowerCase(),
    groups,
    mfa: amr.some((method) => oidc.mfaMethods.includes(method)),
    via: context.via,
    ...(context.ip ? { ip: context.ip } : {}),
  };
}

/**
 * Verifies OIDC access tokens (JWTs) against the issuer's published keys: issuer, audience, expiry with the
 * configured tolerance, and only the allowed asymmetric algorithms (never `none`, never HMAC).
 */
export class JoseTokenVerifier implements TokenVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;

  constructor(
    private readonly oidc: OidcConfig,
    private readonly options: {
      jwksUri?: string;
      fetchImpl?: typeof fetch;
      /** Judges `exp`/`nbf` by the broker's clock, so an injected clock governs token expiry too. */
      clock?: { now(): Date };
    } = {},
  ) {}

  async verify(token: string, context: { via: Channel; ip?: string }): Promise<Caller> {
    const jwks = await this.keys();
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.oidc.issuer,
        audience: this.oidc.audience,
        algorithms: this.oidc.algorithms,
        clockTolerance: this.oidc.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub', 'iat'],
        ...(this.options.clock ? { currentDate: this.options.clock.now() } : {}),
      });
      // jose accepts any iat; a token "issued" in the future is forged or from a badly skewed issuer.
      const now = Math.floor((this.options.clock?.now() ?? new Date()).getTime() / 1000);
      if (typeof payload.iat !== 'number' || payload.iat > now + this.oidc.clockToleranceSeconds) {
        throw new TokenRejected('token iat is in the future beyond the clock tolerance');
      }
      return callerFromClaims(this.oidc, payload, context);
    } catch (error) {
      if (error instanceof TokenRejected) throw error;
      if (error instanceof joseErrors.JWKSTimeout)
        throw new IdentityProviderUnavailable('JWKS request timed out');
      // A failed key-set download is the provider's problem, not the token's.
      if (
        error instanceof joseErrors.JWKSInvalid ||
        (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
      ) {
        this.jwks = null;
        throw new IdentityProviderUnavailable(error.message);
      }
      if (error instanceof joseErrors.JOSEError) throw new TokenRejected(`${error.code}: ${error.message}`);
      if (error instanceof TypeError || error instanceof SyntaxError) throw new TokenRejected(error.message);
      throw new IdentityProviderUnavailable(String(error));
    }
  }

  private async keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    // One discovery for all the calls that arrive together: a burst of 100 used to start 100 discoveries and
    // 100 key-set downloads, and the provider's slow answers turned most of the burst into 503 not_ready.
    this.discovering ??= (async () => {
      try {
        const uri = this.options.jwksUri ?? (await this.discoverJwksUri());
        return createRemoteJWKSet(new URL(uri), {
          cooldownDuration: 30_000,
          cacheMaxAge: 600_000,
          timeoutDuration: 5000,
        });
      } finally {
        this.discovering = null;
      }
    })();
    this.jwks = await this.discovering;
    return this.jwks;
  }

  private async discoverJwksUri(): Promise<string> {
    const fetchImpl = this.options.fetchImpl ?? fetch;
    const url = `${this.oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const response = await fetchImpl(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const document = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
      if (typeof document.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
      return document.jwks_uri;
    } catch (error) {
      throw new IdentityProviderUnavailable(`${url}: ${(error as Error).message}`);
    }
  }
}
