/** The report's tables and the small pieces their cells are made of. */
import type { Child, FC } from 'hono/jsx';
import type { ReportGrant } from '../../../domain/exports/report.js';
import type { Decision } from '../../../domain/exports/request-record.js';

/** `2026-11-22 10:00:00Z`: the report is printed and shared, so it shows UTC, to the second. */
export function reportTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : '—';
}

export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A table with a header row, or what `empty` says when there are no rows. */
export const Table: FC<{ headers: string[]; rows: Child[][]; empty: string }> = ({
  headers,
  rows,
  empty,
}) => {
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          {headers.map((header) => (
            <th scope="col">{header}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((cells) => (
          <tr>
            {cells.map((cell) => (
              <td>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
};

/** Approvals (or any decisions): who, their comment, when; one per line. */
export const Decisions: FC<{ list: Decision[]; none: string }> = ({ list, none }) => {
  if (list.length === 0) return <>{none}</>;
  return (
    <>
      {list.map((decision, index) => (
        <>
          {index > 0 ? <br /> : null}
          {decision.by}
          {decision.comment ? `: “${decision.comment}”` : ''} ({reportTime(decision.at)})
        </>
      ))}
    </>
  );
};

/** Where an emergency grant's post-review stands. */
export const ReviewStatus: FC<{ grant: ReportGrant }> = ({ grant }) => {
  if (grant.review) {
    return (
      <>
        <span class={grant.review.outcome === 'flagged' ? 'bad' : 'good'}>
          {grant.review.outcome}
          {grant.review.late ? ' (late)' : ''}
        </span>{' '}
        by {grant.review.by}
        {grant.review.comment ? `: “${grant.review.comment}”` : ''}
      </>
    );
  }
  return grant.reviewOverdue ? (
    <span class="bad">overdue</span>
  ) : (
    <>
      <span class="warn">pending</span> (due {reportTime(grant.reviewDueAt)})
    </>
  );
};

/** One grant's CloudTrail activity for the report, or why it could not be read. */
export type ReportActivity =
  | {
      requestId: string;
      records: number;
      writes: number;
      accessDenied: number;
      afterEnd: { refused: number; allowed: number };
      findings: Array<{ kind: string }>;
    }
  | { requestId: string; error: string };

/** `null`: no organisation trail configured; otherwise one entry per grant that issued credentials. */
export type ReportActivitySection = { grants: ReportActivity[]; omitted: number } | null;

function findingKinds(findings: Array<{ kind: string }>): string {
  const counts = new Map<string, number>();
  for (const finding of findings) counts.set(finding.kind, (counts.get(finding.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${kind} ×${count}`).join(', ');
}

/** What was done with each grant, from the organisation trail. */
export const ActivityTable: FC<{ section: ReportActivitySection }> = ({ section }) => {
  if (!section) {
    return (
      <p class="empty">
        No organisation trail is configured (<code>cloudtrail</code> in breakglass.yaml), so grant activity is
        not shown.
      </p>
    );
  }
  const rows = section.grants.map((grant): Child[] =>
    'error' in grant
      ? [<code>{grant.requestId}</code>, <span class="warn">{grant.error}</span>, '', '', '', '']
      : [
          <code>{grant.requestId}</code>,
          grant.records,
          grant.writes,
          grant.accessDenied,
          <>
            {grant.afterEnd.refused} refused
            {grant.afterEnd.allowed > 0 ? (
              <>
                , <span class="bad">{grant.afterEnd.allowed} allowed</span>
              </>
            ) : null}
          </>,
          grant.findings.length > 0 ? (
            <span class="warn">{findingKinds(grant.findings)}</span>
          ) : (
            <span class="good">none</span>
          ),
        ],
  );
  return (
    <>
      {section.omitted > 0 ? (
        <p>
          {section.omitted} more grants not read; review them one by one with{' '}
          <code>breakglass audit activity ID</code>.
        </p>
      ) : null}
      <Table
        headers={[
          'Request',
          'CloudTrail records',
          'Writes',
          'AccessDenied',
          'After the end',
          'Checklist findings',
        ]}
        rows={rows}
        empty="No grant issued credentials in this range."
      />
    </>
  );
};
