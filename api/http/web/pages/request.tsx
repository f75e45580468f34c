/**
 * One request: what is asked and by whom, the deadline or time left, the decision buttons (first, so they sit
 * above the fold on a phone), the facts, the history of extensions and reviews, and the full timeline.
 */
import type { FC } from 'hono/jsx';
import type { RoleConfig } from '../../../config/schema.js';
import type { AccessRequest, TimelineEvent } from '../../../domain/types.js';
import { type ActivityPanel, ActivitySection } from '../activity-section.js';
import {
  Countdown,
  Csrf,
  type Flash,
  Layout,
  minutes,
  Risk,
  Status,
  type Viewer,
  When,
} from '../components.js';

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
  /** The text of a refused decision, shown again in its field so nothing typed is lost. */
  drafts?: DecisionDrafts;
}

/**
 * What was typed into a decision form. The fields carry no `maxlength` (a browser cuts pasted text there
 * silently): the API's schema refuses an over-long comment, and the page comes back with the text kept.
 */
export type DecisionDrafts = Partial<Record<'approve' | 'deny' | 'review' | 'revoke', string>>;

function describeEvent(event: TimelineEvent): string {
  const data = event.data as Record<string, unknown>;
  const note = (key: string) => (typeof data[key] === 'string' && data[key] ? `: ${String(data[key])}` : '');
  const span = () => (typeof data.durationMinutes === 'number' ? minutes(data.durationMinutes) : '');
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
    case 'grant.extension_requested':
      return `extension of ${span()} asked${note('reason')}`;
    case 'grant.extension_denied':
      return `extension of ${span()} denied${note('comment')}`;
    case 'grant.extended':
      return `extended by ${span()}`;
    default:
      return event.type.replace('.', ' ').replace('_', ' ');
  }
}

const actorName = (event: TimelineEvent) =>
  event.actor.type === 'user' ? `${event.actor.email} via ${event.actor.via}` : 'system';

/** The one line under the title that says what happens next and when. */
const NextStep: FC<{ request: AccessRequest; now: string }> = ({ request, now }) => {
  switch (request.status) {
    case 'pending':
      return (
        <p class="next" id="next-step">
          Decision needed by <When iso={request.pendingUntil} />:{' '}
          <Countdown id="countdown" iso={request.pendingUntil} now={now} />, then it times out.
        </p>
      );
    case 'approved':
      return request.startAt ? (
        <p class="next" id="next-step">
          Approved; starts <When iso={request.startAt} /> (
          <Countdown id="countdown" iso={request.startAt} now={now} />
          ).
        </p>
      ) : null;
    case 'active':
      return request.endAt ? (
        <p class="next" id="next-step">
          Active until <When iso={request.endAt} />: ends{' '}
          <Countdown id="countdown" iso={request.endAt} now={now} />.
        </p>
      ) : null;
    default:
      return null;
  }
};

/** The emergency banner, worded for where the post-review stands. */
const EmergencyBanner: FC<{ request: AccessRequest; now: string }> = ({ request, now }) => {
  const review = request.postReview;
  if (!request.emergency || !review) return null;
  if (review.outcome === 'flagged') {
    return (
      <p class="error" role="note" id="emergency-banner" data-review="flagged">
        Emergency access, <strong>flagged in post-review</strong> by {review.by?.email} (
        <When iso={review.at} />){review.comment ? `: ${review.comment}` : ''}
      </p>
    );
  }
  if (review.outcome === 'acknowledged') {
    return (
      <p class="notice" role="note" id="emergency-banner" data-review="acknowledged">
        Emergency access, reviewed: acknowledged by {review.by?.email} (<When iso={review.at} />)
        {review.comment ? `: ${review.comment}` : ''}
      </p>
    );
  }
  return (
    <p class="error" role="note" id="emergency-banner" data-review="open">
      Emergency access: activated without approval; an approver must review it by <When iso={review.dueAt} />{' '}
      (
      <Countdown iso={review.dueAt} now={now} />){review.overdue ? ' — the review is overdue' : ''}.
    </p>
  );
};

const NEVER_STARTED = new Set(['denied', 'cancelled', 'timed_out', 'failed']);

/** Start and end as the state has them: a request that never started says so instead of a hypothetical time. */
const StartEnd: FC<{ request: AccessRequest }> = ({ request }) => {
  if (!request.startAt && NEVER_STARTED.has(request.status)) {
    return (
      <>
        <dt>Start</dt>
        <dd>never started ({request.status.replace('_', ' ')})</dd>
      </>
    );
  }
  return (
    <>
      <dt>Start</dt>
      <dd>{request.startAt ? <When iso={request.startAt} /> : 'when approved'}</dd>
      <dt>{request.status === 'revoked' ? 'Was to end' : 'End'}</dt>
      <dd>
        {request.endAt ? <When iso={request.endAt} /> : `${minutes(request.durationMinutes)} after start`}
      </dd>
    </>
  );
};

