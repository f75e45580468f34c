/**
 * Browser sessions: an encrypted (JWE, dir + A256GCM), HttpOnly, SameSite=Lax cookie holding who the person
 * is, the CSRF token bound to this session and a session id that logout puts on a deny list.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Caller } from '../../domain/types.js';

/** What the session cookie carries: a caller established from a verified access token, never the token. */
export interface WebSession {
  sid: string;
  subject: string;
  email: string;
  groups: string[];
  mfa: boolean;
  csrf: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** The short-lived state of one login round trip: state, nonce, PKCE verifier and where to return. */
export interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

const LOGIN_STATE_SECONDS = 600;
const SESSION_PURPOSE = 'breakglass-session';
const LOGIN_PURPOSE = 'breakglass-login';
/** Cookie secrets shorter than this are refused: they are the only thing between a forger and a session. */
export const MIN_COOKIE_SECRET_LENGTH = 32;

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time equality of two strings of any length (both are hashed to equal-length digests first). */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}

/** True for http://127.0.0.1, localhost and [::1]: the only origins where a cookie may go without Secure. */
export function isLoopback(publicUrl: string): boolean {
  const { protocol, hostname } = new URL(publicUrl);
  return protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(hostname);
}

export class SessionCookies {
  private readonly key: Uint8Array;
  readonly secure: boolean;
  readonly sessionName: string;
  readonly loginName: string;

  constructor(
    secret: string,
    publicUrl: string,
    private readonly sessionHours: number,
  ) {
    if (secret.length < MIN_COOKIE_SECRET_LENGTH) {
      throw new Error(`the cookie secret must be at least ${MIN_COOKIE_SECRET_LENGTH} characters`);
    }
    this.key = new Uint8Array(createHash('sha256').update(`breakglass-cookie-v1:${secret}`).digest());
    this.secure = !isLoopback(publicUrl);
    // `__Host-` pins the cookie to this exact origin and path / (browsers insist on Secure for it).
    this.sessionName = this.secure ? '__Host-bg_session' : 'bg_session';
    this.loginName = this.secure ? '__Host-bg_login' : 'bg_login';
  }

  /** Builds a session for a caller, with a fresh session id and CSRF token. */
  newSession(caller: Caller, now = new Date()): WebSession {
    return {
      sid: randomToken(16),
      subject: caller.subject,
      email: caller.email,
      groups: caller.groups,
      mfa: caller.mfa,
      csrf: randomToken(32),
      expiresAt: Math.floor(now.getTime() / 1000) + this.sessionHours * 3600,
    };
  }

  async writeSession(c: Context, session: WebSession): Promise<void> {
    const value = await this.seal({ ...session, purpose: SESSION_PURPOSE }, session.expiresAt);
    setCookie(c, this.sessionName, value, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: this.secure,
      path: '/',
      maxAge: Math.max(0, session.expiresAt - Math.floor(Date.now() / 1000)),
    });
  }

  /** The session in the cookie if it decrypts, is a session (not a login state) and has not expired. */
  async readSession(c: Context): Promise<WebSession | null> {
    const payload = await this.open(getCookie(c, this.sessionName), SESSION_PURPOSE);
    if (!payload) return null;
    const { sid, subject, email, groups, mfa, csrf, exp } = payload as Record<string, unknown>;
    if (
      typeof sid !== 'string' ||
      typeof subject !== 'string' ||
      typeof email !== 'string' ||
      !Array.isArray(groups) ||
      typeof csrf !== 'string' ||
      typeof exp !== 'number'
    ) {
      return null;
    }
    return {
      sid,
      subject,
      email,
      groups: groups.filter((g): g is string => typeof g === 'string'),
      mfa: mfa === true,
      csrf,
      expiresAt: exp,
    };
  }

  clearSession(c: Context): void {
    deleteCookie(c, this.sessionName, { path: '/', secure: this.secure });
  }

  async writeLoginState(c: Context, state: LoginState): Promise<void> {
    const expires = Math.floor(Date.now() / 1000) + LOGIN_STATE_SECONDS;
    const value = await this.seal({ ...state, purpose: LOGIN_PURPOSE }, expires);
    setCookie(c, this.loginName, value, {
      httpOnly: true,
      // Lax lets the cookie come back on the identity provider's top-level redirect to /auth/callback.
      sameSite: 'Lax',
      secure: this.secure,
      path: '/',
      maxAge: LOGIN_STATE_SECONDS,
    });
  }

  async takeLoginState(c: Context): Promise<LoginState | null> {
    const payload = await this.open(getCookie(c, this.loginName), LOGIN_PURPOSE);
    deleteCookie(c, this.loginName, { path: '/', secure: this.secure });
    if (!payload) return null;
    const { state, nonce, verifier, returnTo } = payload as Record<string, unknown>;
    if (
      typeof state !== 'string' ||
      typeof nonce !== 'string' ||
      typeof verifier !== 'string' ||
      typeof returnTo !== 'string'
    ) {
      return null;
    }
    return { state, nonce, verifier, returnTo };
  }

  private seal(payload: Record<string, unknown>, expiresAt: number): Promise<string> {
    return new EncryptJWT(payload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .encrypt(this.key);
  }

  private async open(value: string | undefined, purpose: string): Promise<Record<string, unknown> | null> {
    if (!value || value.length > 4096) return null;
    try {
      const { payload } = await jwtDecrypt(value, this.key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      return payload.purpose === purpose ? payload : null;
    } catch {
      return null;
    }
  }
}

/**
 * Where to go after login: only a same-origin relative path; anything else falls back to `/`. The checks run
 * on the URL-normalised result, because that is what the browser follows: `/.//evil`, `/%2e//evil` and
 * `/a/..//evil` all normalise to the scheme-relative `//evil`, which a raw-string check lets through.
 */
export function safeReturnTo(candidate: string | undefined, publicUrl: string): string {
  if (!candidate || candidate.length > 2048) return '/';
  if (!candidate.startsWith('/') || candidate.startsWith('//') || candidate.startsWith('/\\')) return '/';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(candidate)) return '/';
  try {
    const base = new URL(publicUrl);
    const resolved = new URL(candidate, base);
    if (resolved.origin !== base.origin) return '/';
    const result = `${resolved.pathname}${resolved.search}`;
    if (!isPlainPath(result)) return '/';
    // Normalising again must change nothing and stay on our origin, or the browser would go elsewhere.
    const again = new URL(result, base);
    if (again.origin !== base.origin || `${again.pathname}${again.search}` !== result) return '/';
    if (/^\/auth(\/|$)/i.test(result)) return '/';
    return result;
  } catch {
    return '/';
  }
}

/** A path a browser resolves against our own origin: one leading slash, no backslash, no control character. */
function isPlainPath(path: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return /^\/(?![/\\])/.test(path) && !/[\u0000-\u001f\u007f\\]/.test(path);
}
