/** /audit for auditors: chain verification, the event browser and the export links. */
import type { Context } from 'hono';
import { DomainError } from '../../../domain/errors.js';
import type { EventQuery } from '../../../services/audit-service.js';
import type { App } from '../../env.js';
import { REQUEST_ID_PATTERN } from '../../schemas.js';
import { html, refuse, type WebKit } from '../kit.js';
import { type AuditFilterValues, AuditPage } from '../pages/audit.js';

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
const PAGE_SIZE = 50;
/** `datetime-local` values (read as UTC) or full ISO times. */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?$/;

/** The browser's filters, checked like API input: a bad value is a 400 with a stable code, never a 500. */
function filterOf(c: Context): { values: AuditFilterValues; query: EventQuery } {
  const q = (name: string) => (c.req.query(name) ?? '').trim();
  const values: AuditFilterValues = {
    since: q('since'),
    until: q('until'),
    roleId: q('role'),
    user: q('user'),
    requestId: q('request'),
    type: q('type'),
  };
  const time = (field: string, value: string) => {
    if (!value) return undefined;
    if (!LOCAL_TIME.test(value))
      throw new DomainError('validation_failed', `${field} must be a time such as 2026-11-22T10:00`);
    const iso = new Date(value.endsWith('Z') ? value : `${value}Z`);
    if (Number.isNaN(iso.getTime()))
      throw new DomainError('validation_failed', `${field} is not a valid time`);
    return iso.toISOString();
  };
  if (values.requestId && !REQUEST_ID_PATTERN.test(values.requestId))
    throw new DomainError('validation_failed', 'request must be a request id such as req_01J…');
  if (values.user.length > 254)
    throw new DomainError('validation_failed', 'person is limited to 254 characters');
  if (values.roleId.length > 64 || values.type.length > 64)
    throw new DomainError('validation_failed', 'role and type are limited to 64 characters');
  const before = q('before');
  if (before && !/^\d{1,12}$/.test(before))
    throw new DomainError('validation_failed', 'before must be a seq number');
  const since = time('from', values.since);
  const until = time('until', values.until);
  const query: EventQuery = {
    limit: PAGE_SIZE,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(values.roleId ? { roleId: values.roleId } : {}),
    ...(values.user ? { user: values.user } : {}),
    ...(values.requestId ? { requestId: values.requestId } : {}),
    ...(values.type ? { type: values.type } : {}),
    ...(before ? { before: Number(before) } : {}),
  };
  return { values, query };
}

export function registerAuditRoutes(app: App, kit: WebKit): void {
  const { deps } = kit;
  app.get(
    '/audit',
    kit.page(async (c, session, caller) => {
      const viewer = kit.viewerOf(session);
      try {
        await deps.audit.authorize(caller, 'audit.view');
        const { values, query } = filterOf(c);
        const [verify, page] = await Promise.all([
          deps.audit.verifyStored(),
          deps.audit.browse(caller, query),
        ]);
        // Read like an export: recorded as `audit.read` (aggregated per person in windows) before the page goes.
        await deps.audit.recordRead(caller, {
          kind: 'browse',
          format: 'html',
          since: query.since,
          until: query.until,
          filter: Object.fromEntries(
            Object.entries({
              role: query.roleId,
              user: query.user,
              request: query.requestId,
              type: query.type,
              before: query.before === undefined ? undefined : String(query.before),
            }).filter((entry): entry is [string, string] => entry[1] !== undefined),
          ),
          result: `${page.events.length} events shown; chain ${verify.ok ? 'ok' : 'NOT ok'}`,
        });
        let nextHref: string | null = null;
        if (page.nextCursor !== null) {
          const next = new URLSearchParams(
            Object.entries({
              since: values.since,
              until: values.until,
              role: values.roleId,
              user: values.user,
              request: values.requestId,
              type: values.type,
            }).filter(([, value]) => value !== ''),
          );
          next.set('before', String(page.nextCursor));
          nextHref = `/audit?${next.toString()}`;
        }
        return html(
          c,
          <AuditPage
            viewer={viewer}
            verify={verify}
            exports={AUDIT_EXPORTS}
            filter={values}
            page={page}
            roles={deps.config.roles.map((role) => role.id)}
            nextHref={nextHref}
          />,
        );
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refuse(c, error.code, error.message, viewer);
      }
    }),
  );
}
