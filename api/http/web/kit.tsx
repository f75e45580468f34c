/**
 * What every web route shares: sign-in state, sessions, rendering, refusals, and the page/action wrappers that
 * require a session (and, for form POSTs, our own origin and the session's CSRF token).
 */
import type { Context } from 'hono';
import { isAuditor } from '../../domain/access.js';
import { DomainError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.js';
import type { Caller } from '../../domain/types.js';
import type { AppDeps } from '../env.js';
import { clientIp } from '../middleware/authenticate.js';
import { problemBody } from '../problem.js';
import { REQUEST_ID_PATTERN } from '../schemas.js';
import { MessagePage, type Viewer } from './components.js';
import { WebLogin } from './oidc-login.js';
import type { WebOptions } from './options.js';
import { SessionCookies, safeEqual, safeReturnTo, type WebSession } from './session.js';

export const LOGOUT_MARKER = 'web-logout';

export interface WebContext {
  cookies: SessionCookies | null;
  login: WebLogin | null;
  /** Why the web app cannot sign people in, when it cannot. */
  unavailable: string | null;
}

export function webContext(deps: AppDeps, options: WebOptions): WebContext {
  const { config } = deps;
  const cookieSecret =
    options.cookieSecret ??
    (config.web.cookieSecretEnv ? process.env[config.web.cookieSecretEnv] : undefined);
  const clientSecret =
    options.clientSecret ??
    (config.oidc.webClientSecretEnv ? process.env[config.oidc.webClientSecretEnv] : undefined);
  const problems: string[] = [];
  if (!config.oidc.webClientId) problems.push('oidc.webClientId is not set');
  if (!clientSecret)
    problems.push(
      `no web client secret (set ${config.oidc.webClientSecretEnv ?? 'oidc.webClientSecretEnv'})`,
    );
  if (!cookieSecret) problems.push(`no cookie secret (set ${config.web.cookieSecretEnv})`);
  let cookies: SessionCookies | null = null;
  if (cookieSecret) {
    try {
      cookies = new SessionCookies(cookieSecret, deps.publicUrl, config.web.sessionHours);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const login =
    config.oidc.webClientId && clientSecret
      ? new WebLogin({
          oidc: config.oidc,
          clientId: config.oidc.webClientId,
          clientSecret,
          redirectUri: `${deps.publicUrl}/auth/callback`,
        })
      : null;
  const unavailable = problems.length > 0 ? problems.join('; ') : null;
  if (unavailable) deps.logger.warn({ problems }, 'web sign-in is disabled');
  return { cookies: unavailable ? null : cookies, login: unavailable ? null : login, unavailable };
}

export function wantsHtml(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

export function callerOf(c: Context, session: WebSession): Caller {
  const ip = clientIp(c);
  return {
    subject: session.subject,
    email: session.email,
    groups: session.groups,
    mfa: session.mfa,
    via: 'web',
    ...(ip ? { ip } : {}),
  };
}

export async function html(c: Context, node: unknown, status = 200): Promise<Response> {
  c.header('cache-control', 'no-store');
  return c.html(`<!doctype html>${await Promise.resolve(String(node))}`, status as 200);
}

/** An error as an HTML page for browsers and as problem+json for everything else. */
export async function refuse(
  c: Context,
  code: ErrorCode,
  detail: string,
  viewer?: Viewer,
): Promise<Response> {
  const status = ERROR_STATUS[code];
  if (wantsHtml(c)) {
    return html(
      c,
      <MessagePage title="Not done" viewer={viewer} flash={{ error: { code, detail } }}>
        <p>
          <a href="/">Back to the start page</a>
        </p>
      </MessagePage>,
      status,
    );
  }
  const body = problemBody(code, detail, c.get('requestId') ?? 'unknown');
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  });
}

/** The `:id` of a web route, checked before it reaches storage (a 3,000-character id used to be a 500). */
export function requestIdOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!REQUEST_ID_PATTERN.test(id)) {
    throw new DomainError('validation_failed', 'that is not a request id such as req_01J…');
  }
  return id;
}

