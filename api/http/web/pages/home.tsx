/** The start page: one section per thing the viewer can act on, each with its deadline or time left. */
import type { FC } from 'hono/jsx';
import type { RoleConfig } from '../../../config/schema.js';
import type { AccessRequest } from '../../../domain/types.js';
import { type Flash, Layout, RequestTable, type Viewer } from '../components.js';

export interface HomeSections {
  /** Pending requests and extensions the viewer can approve now (approvers). */
  waiting: AccessRequest[] | null;
  /** Emergency grants of the viewer's roles awaiting their post-review (approvers). */
  toReview: AccessRequest[] | null;
  /** Active grants of the roles the viewer approves (approvers), or of every role (admins). */
  active: AccessRequest[] | null;
  activeScope: 'roles' | 'all';
  /** The viewer's own requests, newest first, with a link to older ones. */
  mine: AccessRequest[];
  mineMore: string | null;
}

export const HomePage: FC<{
  viewer: Viewer;
  sections: HomeSections;
  roles: (id: string) => RoleConfig | undefined;
  flash: Flash;
}> = ({ viewer, sections, roles, flash }) => {
  const table = { now: viewer.now, roles };
  return (
    <Layout title="Home" viewer={viewer} flash={flash}>
      <h1>Breakglass</h1>
      {sections.waiting ? (
        <section aria-labelledby="waiting">
          <h2 id="waiting">Waiting for you ({sections.waiting.length})</h2>
          <RequestTable
            {...table}
            id="waiting-list"
            items={sections.waiting}
            empty="Nothing is waiting for your decision."
            columns={['requester', 'decideBy']}
          />
        </section>
      ) : null}
      {sections.toReview ? (
        <section aria-labelledby="review">
          <h2 id="review">Emergency grants to review ({sections.toReview.length})</h2>
          <RequestTable
            {...table}
            id="review-list"
            items={sections.toReview}
            empty="No emergency grant is waiting for a review."
            columns={['requester', 'reviewBy']}
          />
        </section>
      ) : null}
      {sections.active ? (
        <section aria-labelledby="active">
          <h2 id="active">
            {sections.activeScope === 'all' ? 'All active grants' : 'Active grants of your roles'} (
            {sections.active.length})
          </h2>
          <RequestTable
            {...table}
            id="active-list"
            items={sections.active}
            empty="No grant is active."
            columns={['requester', 'timeLeft', 'revoke']}
            csrf={viewer.csrf}
          />
        </section>
      ) : null}
      {viewer.isAuditor ? (
        <section aria-labelledby="audit-links">
          <h2 id="audit-links">Audit</h2>
          <p>
            <a href="/audit">Browse and export the audit log</a> ·{' '}
            <a href="/v1/audit/report">Review report</a>
          </p>
        </section>
      ) : null}
      <section aria-labelledby="mine">
        <h2 id="mine">Your requests</h2>
        <RequestTable
          {...table}
          id="mine-list"
          items={sections.mine}
          empty="You have not asked for access yet."
          columns={['created', 'timeLeft']}
        />
        <p>
          {sections.mineMore ? (
            <>
              <a href={`/?mine=${encodeURIComponent(sections.mineMore)}`}>Older requests</a> ·{' '}
            </>
          ) : null}
          <a href="/requests/new">Ask for access</a>
        </p>
      </section>
    </Layout>
  );
};
