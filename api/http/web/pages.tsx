/** Server-rendered pages (Hono JSX). No scripts: every action is a plain form POST carrying the CSRF token. */
import type { Child, FC } from 'hono/jsx';
import type { RoleConfig } from '../../config/schema.js';
import type { AccessRequest, TimelineEvent } from '../../domain/types.js';
import type { AuditVerifyReport } from '../../services/audit-verify.js';
import { type ActivityPanel, ActivitySection } from './activity-section.js';

export interface Viewer {
  email: string;
  csrf: string;
  isAuditor: boolean;
}

export interface Flash {
  notice?: string | undefined;
  error?: { code: string; detail: string } | undefined;
}

const when = (iso: string | null | undefined) =>
  iso ? (
    <time datetime={iso}>
      {iso
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
        .replace(/Z$/, ' UTC')}
    </time>
  ) : (
    '—'
  );

const minutes = (total: number) => {
  const h = Math.floor(total / 60);
  const m = total % 60;
  return h && m ? `${h} h ${m} min` : h ? `${h} h` : `${m} min`;
};

const Status: FC<{ status: string }> = ({ status }) => (
  <span class={`status status-${status}`} data-status={status}>
    {status.replace('_', ' ')}
  </span>
);

const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export const Layout: FC<{ title: string; viewer?: Viewer | undefined; flash?: Flash; children?: Child }> = ({
  title,
  viewer,
  flash,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <title>{`${title} · Breakglass`}</title>
      <link rel="stylesheet" href="/assets/app.css" />
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/">
          Breakglass
        </a>
        {viewer ? (
          <nav aria-label="Main">
            <a href="/">My requests</a>
            <a href="/requests/new">New request</a>
            {viewer.isAuditor ? <a href="/audit">Audit</a> : null}
            <span class="who">{viewer.email}</span>
            <form method="post" action="/auth/logout">
              <Csrf token={viewer.csrf} />
              <button type="submit" id="logout">
                Sign out
              </button>
            </form>
          </nav>
        ) : null}
      </header>
      <main>
        {flash?.notice ? (
          <p class="notice" role="status">
            {flash.notice}
          </p>
        ) : null}
        {flash?.error ? (
          <p class="error" role="alert" data-code={flash.error.code}>
            {flash.error.detail} <span class="muted">({flash.error.code})</span>
          </p>
        ) : null}
        {children}
      </main>
    </body>
  </html>
);

const RequestTable: FC<{ items: AccessRequest[]; empty: string; showRequester?: boolean }> = ({
  items,
  empty,
  showRequester,
}) =>
  items.length === 0 ? (
    <p class="muted">{empty}</p>
  ) : (
    <table class="list">
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Role</th>
          {showRequester ? <th scope="col">Requester</th> : null}
          <th scope="col">Status</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {items.map((request) => (
          <tr>
            <td>
              <a href={`/requests/${request.id}`}>{request.reason}</a>
              {request.emergency ? <span class="emergency"> · emergency</span> : null}
            </td>
            <td>{request.roleId}</td>
            {showRequester ? <td>{request.requester.email}</td> : null}
            <td>
              <Status status={request.status} />
            </td>
            <td>{when(request.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

export const HomePage: FC<{
  viewer: Viewer;
  mine: AccessRequest[];
  waiting: AccessRequest[];
  flash: Flash;
}> = (props) => (
  <Layout title="Home" viewer={props.viewer} flash={props.flash}>
    <h1>Breakglass</h1>
    <section aria-labelledby="waiting">
      <h2 id="waiting">Waiting for your approval</h2>
      <RequestTable items={props.waiting} empty="Nothing is waiting for you." showRequester />
    </section>
    <section aria-labelledby="mine">
      <h2 id="mine">Your requests</h2>
      <RequestTable items={props.mine} empty="You have not asked for access yet." />
      <p>
        <a href="/requests/new">Ask for access</a>
      </p>
    </section>
  </Layout>
);

export interface RequestActions {
  approve: boolean;
  deny: boolean;
  revoke: boolean;
  cancel: boolean;
  review: boolean;
}

export interface RequestPageProps {
  viewer: Viewer;
  request: AccessRequest;
  role: RoleConfig | undefined;
  actions: RequestActions;
  ticketUrl: string | null;
  stillToApprove: { groups: string[]; users: string[]; remaining: number } | null;
  timeline: TimelineEvent[];
  flash: Flash;
  /** The grant-activity section, for reviewers of a grant that started; absent otherwise. */
  activity?: ActivityPanel | null;
}

function describeEvent(event: TimelineEvent): string {
  const data = event.data as Record<string, unknown>;
  const note = (key: string) => (typeof data[key] === 'string' && data[key] ? `: ${String(data[key])}` : '');
  switch (event.type) {
    case 'approval.recorded':
      return `approval ${String(data.count ?? '')}/${String(data.required ?? '')}${note('comment')}`;
    case 'request.denied':
      return `denied${note('comment')}`;
    case 'grant.revoked':
      return `revoked${note('reason')}`;
    case 'access.forbidden':
      return `refused ${String(data.action ?? '')} (${String(data.code ?? '')})`;
    case 'review.recorded':
      return `post-review ${String(data.outcome ?? '')}${note('comment')}`;
    default:
      return event.type.replace('.', ' ').replace('_', ' ');
  }
}

const actorName = (event: TimelineEvent) =>
  event.actor.type === 'user' ? `${event.actor.email} via ${event.actor.via}` : 'system';

export const RequestPage: FC<RequestPageProps> = ({
  viewer,
  request,
  role,
  actions,
  ticketUrl,
  stillToApprove,
  timeline,
  flash,
  activity,
}) => {
  const base = `/requests/${request.id}`;
  return (
    <Layout title={`${request.roleId} for ${request.requester.email}`} viewer={viewer} flash={flash}>
      <h1>
        {request.roleId} for {request.requester.email} <Status status={request.status} />
      </h1>
      {request.emergency ? (
        <p class="error" role="note">
          Emergency access: activated without approval; an approver must review it.
        </p>
      ) : null}
      <dl class="facts">
        <dt>Role</dt>
        <dd>
          {request.roleId}
          {role?.description ? <span class="muted"> — {role.description}</span> : null}
        </dd>
        <dt>Account</dt>
        <dd>{request.accountId}</dd>
        <dt>Requester</dt>
        <dd>{request.requester.email}</dd>
        <dt>Reason</dt>
        <dd>{request.reason}</dd>
        <dt>Ticket</dt>
        <dd>
          {request.ticket ? (
            ticketUrl ? (
              <a href={ticketUrl} rel="noopener noreferrer">
                {request.ticket}
              </a>
            ) : (
              request.ticket
            )
          ) : (
            '—'
          )}
        </dd>
        <dt>Duration</dt>
        <dd>{minutes(request.durationMinutes)}</dd>
        <dt>Start</dt>
        <dd>{request.startAt ? when(request.startAt) : 'when approved'}</dd>
        <dt>End</dt>
        <dd>{request.endAt ? when(request.endAt) : `${minutes(request.durationMinutes)} after start`}</dd>
        <dt>Approvals</dt>
        <dd>
          <span id="approval-count">
            {request.approvals.length} of {request.approvalsRequired}
          </span>
          {request.approvals.length > 0 ? (
            <ul>
              {request.approvals.map((approval) => (
                <li>
                  {approval.approver.email} ({approval.via}, {when(approval.at)})
                  {approval.comment ? `: ${approval.comment}` : ''}
                </li>
              ))}
            </ul>
          ) : null}
        </dd>
        {stillToApprove ? (
          <>
            <dt>Still needed</dt>
            <dd>
              {stillToApprove.remaining} more from{' '}
              {[...stillToApprove.groups.map((group) => `members of ${group}`), ...stillToApprove.users].join(
                ', ',
              ) || 'nobody (no approvers configured)'}
            </dd>
          </>
        ) : null}
        {request.extension ? (
          <>
            <dt>Extension asked</dt>
            <dd>
              {minutes(request.extension.durationMinutes)}: {request.extension.reason} (
              {request.extension.approvals.length} of {request.approvalsRequired} approvals)
            </dd>
          </>
        ) : null}
        {request.denial ? (
          <>
            <dt>Denied</dt>
            <dd>
              by {request.denial.by.email}, {when(request.denial.at)}: {request.denial.comment ?? ''}
            </dd>
          </>
        ) : null}
        {request.revocation ? (
          <>
            <dt>Revoked</dt>
            <dd>
              by {request.revocation.by.email}, {when(request.revocation.at)}: {request.revocation.reason}
            </dd>
          </>
        ) : null}
        {request.postReview ? (
          <>
            <dt>Post-review</dt>
            <dd>
              {request.postReview.outcome
                ? `${request.postReview.outcome} by ${request.postReview.by?.email ?? ''}`
                : 'due '}
              {request.postReview.outcome ? '' : when(request.postReview.dueAt)}
            </dd>
          </>
        ) : null}
      </dl>

      {Object.values(actions).some(Boolean) ? (
        <section aria-labelledby="decide">
          <h2 id="decide">Decide</h2>
          <div class="actions">
            {actions.approve ? (
              <form method="post" action={`${base}/approve`}>
                <Csrf token={viewer.csrf} />
                <label for="approve-comment">Comment (optional)</label>
                <textarea id="approve-comment" name="comment" maxlength={1000} />
                <button type="submit" id="approve">
                  Approve
                </button>
              </form>
            ) : null}
            {actions.deny ? (
              <form method="post" action={`${base}/deny`}>
                <Csrf token={viewer.csrf} />
                <label for="deny-comment">Why deny? (required)</label>
                <textarea id="deny-comment" name="comment" required maxlength={1000} />
                <button type="submit" id="deny" class="danger">
                  Deny
                </button>
              </form>
            ) : null}
            {actions.review ? (
              <form method="post" action={`${base}/review`}>
                <Csrf token={viewer.csrf} />
                <label for="review-outcome">Post-review outcome</label>
                <select id="review-outcome" name="outcome">
                  <option value="acknowledged">Acknowledged: the use was justified</option>
                  <option value="flagged">Flagged: needs follow-up</option>
                </select>
                <label for="review-comment">Comment (required)</label>
                <textarea id="review-comment" name="comment" required maxlength={1000} />
                <button type="submit" id="review">
                  Record review
                </button>
              </form>
            ) : null}
            {actions.revoke ? (
              <form method="post" action={`${base}/revoke`}>
                <Csrf token={viewer.csrf} />
                <label for="revoke-reason">Why revoke? (required)</label>
                <textarea id="revoke-reason" name="reason" required maxlength={1000} />
                <button type="submit" id="revoke" class="danger">
                  Revoke now
                </button>
              </form>
            ) : null}
            {actions.cancel ? (
              <form method="post" action={`${base}/cancel`}>
                <Csrf token={viewer.csrf} />
                <p class="hint">Withdraw this request before it starts.</p>
                <button type="submit" id="cancel" class="secondary">
                  Cancel request
                </button>
              </form>
            ) : null}
          </div>
        </section>
      ) : null}

      {activity ? <ActivitySection requestId={request.id} panel={activity} /> : null}

      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ol class="timeline">
          {timeline.map((event) => (
            <li data-type={event.type}>
              {when(event.time)} · <strong>{describeEvent(event)}</strong>{' '}
              <span class="muted">
                by {actorName(event)} ·{' '}
                {event.seq !== undefined ? (
                  `#${event.seq}`
                ) : (
                  <span title="committed; the sealer has not chained it yet">not yet sealed</span>
                )}
              </span>
            </li>
          ))}
        </ol>
      </section>
    </Layout>
  );
};

export interface NewRequestValues {
  roleId?: string;
  duration?: string;
  reason?: string;
  ticket?: string;
  emergency?: boolean;
  /** Sent back with the form: a resubmission (double click, reload, retry after a 503) finds the first request. */
  idempotencyKey?: string;
}

export const NewRequestPage: FC<{
  viewer: Viewer;
  roles: RoleConfig[];
  values: NewRequestValues;
  flash: Flash;
}> = ({ viewer, roles, values, flash }) => (
  <Layout title="New request" viewer={viewer} flash={flash}>
    <h1>Ask for access</h1>
    {roles.length === 0 ? (
      <p>You are not in a group that may request any role.</p>
    ) : (
      <form method="post" action="/requests" class="panel">
        <Csrf token={viewer.csrf} />
        {values.idempotencyKey ? (
          <input type="hidden" name="idempotencyKey" value={values.idempotencyKey} />
        ) : null}
        <label for="roleId">Role</label>
        <select id="roleId" name="roleId" required>
          {roles.map((role) => (
            <option value={role.id} selected={values.roleId === role.id}>
              {role.id} — {role.description || role.accountId} (max {minutes(role.maxDuration)})
            </option>
          ))}
        </select>
        <label for="duration">Duration in minutes</label>
        <input
          id="duration"
          name="durationMinutes"
          type="number"
          min={1}
          max={7 * 24 * 60}
          required
          value={values.duration ?? String(roles[0]?.defaultDuration ?? 60)}
        />
        <label for="reason">Reason</label>
        <textarea id="reason" name="reason" required minlength={3} maxlength={1000}>
          {values.reason ?? ''}
        </textarea>
        <label for="ticket">Ticket</label>
        <input id="ticket" name="ticket" type="text" maxlength={128} value={values.ticket ?? ''} />
        {roles.some((role) => role.emergency.allowed) ? (
          <label class="checkbox" for="emergency">
            <input id="emergency" name="emergency" type="checkbox" value="true" checked={values.emergency} />
            Emergency: start now without approval (needs a ticket; approvers are alerted and must review)
          </label>
        ) : null}
        <button type="submit" id="submit-request">
          Send request
        </button>
      </form>
    )}
  </Layout>
);

export const AuditPage: FC<{
  viewer: Viewer;
  verify: AuditVerifyReport;
  exports: Array<{ href: string; label: string }>;
}> = ({ viewer, verify, exports }) => (
  <Layout title="Audit" viewer={viewer}>
    <h1>Audit log</h1>
    <section aria-labelledby="verify">
      <h2 id="verify">Chain verification</h2>
      {verify.ok ? (
        <p class="notice" id="verify-result" data-ok="true">
          The hash chain verifies: {verify.events} events, last seq {verify.lastSeq}.
        </p>
      ) : (
        <p class="error" id="verify-result" data-ok="false">
          The chain is broken at seq {verify.firstBadSeq}: {verify.reason} — {verify.detail}
        </p>
      )}
    </section>
    <section aria-labelledby="exports">
      <h2 id="exports">Exports</h2>
      <ul>
        {exports.map((item) => (
          <li>
            <a href={item.href}>{item.label}</a>
          </li>
        ))}
      </ul>
    </section>
  </Layout>
);

export const MessagePage: FC<{
  title: string;
  viewer?: Viewer | undefined;
  flash?: Flash;
  children?: Child;
}> = ({ title, viewer, flash, children }) => (
  <Layout title={title} viewer={viewer} flash={flash ?? {}}>
    <h1>{title}</h1>
    {children}
  </Layout>
);
