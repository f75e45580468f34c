/**
 * "What was done with this grant" on the request page, beside the post-review buttons: a button that reads
 * the organisation trail (each look records `activity.viewed`), then the summary and the checklist findings.
 */
import type { FC } from 'hono/jsx';
import type { ActivityReport } from '../../services/activity.js';

export type ActivityPanel =
  | { kind: 'offer' }
  | { kind: 'report'; report: ActivityReport }
  | { kind: 'error'; code: string; message: string };

export const ActivitySection: FC<{ requestId: string; panel: ActivityPanel }> = ({ requestId, panel }) => (
  <section aria-labelledby="activity" id="activity-section">
    <h2 id="activity">What was done with this grant</h2>
    {panel.kind === 'offer' ? (
      <form method="get" action={`/requests/${requestId}`}>
        <input type="hidden" name="activity" value="1" />
        <p class="hint">Reads the grant's calls from the organisation's CloudTrail (your look is audited).</p>
        <button type="submit" id="show-activity" class="secondary">
          Show CloudTrail activity
        </button>
      </form>
    ) : panel.kind === 'error' ? (
      <p class="error" role="alert" data-code={panel.code}>
        {panel.message}
      </p>
    ) : (
      <ActivitySummaryView report={panel.report} />
    )}
  </section>
);

const ActivitySummaryView: FC<{ report: ActivityReport }> = ({ report }) => {
  const services = Object.entries(report.byService).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const after = report.afterEnd;
  return (
    <div id="activity-summary" data-records={String(report.records)}>
      <p>
        <strong>{report.records}</strong> CloudTrail records: {report.reads} reads, {report.writes} writes,{' '}
        {report.errors} errors ({report.accessDenied} AccessDenied)
        {report.console.signIns > 0 ? `, ${report.console.signIns} console sign-in(s)` : ''}.
      </p>
      {services.length > 0 ? (
        <p>By service: {services.map(([service, count]) => `${service} ${count}`).join(', ')}</p>
      ) : null}
      {after.refused + after.allowed > 0 ? (
        <p class={after.allowed > 0 ? 'error' : undefined} id="activity-after-end">
          After the {after.endedBy === 'revoked' ? 'revocation' : 'end'}: {after.refused} refused,{' '}
          {after.allowed} allowed.
        </p>
      ) : null}
      {!report.complete ? <p class="hint">Log files for this grant may still arrive.</p> : null}
      {report.findings.length === 0 ? (
        <p>No findings from the security checklist.</p>
      ) : (
        <table class="list" id="activity-findings">
          <thead>
            <tr>
              <th>Time</th>
              <th>Finding</th>
              <th>Call</th>
              <th>Outcome</th>
              <th>Target</th>
              <th>Event id</th>
            </tr>
          </thead>
          <tbody>
            {report.findings.map((finding) => (
              <tr data-kind={finding.kind}>
                <td>{finding.time}</td>
                <td>{finding.kind}</td>
                <td>
                  {finding.eventSource.split('.')[0]}:{finding.eventName}
                </td>
                <td>{finding.outcome === 'failed' ? `failed (${finding.errorCode ?? ''})` : 'succeeded'}</td>
                <td>{finding.target ?? ''}</td>
                <td>
                  <code>{finding.eventId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="hint">
        Read {report.source.files} log file(s) from {report.source.location}.
      </p>
    </div>
  );
};
