/**
 * The home page, the request form, the request page and its decisions. Every decision goes through
 * RequestService with via='web', and form fields are checked with the API's own schemas.
 */
import { randomUUID } from 'node:crypto';
import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RoleConfig } from '../../../config/schema.js';
import { isAdmin, isApproverFor, isAuditor, isOwnRequest } from '../../../domain/access.js';
import { DomainError } from '../../../domain/errors.js';
import { encodeLinkComponent } from '../../../domain/text.js';
import type { AccessRequest, Caller, TimelineEvent } from '../../../domain/types.js';
import type { App, AppDeps } from '../../env.js';
import {
  CreateRequestBody,
  DECISION_BODIES,
  IDEMPOTENCY_KEY_PATTERN,
  REQUEST_ID_PATTERN,
  validationError,
} from '../../schemas.js';
import type { ActivityPanel } from '../activity-section.js';
import type { Flash } from '../components.js';
import { type FormFields, html, refuse, requestIdOf, type WebKit, wantsHtml } from '../kit.js';
import type { WebOptions } from '../options.js';
import { HomePage, type HomeSections } from '../pages/home.js';
import { NewRequestPage, type NewRequestValues } from '../pages/new-request.js';
import { type DecisionDrafts, type RequestActions, RequestPage } from '../pages/request.js';
import type { WebSession } from '../session.js';

const MAX_TIMELINE_EVENTS = 500;
const HOME_LIST = 25;

const NOTICES: Record<string, string> = {
  created: 'Your request was sent.',
  approve: 'Your approval was recorded.',
  deny: 'The request was denied.',
  revoke: 'The grant was revoked.',
  cancel: 'The request was cancelled.',
  review: 'Your review was recorded.',
};

/** Parses form fields with one of the API's body schemas; a failure is the API's own error. */
function parsed<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** Form text as the API would receive it: an empty optional field is absent, not an empty string. */
function optional(value: string | undefined): string | undefined {
  return value?.trim() ? value : undefined;
}

