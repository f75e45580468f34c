/** Sign-in (OIDC code + PKCE into an encrypted cookie session), sign-out, and the pages' static files. */

import { DomainError } from '../../../domain/errors.js';
import { TokenRejected } from '../../../ports/token-verifier.js';
import type { App } from '../../env.js';
import { clientIp } from '../../middleware/authenticate.js';
import { APP_SCRIPT, FAVICON_SVG } from '../assets.js';
import { MessagePage } from '../components.js';
import { callerOf, html, LOGOUT_MARKER, refuse, type WebKit } from '../kit.js';
import { LoginFailed } from '../oidc-login.js';
import { safeEqual, safeReturnTo } from '../session.js';
import { STYLESHEET } from '../stylesheet.js';

export function registerAuthRoutes(app: App, kit: WebKit): void {
  const { deps, options, web } = kit;
  const asset = (path: string, type: string, body: string) =>
    app.get(path, (c) => {
      c.header('content-type', type);
      c.header('cache-control', 'public, max-age=3600');
      return c.body(body);
    });
  asset('/assets/app.css', 'text/css; charset=utf-8', STYLESHEET);
  asset('/assets/app.js', 'text/javascript; charset=utf-8', APP_SCRIPT);
  asset('/favicon.svg', 'image/svg+xml', FAVICON_SVG);
  asset('/favicon.ico', 'image/svg+xml', FAVICON_SVG);

  app.get('/auth/login', async (c) => {
    if (!web.login || !web.cookies) {
      deps.logger.error({ reason: web.unavailable }, 'web login requested but not configured');
      return refuse(c, 'not_ready', 'web sign-in is not configured on this broker');
    }
    const returnTo = safeReturnTo(c.req.query('returnTo'), deps.publicUrl);
    try {
      const { url, state } = await web.login.begin(returnTo);
      await web.cookies.writeLoginState(c, state);
      c.header('cache-control', 'no-store');
      return c.redirect(url.toString(), 302);
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'cannot start web login');
      return refuse(c, 'not_ready', 'the identity provider cannot be reached; try again shortly');
    }
  });

  app.get('/auth/callback', async (c) => {
    if (!web.login || !web.cookies)
      return refuse(c, 'not_ready', 'web sign-in is not configured on this broker');
    const state = await web.cookies.takeLoginState(c);
    if (!state)
      return refuse(c, 'login_failed', 'the sign-in took too long or was started elsewhere; start again');
    const search = new URL(c.req.url).search;
    try {
      const accessToken = await web.login.complete(
        new URL(`${deps.publicUrl}/auth/callback${search}`),
        state,
      );
      const ip = clientIp(c);
      const caller = await deps.verifier.verify(accessToken, { via: 'web', ...(ip ? { ip } : {}) });
      const session = web.cookies.newSession(caller);
      await web.cookies.writeSession(c, session);
      deps.logger.info({ subject: caller.subject, requestId: c.get('requestId') }, 'web session started');
      c.header('cache-control', 'no-store');
      return c.redirect(state.returnTo, 303);
    } catch (error) {
      if (error instanceof LoginFailed || error instanceof TokenRejected) {
        deps.logger.warn({ reason: error.reason, requestId: c.get('requestId') }, 'web login failed');
        return refuse(c, 'login_failed', 'the sign-in could not be completed; start again');
      }
      throw error;
    }
  });

  app.post('/auth/logout', async (c) => {
    const session = await kit.sessionOf(c);
    if (session) {
      const parsed = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const token = typeof parsed._csrf === 'string' ? parsed._csrf : '';
      // A forged logout is only a nuisance, but still refused and recorded: our own pages always send the token.
      const problem =
        kit.originProblem(c) ?? (safeEqual(token, session.csrf) ? null : 'CSRF token missing or wrong');
      if (problem) {
        const error = new DomainError(
          'csrf_failed',
          `refused: ${problem}; reload the page and sign out again`,
        );
        await deps.requests.recordForbidden(callerOf(c, session), 'web.logout', error);
        return refuse(c, 'csrf_failed', error.message, kit.viewerOf(session));
      }
      const ttl = session.expiresAt - Math.floor(Date.now() / 1000);
      if (options.markers && ttl > 0) await options.markers.put(LOGOUT_MARKER, session.sid, ttl);
    }
    web.cookies?.clearSession(c);
    return html(
      c,
      <MessagePage title="Signed out">
        <p>Your Breakglass session has ended.</p>
        <p>
          <a href="/auth/login">Sign in again</a>
        </p>
      </MessagePage>,
    );
  });
}
