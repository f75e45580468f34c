import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { OidcConfig } from '../../config/schema.js';
import type { Caller, Channel } from '../../domain/types.js';
import {
  IdentityProviderUnavailable,
  TokenRejected,
  type TokenVerifier,
} from '../../ports/token-verifier.js';

function withContext(claims: Omit<Caller, 'via' | 'ip'>, context: { via: Channel; ip?: string }): Caller {
  return {
    ...claims,
    groups: [...claims.groups],
    via: context.via,
    ...(context.ip ? { ip: context.ip } : {}),
  };
}

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

/** How long a verified token is answered from memory at most (it also never outlives its own `exp`). */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Verified tokens remembered at most; the oldest is forgotten first. */
const VERIFIED_TOKEN_CAPACITY = 2_000;

interface VerifiedToken {
  /** The caller the claims describe, without the per-call `via` and `ip`. */
  claims: Omit<Caller, 'via' | 'ip'>;
  /** Broker-clock milliseconds after which the token is verified again (min of exp + tolerance, TTL). */
  until: number;
}

/**
 * Verifies OIDC access tokens (JWTs) against the issuer's published keys: issuer, audience, expiry with the
 * configured tolerance, and only the allowed asymmetric algorithms (never `none`, never HMAC).
 *
 * A token that verified is remembered by its exact text for up to a minute and never past its `exp` (plus the
 * tolerance jose allows), so a client sending the same token again — the CLI, a script, a flood — costs a map
 * lookup instead of an RSA/ECDSA verification. Only successes are remembered; any other text is verified in full.
 * The price: a key the provider withdraws keeps working for tokens already seen for at most that minute.
 */
export class JoseTokenVerifier implements TokenVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;
  private readonly verified = new Map<string, VerifiedToken>();

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
    const nowMs = (this.options.clock?.now() ?? new Date()).getTime();
    const known = this.verified.get(token);
    if (known) {
      if (nowMs < known.until) return withContext(known.claims, context);
      this.verified.delete(token);
    }
    const { caller, exp } = await this.verifyFully(token, context);
    this.remember(token, caller, exp, nowMs);
    return caller;
  }

  private remember(token: string, caller: Caller, exp: number, nowMs: number): void {
    const until = Math.min((exp + this.oidc.clockToleranceSeconds) * 1000, nowMs + VERIFIED_TOKEN_TTL_MS);
    if (until <= nowMs) return;
    if (this.verified.size >= VERIFIED_TOKEN_CAPACITY) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    const { via: _via, ip: _ip, ...claims } = caller;
    this.verified.set(token, { claims: { ...claims, groups: [...claims.groups] }, until });
  }

  private async verifyFully(
    token: string,
    context: { via: Channel; ip?: string },
  ): Promise<{ caller: Caller; exp: number }> {
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
      // requiredClaims made jose check that exp is there and a number.
      return { caller: callerFromClaims(this.oidc, payload, context), exp: payload.exp as number };
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
