/**
 * Pieces every page shares: the layout, times (UTC on the server, localised by /assets/app.js), countdowns,
 * status and risk badges, and the request table.
 */
import type { Child, FC } from 'hono/jsx';
import type { RoleConfig } from '../../config/schema.js';
import type { AccessRequest } from '../../domain/types.js';

export interface Viewer {
  email: string;
  csrf: string;
  isAuditor: boolean;
  /** When the page was rendered (ISO): the server-side countdowns count from it. */
  now: string;
}

export interface Flash {
  notice?: string | undefined;
  error?: { code: string; detail: string } | undefined;
}

/** `2026-11-22 10:00 UTC`: what the page shows until the script shows local time, and the hover text after. */
export function utcText(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

/** A time as `<time datetime>`: UTC from the server, the viewer's local time once the script has run. */
export const When: FC<{ iso: string | null | undefined }> = ({ iso }) =>
  iso ? (
    <time datetime={iso} title={utcText(iso)}>
      {utcText(iso)}
    </time>
  ) : (
    <>—</>
  );

export function minutes(total: number): string {
  const h = Math.floor(total / 60);
  const m = total % 60;
  return h && m ? `${h} h ${m} min` : h ? `${h} h` : `${m} min`;
}

/** `in 1 h 5 min` / `3 min ago`, rounded down to the minute (the script ticks the same text). */
export function relative(iso: string, now: string): string {
  const ms = Date.parse(iso) - Date.parse(now);
  const total = Math.floor(Math.abs(ms) / 60_000);
  const days = Math.floor(total / 1440);
  const span =
    days >= 2 ? `${days} days ${minutes(total % 1440)}` : total < 1 ? 'less than a minute' : minutes(total);
  return ms >= 0 ? `in ${span}` : `${span} ago`;
}

/** A countdown to `iso`, correct when rendered; `data-until` lets the same-origin script tick it. */
export const Countdown: FC<{ iso: string; now: string; id?: string }> = ({ iso, now, id }) => (
  <span class="countdown" data-until={iso} id={id}>
    {relative(iso, now)}
  </span>
);

export const Status: FC<{ status: string }> = ({ status }) => (
  <span class={`status status-${status}`} data-status={status}>
    {status.replace('_', ' ')}
  </span>
);

/** The role's risk as configured (`risk: high`); normal-risk roles show nothing. */
export const Risk: FC<{ role: RoleConfig | undefined }> = ({ role }) =>
  role?.risk === 'high' ? (
    <span
      class="risk-high"
      data-risk="high"
      title="This role can change production: read the reason and ticket"
    >
      high risk
    </span>
  ) : null;

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export const Layout: FC<{
  title: string;
  viewer?: Viewer | undefined;
  flash?: Flash | undefined;
  children?: Child;
}> = ({ title, viewer, flash, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <title>{`${title} · Breakglass`}</title>
      <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      <link rel="stylesheet" href="/assets/app.css" />
      <script src="/assets/app.js" defer />
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/">
          Breakglass
        </a>
        {viewer ? (
          <nav aria-label="Main">
            <a href="/">Home</a>
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

/** A column of a request table beyond reason, role and status. */
export type Column = 'requester' | 'created' | 'decideBy' | 'timeLeft' | 'reviewBy' | 'revoke';

export const RequestTable: FC<{
  items: AccessRequest[];
  empty: string;
  columns: Column[];
  now: string;
  roles: (id: string) => RoleConfig | undefined;
  csrf?: string;
  id?: string;
}> = ({ items, empty, columns, now, roles, csrf, id }) =>
  items.length === 0 ? (
    <p class="muted">{empty}</p>
  ) : (
    <table class="list" id={id}>
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Role</th>
          {columns.includes('requester') ? <th scope="col">Requester</th> : null}
          <th scope="col">Status</th>
          {columns.includes('created') ? <th scope="col">Created</th> : null}
          {columns.includes('decideBy') ? <th scope="col">Decide by</th> : null}
          {columns.includes('timeLeft') ? <th scope="col">Ends</th> : null}
          {columns.includes('reviewBy') ? <th scope="col">Review by</th> : null}
          {columns.includes('revoke') ? <th scope="col">Action</th> : null}
        </tr>
      </thead>
      <tbody>
        {items.map((request) => (
          <tr data-request={request.id}>
            <td>
              <a href={`/requests/${request.id}`}>{request.reason}</a>
              {request.emergency ? <span class="emergency"> · emergency</span> : null}
              {request.status === 'active' && request.extension ? (
                <span class="muted"> · extension asked</span>
              ) : null}
            </td>
            <td>
              {request.roleId} <Risk role={roles(request.roleId)} />
            </td>
            {columns.includes('requester') ? <td>{request.requester.email}</td> : null}
            <td>
              <Status status={request.status} />
            </td>
            {columns.includes('created') ? (
              <td>
                <When iso={request.createdAt} />
              </td>
            ) : null}
            {columns.includes('decideBy') ? (
              <td>
                {request.status === 'pending' ? (
                  <>
                    <When iso={request.pendingUntil} /> (<Countdown iso={request.pendingUntil} now={now} />)
                  </>
                ) : request.endAt ? (
                  <>
                    extension, before the end: <When iso={request.endAt} /> (
                    <Countdown iso={request.endAt} now={now} />)
                  </>
                ) : null}
              </td>
            ) : null}
            {columns.includes('timeLeft') ? (
              <td>
                <When iso={request.endAt} />
                {request.endAt ? (
                  <>
                    {' '}
                    (<Countdown iso={request.endAt} now={now} />)
                  </>
                ) : null}
              </td>
            ) : null}
            {columns.includes('reviewBy') ? (
              <td>
                {request.postReview ? (
                  <>
                    <When iso={request.postReview.dueAt} /> (
                    <Countdown iso={request.postReview.dueAt} now={now} />)
                    {request.postReview.overdue ? <strong class="emergency"> overdue</strong> : null}
                  </>
                ) : null}
              </td>
            ) : null}
            {columns.includes('revoke') && csrf ? (
              <td>
                <form method="post" action={`/requests/${request.id}/revoke`} class="inline">
                  <Csrf token={csrf} />
                  <label for={`revoke-${request.id}`} class="visually-hidden">
                    Why revoke {request.roleId} of {request.requester.email}?
                  </label>
                  <input
                    id={`revoke-${request.id}`}
                    name="reason"
                    type="text"
                    required
                    placeholder="why revoke?"
                  />
                  <button type="submit" class="danger small">
                    Revoke
                  </button>
                </form>
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
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
