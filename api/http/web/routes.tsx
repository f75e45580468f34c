/**
 * The approver web app: OIDC login (code + PKCE) into an encrypted cookie session, and server-rendered pages
 * whose every decision goes through RequestService with via='web' — the same rules as the API.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { RoleConfig } from '../../config/schema.js';
import { isAdmin, isApproverFor, isAuditor, isOwnRequest } from '../../domain/access.js';
import { DomainError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.js';
import { checkText, encodeLinkComponent } from '../../domain/text.js';
import type { AccessRequest, Caller, TimelineEvent } from '../../domain/types.js';
import { TokenRejected } from '../../ports/token-verifier.js';
import type { App, AppDeps } from '../env.js';
import { clientIp } from '../middleware/authenticate.js';
import { problemBody } from '../problem.js';
import { REQUEST_ID_PATTERN } from '../schemas.js';
import type { ActivityPanel } from './activity-section.js';
import { LoginFailed, WebLogin } from './oidc-login.js';
import type { WebOptions } from './options.js';
import {
  AuditPage,
  type Flash,
  HomePage,
  MessagePage,
  NewRequestPage,
  type NewRequestValues,
  type RequestActions,
  RequestPage,
  type Viewer,
} from './pages.js';
import { SessionCookies, safeEqual, safeReturnTo, type WebSession } from './session.js';
import { STYLESHEET } from './stylesheet.js';

const LOGOUT_MARKER = 'web-logout';
/** The API's audit routes accept the browser session for GETs, so these links work from the page. */
const AUDIT_EXPORTS = [
  {
    href: '/v1/audit/events?format=jsonl',
    label: 'All events, JSON Lines (verify with `breakglass audit verify`)',
  },
  { href: '/v1/audit/events?format=csv', label: 'One row per request, CSV' },
  { href: '/v1/audit/events?format=ocsf', label: 'OCSF (User Access Management), JSON Lines' },
  { href: '/v1/audit/report', label: 'Review report (HTML, with charts)' },
];
const MAX_TIMELINE_EVENTS = 500;

const NOTICES: Record<string, string> = {
  created: 'Your request was sent.',
  approve: 'Your approval was recorded.',
  deny: 'The request was denied.',
  revoke: 'The grant was revoked.',
  cancel: 'The request was cancelled.',
  review: 'Your review was recorded.',
};

interface WebContext {
  cookies: SessionCookies | null;
  login: WebLogin | null;
  /** Why the web app cannot sign people in, when it cannot. */
  unavailable: string | null;
}

