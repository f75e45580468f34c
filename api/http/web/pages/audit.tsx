/** /audit: chain verification, an event browser (filters, newest first, paged by seq) and the exports. */
import type { FC } from 'hono/jsx';
import { AUDIT_EVENT_TYPES, type TimelineEvent } from '../../../domain/types.js';
import type { EventPage } from '../../../services/audit-service.js';
import type { AuditVerifyReport } from '../../../services/audit-verify.js';
import { type Flash, Layout, type Viewer, When } from '../components.js';

export interface AuditFilterValues {
  since: string;
  until: string;
  roleId: string;
  user: string;
  requestId: string;
  type: string;
}

function actorText(event: TimelineEvent): string {
  return event.actor.type === 'user'
    ? `${event.actor.email} (${event.actor.via})`
    : `system: ${event.actor.subject}`;
}

/** A short, readable gist of an event's data (free text is shown as text, never as markup). */
function gist(event: TimelineEvent): string {
  const data = event.data as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ['outcome', 'action', 'code', 'comment', 'reason', 'durationMinutes', 'kind']) {
    const value = data[key];
    if (typeof value === 'string' || typeof value === 'number')
      parts.push(`${key}: ${String(value).slice(0, 120)}`);
  }
  return parts.join(' · ');
}

export const AuditPage: FC<{
  viewer: Viewer;
  verify: AuditVerifyReport;
  exports: Array<{ href: string; label: string }>;
  filter: AuditFilterValues;
  page: EventPage | null;
  roles: string[];
  /** The link to the next (older) page, when there is one. */
  nextHref: string | null;
  flash?: Flash;
}> = ({ viewer, verify, exports, filter, page, roles, nextHref, flash }) => (
  <Layout title="Audit" viewer={viewer} flash={flash}>
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
    <section aria-labelledby="browse">
      <h2 id="browse">Events</h2>
      <form method="get" action="/audit" class="panel filters" id="event-filter">
        <div>
          <label for="f-since">From (UTC)</label>
          <input id="f-since" name="since" type="datetime-local" value={filter.since} />
        </div>
        <div>
          <label for="f-until">Until (UTC)</label>
          <input id="f-until" name="until" type="datetime-local" value={filter.until} />
        </div>
        <div>
          <label for="f-role">Role</label>
          <select id="f-role" name="role">
            <option value="">any role</option>
            {roles.map((role) => (
              <option value={role} selected={filter.roleId === role}>
                {role}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-user">Person (email)</label>
          <input id="f-user" name="user" type="text" value={filter.user} />
        </div>
        <div>
          <label for="f-request">Request id</label>
          <input id="f-request" name="request" type="text" value={filter.requestId} />
        </div>
        <div>
          <label for="f-type">Event type</label>
          <select id="f-type" name="type">
            <option value="">any type</option>
            {AUDIT_EVENT_TYPES.map((type) => (
              <option value={type} selected={filter.type === type}>
                {type}
              </option>
            ))}
          </select>
        </div>
        <div>
          <button type="submit" id="filter-events">
            Show events
          </button>
        </div>
      </form>
      {page ? (
        page.events.length === 0 ? (
          <p class="muted" id="no-events">
            No sealed event matches.
          </p>
        ) : (
          <table class="list" id="events">
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Who</th>
                <th scope="col">Request</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.events.map((event) => (
                <tr data-type={event.type} data-seq={event.seq === undefined ? '' : String(event.seq)}>
                  <td>{event.seq === undefined ? 'unsealed' : `#${event.seq}`}</td>
                  <td>
                    <When iso={event.time} />
                  </td>
                  <td>{event.type}</td>
                  <td>{actorText(event)}</td>
                  <td>
                    {event.requestId ? (
                      <a href={`/requests/${event.requestId}`}>
                        {event.roleId ?? ''} {event.requestId}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{gist(event)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
      {page ? (
        <p class="muted">
          Read {page.scanned} events for this page.{' '}
          {nextHref ? (
            <a href={nextHref} id="older-events" rel="next">
              Older events
            </a>
          ) : (
            'No older events match.'
          )}
        </p>
      ) : null}
    </section>
    <section aria-labelledby="exports">
      <h2 id="exports">Exports and report</h2>
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
