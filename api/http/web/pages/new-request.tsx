/**
 * The request form. Its hints name the limits the API validates with (the same constants), but the fields carry
 * no `maxlength`: a browser silently cuts pasted text at `maxlength`, so an over-long reason would be sent
 * shortened instead of refused. The server checks the form with the API's schema and shows its refusal.
 */
import type { FC } from 'hono/jsx';
import type { RoleConfig } from '../../../config/schema.js';
import { MAX_DURATION_MINUTES, REASON_LIMIT, TICKET_LIMIT } from '../../schemas.js';
import { Csrf, type Flash, Layout, minutes, type Viewer } from '../components.js';

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
              {role.risk === 'high' ? '⚠ HIGH RISK · ' : ''}
              {role.id} — {role.description || role.accountId} (max {minutes(role.maxDuration)}
              {role.ticket.required ? ', ticket required' : ''})
            </option>
          ))}
        </select>
        <label for="duration">Duration in minutes</label>
        <input
          id="duration"
          name="durationMinutes"
          type="number"
          min={1}
          max={MAX_DURATION_MINUTES}
          required
          value={values.duration ?? String(roles[0]?.defaultDuration ?? 60)}
        />
        <label for="reason">Reason</label>
        <textarea id="reason" name="reason" required minlength={3} aria-describedby="reason-hint">
          {values.reason ?? ''}
        </textarea>
        <p class="hint" id="reason-hint">
          {REASON_LIMIT.toLocaleString('en')} characters at most.
        </p>
        <label for="ticket">Ticket</label>
        <input
          id="ticket"
          name="ticket"
          type="text"
          aria-describedby="ticket-hint"
          value={values.ticket ?? ''}
        />
        <p class="hint" id="ticket-hint">
          {TICKET_LIMIT} characters at most.
        </p>
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