const HISTORY_TYPES = new Set([
  'grant.extension_requested',
  'grant.extension_denied',
  'grant.extended',
  'review.recorded',
  'review.overdue',
  'emergency.activated',
]);

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
  drafts = {},
}) => {
  const base = `/requests/${request.id}`;
  const history = timeline.filter((event) => HISTORY_TYPES.has(event.type));
  const highRisk = role?.risk === 'high';
  return (
    <Layout title={`${request.roleId} for ${request.requester.email}`} viewer={viewer} flash={flash}>
      <h1>
        {request.roleId} for {request.requester.email} <Status status={request.status} /> <Risk role={role} />
      </h1>
      <NextStep request={request} now={viewer.now} />
      <EmergencyBanner request={request} now={viewer.now} />
      {highRisk && (actions.approve || actions.deny) ? (
        <p class="risk-note" role="note">
          High-risk role: {role?.description || request.roleId}. Check the reason and ticket before approving.
        </p>
      ) : null}

      {Object.values(actions).some(Boolean) ? (
        <section aria-labelledby="decide">
          <h2 id="decide" class="visually-hidden">
            Decide
          </h2>
          <div class="actions">
            {actions.approve ? (
              <form method="post" action={`${base}/approve`}>
                <Csrf token={viewer.csrf} />
                <label for="approve-comment">
                  {request.status === 'active' ? 'Approve the extension' : 'Approve'}: comment (optional)
                </label>
                <textarea id="approve-comment" name="comment" rows={1}>
                  {drafts.approve ?? ''}
                </textarea>
                <button type="submit" id="approve" class={highRisk ? 'approve-high' : undefined}>
                  {request.status === 'active'
                    ? 'Approve extension'
                    : highRisk
                      ? 'Approve high-risk access'
                      : 'Approve'}
                </button>
              </form>
            ) : null}
            {actions.deny ? (
              <form method="post" action={`${base}/deny`}>
                <Csrf token={viewer.csrf} />
                <label for="deny-comment">Why deny? (required)</label>
                <textarea id="deny-comment" name="comment" rows={1} required>
                  {drafts.deny ?? ''}
                </textarea>
                <button type="submit" id="deny" class="danger">
                  {request.status === 'active' ? 'Deny extension' : 'Deny'}
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
                <textarea id="review-comment" name="comment" rows={1} required>
                  {drafts.review ?? ''}
                </textarea>
                <button type="submit" id="review">
                  Record review
                </button>
              </form>
            ) : null}
            {actions.revoke ? (
              <form method="post" action={`${base}/revoke`}>
                <Csrf token={viewer.csrf} />
                <label for="revoke-reason">Why revoke? (required)</label>
                <textarea id="revoke-reason" name="reason" rows={1} required>
                  {drafts.revoke ?? ''}
                </textarea>
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
        <StartEnd request={request} />
        <dt>Asked</dt>
        <dd>
          <When iso={request.createdAt} />
        </dd>
        {request.emergency ? null : (
          <>
            <dt>Approvals</dt>
            <dd>
              <span id="approval-count">
                {request.approvals.length} of {request.approvalsRequired}
              </span>
              {request.approvals.length > 0 ? (
                <ul>
                  {request.approvals.map((approval) => (
                    <li>
                      {approval.approver.email} ({approval.via}, <When iso={approval.at} />)
                      {approval.comment ? `: ${approval.comment}` : ''}
                    </li>
                  ))}
                </ul>
              ) : null}
            </dd>
          </>
        )}
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
            <dd id="extension-asked">
              {minutes(request.extension.durationMinutes)}: {request.extension.reason} (
              {request.extension.approvals.length} of {request.extension.approvalsRequired} approvals
              {request.extension.approvals.length > 0
                ? `: ${request.extension.approvals.map((a) => a.approver.email).join(', ')}`
                : ''}
              ), asked <When iso={request.extension.requestedAt} />
            </dd>
          </>
        ) : null}
        {request.denial ? (
          <>
            <dt>Denied</dt>
            <dd>
              by {request.denial.by.email}, <When iso={request.denial.at} />: {request.denial.comment ?? ''}
            </dd>
          </>
        ) : null}
        {request.cancellation ? (
          <>
            <dt>Cancelled</dt>
            <dd>
              by {request.cancellation.by.email}, <When iso={request.cancellation.at} />
            </dd>
          </>
        ) : null}
        {request.revocation ? (
          <>
            <dt>Revoked</dt>
            <dd>
              by {request.revocation.by.email}, <When iso={request.revocation.at} />:{' '}
              {request.revocation.reason}
            </dd>
          </>
        ) : null}
        {request.status === 'timed_out' ? (
          <>
            <dt>Timed out</dt>
            <dd>
              no decision by <When iso={request.pendingUntil} />
            </dd>
          </>
        ) : null}
        {request.postReview ? (
          <>
            <dt>Post-review</dt>
            <dd id="post-review">
              {request.postReview.outcome ? (
                <>
                  {request.postReview.outcome} by {request.postReview.by?.email ?? ''},{' '}
                  <When iso={request.postReview.at} />
                  {request.postReview.comment ? `: ${request.postReview.comment}` : ''}
                </>
              ) : (
                <>
                  due <When iso={request.postReview.dueAt} />
                  {request.postReview.overdue ? ' (overdue)' : ''}
                </>
              )}
            </dd>
          </>
        ) : null}
      </dl>

      {request.extensions.length > 0 || history.length > 0 ? (
        <section aria-labelledby="history">
          <h2 id="history">Extensions and reviews</h2>
          <ul class="history" id="history-list">
            {history.map((event) => (
              <li data-type={event.type}>
                <When iso={event.time} /> · {describeEvent(event)}{' '}
                <span class="muted">by {actorName(event)}</span>
              </li>
            ))}
          </ul>
          {request.extensions.length > 0 ? (
            <p class="muted">
              Granted extensions:{' '}
              {request.extensions.map((e) => `${minutes(e.durationMinutes)} (${e.reason})`).join('; ')}.
            </p>
          ) : null}
        </section>
      ) : null}

      {activity ? <ActivitySection requestId={request.id} panel={activity} /> : null}

      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ol class="timeline">
          {timeline.map((event) => (
            <li data-type={event.type}>
              <When iso={event.time} /> · <strong>{describeEvent(event)}</strong>{' '}
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