function webContext(deps: AppDeps, options: WebOptions): WebContext {
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

function wantsHtml(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

function viewerOf(deps: AppDeps, session: WebSession): Viewer {
  return { email: session.email, csrf: session.csrf, isAuditor: isAuditor(deps.config, session) };
}

function callerOf(c: Context, session: WebSession): Caller {
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

async function html(c: Context, node: unknown, status = 200): Promise<Response> {
  c.header('cache-control', 'no-store');
  return c.html(`<!doctype html>${await Promise.resolve(String(node))}`, status as 200);
}

/** An error as an HTML page for browsers and as problem+json for everything else. */
async function refuse(c: Context, code: ErrorCode, detail: string, viewer?: Viewer): Promise<Response> {
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

/** The web app: its routes, and the session lookup the API uses for browser downloads of audit exports. */
export interface WebApp {
  /** The signed-in caller of a browser request (via 'web'), or null without a live session. */
  sessionCaller(c: Context): Promise<Caller | null>;
  register(app: App): void;
}

export function registerWebRoutes(app: App, deps: AppDeps): void {
  createWeb(deps).register(app);
}

export function createWeb(deps: AppDeps): WebApp {
  const options: WebOptions = deps.web ?? {};
  const web = webContext(deps, options);

  async function sessionOf(c: Context): Promise<WebSession | null> {
    if (!web.cookies) return null;
    const session = await web.cookies.readSession(c);
    if (!session) return null;
    if (options.markers && (await options.markers.get(LOGOUT_MARKER, session.sid))) return null;
    return session;
  }

  return {
    sessionCaller: async (c) => {
      const session = await sessionOf(c);
      return session ? callerOf(c, session) : null;
    },
    register: (app) => registerRoutes(app, deps, options, web, sessionOf),
  };
}

function registerRoutes(
  app: App,
  deps: AppDeps,
  options: WebOptions,
  web: WebContext,
  sessionOf: (c: Context) => Promise<WebSession | null>,
): void {
  const expectedOrigin = new URL(deps.publicUrl).origin;

  function loginRedirect(c: Context): Response {
    const url = new URL(c.req.url);
    const returnTo = safeReturnTo(`${url.pathname}${url.search}`, deps.publicUrl);
    return c.redirect(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, 302);
  }

  /** A page that needs a signed-in person: sends others to login, remembering where they wanted to go. */
  function page(
    render: (c: Context, session: WebSession, caller: Caller) => Promise<Response>,
  ): (c: Context) => Promise<Response> {
    return async (c) => {
      const session = await sessionOf(c);
      if (!session) return loginRedirect(c);
      return render(c, session, callerOf(c, session));
    };
  }

  /**
   * A form POST: needs a session, a request from our own origin (Origin, else Referer) and the session's
   * CSRF token (constant-time compare). A signed-in caller failing either check is recorded as forbidden.
   */
  function action(
    name: string,
    handle: (
      c: Context,
      session: WebSession,
      caller: Caller,
      form: Record<string, string>,
    ) => Promise<Response>,
  ): (c: Context) => Promise<Response> {
    return async (c) => {
      const session = await sessionOf(c);
      if (!session) return refuse(c, 'login_required', 'sign in first');
      const caller = callerOf(c, session);
      const parsed = await c.req.parseBody().catch(() => ({}));
      const form: Record<string, string> = {};
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
        return refuse(c, 'csrf_failed', error.message, viewerOf(deps, session));
      }
      return handle(c, session, caller, form);
    };
  }

  function originProblem(c: Context): string | null {
    const site = c.req.header('sec-fetch-site');
    if (site && site !== 'same-origin') return `cross-site request (${site})`;
    const origin = c.req.header('origin');
    if (origin) return origin === expectedOrigin ? null : 'request from another origin';
    const referer = c.req.header('referer');
    if (!referer) return 'no Origin or Referer header';
    try {
      return new URL(referer).origin === expectedOrigin ? null : 'request from another origin';
    } catch {
      return 'unreadable Referer header';
    }
  }

  app.get('/assets/app.css', (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    c.header('cache-control', 'public, max-age=3600');
    return c.body(STYLESHEET);
  });

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
    const session = await sessionOf(c);
    if (session) {
      const parsed = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const token = typeof parsed._csrf === 'string' ? parsed._csrf : '';
      // A forged logout is only a nuisance, but still: our own pages always send the token.
      if (originProblem(c) || !safeEqual(token, session.csrf)) {
        return refuse(
          c,
          'csrf_failed',
          'refused: reload the page and sign out again',
          viewerOf(deps, session),
        );
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

  app.get(
    '/',
    page(async (c, session, caller) => {
      const [mine, waiting] = await Promise.all([
        deps.requests.list(caller, { mine: true, limit: 25 }),
        deps.requests.list(caller, { approvable: true, limit: 25 }),
      ]);
      return html(
        c,
        <HomePage
          viewer={viewerOf(deps, session)}
          mine={mine.items}
          waiting={waiting.items}
          flash={{ notice: NOTICES[c.req.query('done') ?? ''] }}
        />,
      );
    }),
  );

  app.get(
    '/requests/new',
    page(async (c, session, caller) =>
      html(
        c,
        <NewRequestPage
          viewer={viewerOf(deps, session)}
          roles={deps.requests.requestableRoles(caller)}
          values={{ roleId: c.req.query('role'), idempotencyKey: `web-${randomUUID()}` }}
          flash={{}}
        />,
      ),
    ),
  );

  app.post(
    '/requests',
    action('request.create', async (c, session, caller, form) => {
      const values: NewRequestValues = {
        roleId: form.roleId ?? '',
        duration: form.durationMinutes ?? '',
        reason: form.reason ?? '',
        ticket: form.ticket ?? '',
        emergency: form.emergency === 'true',
        // A form re-rendered after an error keeps its key, so correcting and resubmitting stays one request.
        idempotencyKey: /^[\w-]{8,128}$/.test(form.idempotencyKey ?? '')
          ? form.idempotencyKey
          : `web-${randomUUID()}`,
      };
      try {
        const durationMinutes = Number(values.duration);
        if (!/^\d{1,6}$/.test(values.duration ?? '')) {
          throw new DomainError('validation_failed', 'duration must be a whole number of minutes');
        }
        if ((values.reason ?? '').length > 1000 || (values.ticket ?? '').length > 128) {
          throw new DomainError(
            'validation_failed',
            'reason is limited to 1000 and ticket to 128 characters',
          );
        }
        checkText('reason', values.reason ?? '');
        checkText('ticket', values.ticket ?? '', 'line');
        const { request } = await deps.requests.create(
          caller,
          {
            roleId: values.roleId ?? '',
            durationMinutes,
            reason: values.reason ?? '',
            ticket: values.ticket?.trim() || null,
            startAt: null,
            emergency: values.emergency ?? false,
          },
          values.idempotencyKey,
        );
        return c.redirect(`/requests/${request.id}?done=created`, 303);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return html(
          c,
          <NewRequestPage
            viewer={viewerOf(deps, session)}
            roles={deps.requests.requestableRoles(caller)}
            values={values}
            flash={{ error: { code: error.code, detail: error.message } }}
          />,
          error.status,
        );
      }
    }),
  );

  async function renderRequest(
    c: Context,
    session: WebSession,
    caller: Caller,
    request: AccessRequest,
    flash: Flash,
    status = 200,
    showActivity = false,
  ): Promise<Response> {
    const role = deps.requests.role(request.roleId);
    return html(
      c,
      <RequestPage
        viewer={viewerOf(deps, session)}
        request={request}
        role={role}
        actions={actionsFor(deps, request, role, caller)}
        ticketUrl={ticketUrl(deps, request)}
        stillToApprove={stillToApprove(request, role)}
        timeline={await timeline(options, request)}
        flash={flash}
        activity={await activityPanel(deps, request, role, caller, showActivity)}
      />,
      status,
    );
  }

  app.get(
    '/requests/:id',
    page(async (c, session, caller) => {
      try {
        const request = await deps.requests.get(caller, requestIdOf(c));
        const flash = { notice: NOTICES[c.req.query('done') ?? ''] };
        return renderRequest(c, session, caller, request, flash, 200, c.req.query('activity') === '1');
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refuse(c, error.code, error.message, viewerOf(deps, session));
      }
    }),
  );

  const decisions: Record<
    string,
    (caller: Caller, id: string, form: Record<string, string>) => Promise<AccessRequest>
  > = {
    approve: (caller, id, form) => deps.requests.approve(caller, id, text(form.comment, 'comment') ?? null),
    deny: (caller, id, form) =>
      deps.requests.deny(caller, id, required(form.comment, 'comment', 'a comment')),
    revoke: (caller, id, form) =>
      deps.requests.revoke(caller, id, required(form.reason, 'reason', 'a reason')),
    cancel: (caller, id) => deps.requests.cancel(caller, id),
    review: (caller, id, form) => {
      const outcome = form.outcome;
      if (outcome !== 'acknowledged' && outcome !== 'flagged') {
        throw new DomainError('validation_failed', 'outcome must be acknowledged or flagged');
      }
      return deps.requests.review(caller, id, {
        outcome,
        comment: required(form.comment, 'comment', 'a comment'),
      });
    },
  };

  for (const [name, decide] of Object.entries(decisions)) {
    app.post(
      `/requests/:id/${name}`,
      action(`request.${name}`, async (c, session, caller, form) => {
        const id = c.req.param('id') ?? '';
        try {
          requestIdOf(c);
          await decide(caller, id, form);
          return c.redirect(`/requests/${id}?done=${name}`, 303);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          const flash = { error: { code: error.code, detail: error.message } };
          if (!wantsHtml(c) || !REQUEST_ID_PATTERN.test(id)) return refuse(c, error.code, error.message);
          try {
            const current = await deps.requests.get(caller, id);
            return renderRequest(c, session, caller, current, flash, error.status);
          } catch {
            return refuse(c, error.code, error.message, viewerOf(deps, session));
          }
        }
      }),
    );
  }

  app.get(
    '/audit',
    page(async (c, session, caller) => {
      try {
        await deps.audit.authorize(caller, 'audit.view');
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refuse(c, error.code, error.message, viewerOf(deps, session));
      }
      const verify = await deps.audit.verifyStored();
      return html(c, <AuditPage viewer={viewerOf(deps, session)} verify={verify} exports={AUDIT_EXPORTS} />);
    }),
  );
}

/** A form's free text under the same rule and limit as the API (never sliced: a cut can split a pair). */
/** The `:id` of a web route, checked before it reaches storage (a 3,000-character id used to be a 500). */
function requestIdOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!REQUEST_ID_PATTERN.test(id)) {
    throw new DomainError('validation_failed', 'that is not a request id such as req_01J…');
  }
  return id;
}

function text(value: string | undefined, field: string): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (trimmed.length > 1000)
    throw new DomainError('validation_failed', `${field} is limited to 1000 characters`);
  return checkText(field, trimmed);
}

function required(value: string | undefined, field: string, what: string): string {
  const trimmed = text(value, field);
  if (!trimmed) throw new DomainError('validation_failed', `give ${what}`);
  return trimmed;
}

/** Which buttons to show: the same rules the service enforces, so nobody sees a button that would refuse. */
export function actionsFor(
  deps: AppDeps,
  request: AccessRequest,
  role: RoleConfig | undefined,
  caller: Caller,
): RequestActions {
  const own = isOwnRequest(request, caller) || request.requester.email === caller.email;
  const approver = role !== undefined && isApproverFor(role, caller);
  const decidable =
    request.status === 'pending' || (request.status === 'active' && request.extension !== null);
  return {
    approve: !own && deps.requests.awaitsApprovalFrom(request, caller),
    deny: !own && approver && decidable,
    revoke:
      (request.status === 'approved' || request.status === 'active') &&
      (own || approver || isAdmin(deps.config, caller)),
    cancel: own && (request.status === 'pending' || request.status === 'approved'),
    review: !own && approver && request.postReview !== null && request.postReview.outcome === null,
  };
}

/** The activity section for reviewers (auditors, the role's approvers) of a grant that started. */
async function activityPanel(
  deps: AppDeps,
  request: AccessRequest,
  role: RoleConfig | undefined,
  caller: Caller,
  show: boolean,
): Promise<ActivityPanel | null> {
  const reviewer =
    isAuditor(deps.config, caller) ||
    (role !== undefined && isApproverFor(role, caller) && !isOwnRequest(request, caller));
  if (!deps.activity?.configured || !reviewer || !request.startAt) return null;
  if (!['active', 'expired', 'revoked'].includes(request.status)) return null;
  if (!show) return { kind: 'offer' };
  try {
    return { kind: 'report', report: await deps.activity.summary(caller, request.id) };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { kind: 'error', code: error.code, message: error.message };
  }
}

function ticketUrl(deps: AppDeps, request: AccessRequest): string | null {
  const template = deps.config.web.ticketUrlTemplate;
  if (!template || !request.ticket) return null;
  return template.replace('{ticket}', encodeLinkComponent(request.ticket));
}

function stillToApprove(request: AccessRequest, role: RoleConfig | undefined) {
  if (request.status !== 'pending' || !role) return null;
  const approved = new Set(request.approvals.map((a) => a.approver.email.toLowerCase()));
  return {
    remaining: Math.max(0, request.approvalsRequired - request.approvals.length),
    groups: role.approvers,
    users: role.approverUsers.filter(
      (email) => !approved.has(email.toLowerCase()) && email.toLowerCase() !== request.requester.email,
    ),
  };
}

/** Every committed event of the request, sealed or not (unsealed ones carry no seq yet). */
async function timeline(options: WebOptions, request: AccessRequest): Promise<TimelineEvent[]> {
  if (!options.requestEvents) return [];
  return options.requestEvents(request.id, MAX_TIMELINE_EVENTS);
}