export type FormFields = Record<string, string>;

/** The helpers the route files are written with. */
export interface WebKit {
  deps: AppDeps;
  options: WebOptions;
  web: WebContext;
  sessionOf(c: Context): Promise<WebSession | null>;
  viewerOf(session: WebSession): Viewer;
  /** Why a form POST does not come from our own pages, or null when it does. */
  originProblem(c: Context): string | null;
  /** A page that needs a signed-in person: sends others to login, remembering where they wanted to go. */
  page(
    render: (c: Context, session: WebSession, caller: Caller) => Promise<Response>,
  ): (c: Context) => Promise<Response>;
  /**
   * A form POST: needs a session, a request from our own origin (Origin, else Referer) and the session's
   * CSRF token (constant-time compare). A signed-in caller failing either check is recorded as forbidden.
   */
  action(
    name: string,
    handle: (c: Context, session: WebSession, caller: Caller, form: FormFields) => Promise<Response>,
  ): (c: Context) => Promise<Response>;
}

export function createKit(
  deps: AppDeps,
  options: WebOptions,
  web: WebContext,
  sessionOf: (c: Context) => Promise<WebSession | null>,
): WebKit {
  const expectedOrigin = new URL(deps.publicUrl).origin;

  const viewerOf = (session: WebSession): Viewer => ({
    email: session.email,
    csrf: session.csrf,
    isAuditor: isAuditor(deps.config, session),
    now: new Date().toISOString(),
  });

  function originProblem(c: Context): string | null {
    const site = c.req.header('sec-fetch-site');
    if (site && site !== 'same-origin') {
      // Browsers say `same-site` for a sibling host of the same registrable domain: still not our page.
      const from =
        site === 'same-site'
          ? 'another host of this site'
          : site === 'none'
            ? 'outside any page'
            : 'another site';
      return `the form was sent from ${from}, not from a ${expectedOrigin} page`;
    }
    const origin = c.req.header('origin');
    if (origin)
      return origin === expectedOrigin
        ? null
        : `the form was sent from ${origin.slice(0, 100)}, not from ${expectedOrigin}`;
    const referer = c.req.header('referer');
    if (!referer) return 'the browser sent neither an Origin nor a Referer header';
    try {
      return new URL(referer).origin === expectedOrigin
        ? null
        : `the form was sent from another origin, not from ${expectedOrigin}`;
    } catch {
      return 'unreadable Referer header';
    }
  }

  function loginRedirect(c: Context): Response {
    const url = new URL(c.req.url);
    const returnTo = safeReturnTo(`${url.pathname}${url.search}`, deps.publicUrl);
    return c.redirect(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, 302);
  }

  return {
    deps,
    options,
    web,
    sessionOf,
    viewerOf,
    originProblem,
    page: (render) => async (c) => {
      const session = await sessionOf(c);
      if (!session) return loginRedirect(c);
      return render(c, session, callerOf(c, session));
    },
    action: (name, handle) => async (c) => {
      const session = await sessionOf(c);
      if (!session) return refuse(c, 'login_required', 'sign in first');
      const caller = callerOf(c, session);
      const parsed = await c.req.parseBody().catch(() => ({}));
      const form: FormFields = {};
      for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') form[key] = value;
      const problem =
        originProblem(c) ??
        (safeEqual(form._csrf ?? '', session.csrf) ? null : 'CSRF token missing or wrong');
      if (problem) {
        const error = new DomainError('csrf_failed', `refused: ${problem}; reload the page and try again`);
        const id = c.req.param('id');
        await deps.requests.recordForbidden(
          caller,
          `web.${name}`,
          error,
          id && REQUEST_ID_PATTERN.test(id) ? { requestId: id } : {},
        );
        return refuse(c, 'csrf_failed', error.message, viewerOf(session));
      }
      return handle(c, session, caller, form);
    },
  };
}