export function registerRequestRoutes(app: App, kit: WebKit): void {
  const { deps, options } = kit;
  const roleOf = (id: string) => deps.requests.role(id);

  app.get(
    '/',
    kit.page(async (c, session, caller) => {
      const approves = deps.config.roles.some((role) => isApproverFor(role, caller));
      const admin = isAdmin(deps.config, caller);
      const mineCursor = c.req.query('mine');
      const viewer = kit.viewerOf(session);
      const lists = Promise.all([
        deps.requests.list(caller, {
          mine: true,
          limit: HOME_LIST,
          ...(mineCursor && /^[\w-]{1,2000}$/.test(mineCursor) ? { cursor: mineCursor } : {}),
        }),
        approves ? deps.requests.list(caller, { approvable: true, limit: HOME_LIST }) : null,
        approves ? deps.requests.reviewQueue(caller, HOME_LIST) : null,
        admin || approves
          ? deps.requests.list(caller, {
              status: 'active',
              limit: 50,
              ...(admin ? {} : { ofMyRoles: true }),
            })
          : null,
      ]);
      let loaded: Awaited<typeof lists>;
      try {
        loaded = await lists;
      } catch (error) {
        // A tampered "older requests" cursor is bad input (400 page), never a server error.
        if (error instanceof DomainError) return refuse(c, error.code, error.message, viewer);
        throw error;
      }
      const [mine, waiting, toReview, active] = loaded;
      const sections: HomeSections = {
        waiting: waiting ? waiting.items.sort((a, b) => a.pendingUntil.localeCompare(b.pendingUntil)) : null,
        toReview,
        active: active ? active.items.sort((a, b) => (a.endAt ?? '').localeCompare(b.endAt ?? '')) : null,
        activeScope: admin ? 'all' : 'roles',
        mine: mine.items,
        mineMore: mine.nextCursor,
      };
      return html(
        c,
        <HomePage
          viewer={viewer}
          sections={sections}
          roles={roleOf}
          flash={{ notice: NOTICES[c.req.query('done') ?? ''] }}
        />,
      );
    }),
  );

  app.get(
    '/requests/new',
    kit.page(async (c, session, caller) =>
      html(
        c,
        <NewRequestPage
          viewer={kit.viewerOf(session)}
          roles={deps.requests.requestableRoles(caller)}
          values={{ roleId: c.req.query('role'), idempotencyKey: `web-${randomUUID()}` }}
          flash={{}}
        />,
      ),
    ),
  );

  app.post(
    '/requests',
    kit.action('request.create', async (c, session, caller, form) => {
      const values: NewRequestValues = {
        roleId: form.roleId ?? '',
        duration: form.durationMinutes ?? '',
        reason: form.reason ?? '',
        ticket: form.ticket ?? '',
        emergency: form.emergency === 'true',
        // A form re-rendered after an error keeps its key, so correcting and resubmitting stays one request.
        idempotencyKey: IDEMPOTENCY_KEY_PATTERN.test(form.idempotencyKey ?? '')
          ? form.idempotencyKey
          : `web-${randomUUID()}`,
      };
      try {
        const duration = values.duration?.trim() ?? '';
        // The API's schema decides; the web only turns form strings into the JSON types it expects.
        const body = parsed(CreateRequestBody, {
          roleId: values.roleId,
          durationMinutes: /^\d{1,9}$/.test(duration) ? Number(duration) : duration,
          reason: values.reason,
          ...(optional(values.ticket) ? { ticket: values.ticket } : {}),
          emergency: values.emergency,
        });
        const { request } = await deps.requests.create(
          caller,
          {
            roleId: body.roleId,
            durationMinutes: body.durationMinutes,
            reason: body.reason,
            ticket: body.ticket ?? null,
            startAt: null,
            emergency: body.emergency ?? false,
          },
          values.idempotencyKey,
        );
        return c.redirect(`/requests/${request.id}?done=created`, 303);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return html(
          c,
          <NewRequestPage
            viewer={kit.viewerOf(session)}
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
    drafts: DecisionDrafts = {},
  ): Promise<Response> {
    const role = deps.requests.role(request.roleId);
    return html(
      c,
      <RequestPage
        viewer={kit.viewerOf(session)}
        request={request}
        role={role}
        actions={actionsFor(deps, request, role, caller)}
        ticketUrl={ticketUrl(deps, request)}
        stillToApprove={stillToApprove(request, role)}
        timeline={await timeline(options, request)}
        flash={flash}
        activity={await activityPanel(deps, request, role, caller, showActivity)}
        drafts={drafts}
      />,
      status,
    );
  }

  app.get(
    '/requests/:id',
    kit.page(async (c, session, caller) => {
      try {
        const request = await deps.requests.get(caller, requestIdOf(c));
        const flash = { notice: NOTICES[c.req.query('done') ?? ''] };
        return renderRequest(c, session, caller, request, flash, 200, c.req.query('activity') === '1');
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refuse(c, error.code, error.message, kit.viewerOf(session));
      }
    }),
  );

  const trimmed = (form: FormFields, field: string) => optional(form[field]);
  const decisions: Record<string, (caller: Caller, id: string, form: FormFields) => Promise<AccessRequest>> =
    {
      approve: (caller, id, form) => {
        const comment = trimmed(form, 'comment');
        const body = parsed(DECISION_BODIES.approve, comment ? { comment } : {});
        return deps.requests.approve(caller, id, body.comment ?? null);
      },
      deny: (caller, id, form) =>
        deps.requests.deny(caller, id, parsed(DECISION_BODIES.deny, { comment: form.comment ?? '' }).comment),
      revoke: (caller, id, form) =>
        deps.requests.revoke(
          caller,
          id,
          parsed(DECISION_BODIES.revoke, { reason: form.reason ?? '' }).reason,
        ),
      cancel: (caller, id) => deps.requests.cancel(caller, id),
      review: (caller, id, form) =>
        deps.requests.review(
          caller,
          id,
          parsed(DECISION_BODIES.review, { outcome: form.outcome ?? '', comment: form.comment ?? '' }),
        ),
    };

  for (const [name, decide] of Object.entries(decisions)) {
    app.post(
      `/requests/:id/${name}`,
      kit.action(`request.${name}`, async (c, session, caller, form) => {
        const id = c.req.param('id') ?? '';
        try {
          requestIdOf(c);
          await decide(caller, id, form);
          return c.redirect(`/requests/${id}?done=${name}`, 303);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          const flash = { error: { code: error.code, detail: error.message } };
          if (!wantsHtml(c) || !REQUEST_ID_PATTERN.test(id)) return refuse(c, error.code, error.message);
          // The refusal is already recorded once; re-reading for the page must not record a second one.
          const current = await deps.requests.peek(caller, id);
          if (!current) return refuse(c, error.code, error.message, kit.viewerOf(session));
          const typed = name === 'revoke' ? form.reason : form.comment;
          const drafts = name !== 'cancel' && typed ? { [name]: typed } : {};
          return renderRequest(c, session, caller, current, flash, error.status, false, drafts);
        }
      }),
    );
  }
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
