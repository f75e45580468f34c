/**
 * A browser session cookie without a browser: the stack reads its cookie key from BREAKGLASS_COOKIE_SECRET,
 * so a test that sets it first can seal a session for a demo user exactly as /auth/callback would.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { SessionCookies } from '../../api/http/web/session.js';
import { DEMO_USERS, type DemoUser } from '../../api/local/demo-users.js';

export const COOKIE_SECRET_ENV = 'BREAKGLASS_COOKIE_SECRET';

/** Sets a known cookie secret for stacks started after this call; returns it. */
export function useKnownCookieSecret(): string {
  const secret = randomBytes(32).toString('base64url');
  process.env[COOKIE_SECRET_ENV] = secret;
  return secret;
}

export interface WebSessionCookie {
  cookie: string;
  csrf: string;
}

/** A sealed session cookie (and its CSRF token) for a demo user. */
export async function webSessionFor(
  publicUrl: string,
  secret: string,
  username: string,
  users: readonly DemoUser[] = DEMO_USERS,
): Promise<WebSessionCookie> {
  const user = users.find((candidate) => candidate.name === username);
  if (!user) throw new Error(`no demo user ${username}`);
  const cookies = new SessionCookies(secret, publicUrl, 8);
  const session = cookies.newSession({
    subject: user.name,
    email: user.email,
    groups: user.groups,
    mfa: true,
    via: 'web',
  });
  const app = new Hono();
  app.get('/', async (c) => {
    await cookies.writeSession(c, session);
    return c.body(null, 204);
  });
  const response = await app.request('/');
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] ?? '', csrf: session.csrf };
}
