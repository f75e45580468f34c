/**
 * The printable review report: plain HTML rendered with hono/jsx (every value escaped by the renderer), one
 * same-origin stylesheet, charts as inline SVG drawn on the server. No scripts, fonts or inline styles, so it
 * renders under the app's CSP and prints cleanly. Served by the API's `GET /v1/audit/report`.
 */
import type { FC } from 'hono/jsx';
import { endReasonText, extensionText } from '../../../domain/exports/csv.js';
import type { ReportModel } from '../../../domain/exports/report.js';
import { GrantsChart, LatencyChart } from '../report/charts.js';
import {
  ActivityTable,
  Decisions,
  duration,
  type ReportActivitySection,
  ReviewStatus,
  reportTime,
  Table,
} from '../report/tables.js';
import { type RangeVerification, VerificationBanner } from '../report/verification-banner.js';

export interface ReportMeta {
  version: string;
  generatedAt: string;
  activity?: ReportActivitySection;
}

const Id: FC<{ id: string }> = ({ id }) => <code>{id}</code>;

/** Reason, and the ticket under it when there is one. */
const ReasonTicket: FC<{ reason: string; ticket: string }> = ({ reason, ticket }) => (
  <>
    {reason}
    {ticket ? (
      <>
        <br />
        <code>{ticket}</code>
      </>
    ) : null}
  </>
);

const KPIS: Array<[string, keyof ReportModel['totals']]> = [
  ['Events', 'events'],
  ['Requests', 'requests'],
  ['Grants active in range', 'activeInRange'],
  ['Grants activated', 'grants'],
  ['Emergency uses', 'emergencies'],
  ['Refused / forbidden attempts', 'refusals'],
  ['Credential issues', 'credentials'],
  ['Console sign-ins', 'consoles'],
];

export const AuditReportPage: FC<{
  model: ReportModel;
  verification: RangeVerification;
  meta: ReportMeta;
}> = ({ model, verification, meta }) => {
  const range = `${model.since ? reportTime(model.since) : 'the beginning'} to ${model.until ? reportTime(model.until) : 'now'}`;
  const latency = model.approvalLatency;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Breakglass access review — {range}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/audit-report.css" />
      </head>
      <body>
        <header>
          <h1>Break-glass access review</h1>
          <p class="meta">
            Range: {range} · generated {reportTime(meta.generatedAt)} · Breakglass {meta.version}
          </p>
          <VerificationBanner verification={verification} />
        </header>
        <main>
          <section class="kpis">
            {KPIS.map(([label, key]) => (
              <div class="kpi">
                <span class="value">{model.totals[key]}</span>
                <span class="label">{label}</span>
              </div>
            ))}
          </section>
          <section id="access-review">
            <h2>Every grant active in this range</h2>
            <p>
              {model.accessReview.length} grants held access at some moment of the range
              {model.completedFromHistory > 0
                ? `; ${model.completedFromHistory} of them began before it and are completed from their own history`
                : ''}
              .
            </p>
            <Table
              headers={[
                'Request',
                'Role / account',
                'Requester',
                'Reason / ticket',
                'Approved by',
                'Active',
                'Planned end',
                'Ended',
                'Extensions',
                'Access keys issued',
              ]}
              rows={model.accessReview.map((grant) => [
                <>
                  <Id id={grant.requestId} />
                  {grant.emergency ? (
                    <>
                      {' '}
                      <span class="bad">emergency</span>
                    </>
                  ) : null}
                </>,
                <>
                  {grant.roleId}
                  <br />
                  {grant.accountId}
                </>,
                grant.requester || '(unknown: creation not in the store)',
                <ReasonTicket reason={grant.reason} ticket={grant.ticket} />,
                <Decisions
                  list={grant.approvals}
                  none={grant.emergency ? 'none (emergency)' : 'none required'}
                />,
                reportTime(grant.activatedAt),
                reportTime(grant.plannedEndAt),
                grant.endedAt ? (
                  <>
                    {reportTime(grant.endedAt)}
                    <br />
                    {endReasonText(grant)}
                  </>
                ) : (
                  'still active'
                ),
                grant.extensions.length ? (
                  <ul>
                    {grant.extensions.map((extension) => (
                      <li>{extensionText(extension)}</li>
                    ))}
                  </ul>
                ) : (
                  '—'
                ),
                grant.credentials.length ? (
                  <>
                    <ul>
                      {grant.credentials.map((issue) => (
                        <li>
                          <code>{issue.accessKeyId}</code> {reportTime(issue.at)}
                        </li>
                      ))}
                    </ul>
                    {grant.consoles.length ? `${grant.consoles.length} console sign-ins` : ''}
                  </>
                ) : grant.consoles.length ? (
                  `${grant.consoles.length} console sign-ins`
                ) : (
                  'none'
                ),
              ])}
              empty="No grant was active at any moment of this range."
            />
          </section>
          <section id="denials">
            <h2>Denied requests</h2>
            <Table
              headers={[
                'Request',
                'Role',
                'Requester',
                'Reason / ticket',
                'Requested',
                'Denied',
                'By',
                'Comment',
              ]}
              rows={model.denials.map((grant) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                <ReasonTicket reason={grant.reason} ticket={grant.ticket} />,
                reportTime(grant.requestedAt),
                reportTime(grant.denial?.at ?? null),
                grant.denial?.by,
                grant.denial?.comment,
              ])}
              empty="No request was denied in this range."
            />
          </section>
          <section id="extensions">
            <h2>Extensions</h2>
            <Table
              headers={['Request', 'Role', 'Requester', 'Requested', 'Extension', 'Outcome']}
              rows={model.extensions.map(({ grant, extension }) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                reportTime(extension.requestedAt),
                `+${extension.durationMinutes} min: ${extension.reason}`,
                extensionText(extension).split('; ').slice(1).join('; '),
              ])}
              empty="No extension was requested or decided in this range."
            />
          </section>
          <section>
            <h2>Grants per role per week</h2>
            <GrantsChart model={model.grantsPerRoleWeek} />
          </section>
          <section>
            <h2>Emergency uses and their post-review</h2>
            <Table
              headers={['Request', 'Role', 'Requester', 'Activated', 'Ticket', 'Reason', 'Post-review']}
              rows={model.emergencies.map((grant) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                reportTime(grant.activatedAt),
                grant.ticket,
                grant.reason,
                <ReviewStatus grant={grant} />,
              ])}
              empty="No emergency access in this range."
            />
          </section>
          <section>
            <h2>Approval latency</h2>
            <p>
              {latency.samples} approvals · median {duration(latency.medianSeconds)} · 90th percentile{' '}
              {duration(latency.p90Seconds)}
            </p>
            <LatencyChart model={latency} />
          </section>
          <section>
            <h2>Longest grants</h2>
            <Table
              headers={['Request', 'Role', 'Requester', 'Start', 'End', 'Minutes', 'Ended by']}
              rows={model.longestGrants.map((grant) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                reportTime(grant.activatedAt),
                reportTime(grant.endedAt ?? grant.plannedEndAt),
                grant.minutes,
                grant.endReason ?? 'still active',
              ])}
              empty="No grants in this range."
            />
          </section>
          <section>
            <h2>Early revocations</h2>
            <Table
              headers={['Request', 'Role', 'Requester', 'Revoked', 'By', 'Minutes early', 'Reason']}
              rows={model.earlyRevocations.map((grant) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                reportTime(grant.endedAt),
                grant.revocation?.by,
                grant.minutesEarly,
                grant.revocation?.comment,
              ])}
              empty="No grant was revoked early."
            />
          </section>
          <section>
            <h2>Refused and forbidden attempts</h2>
            <p>
              {model.totals.refusals} in total
              {model.totals.refusals > model.refusalsShown ? `, first ${model.refusalsShown} shown` : ''}.
            </p>
            <Table
              headers={['Time', 'Type', 'Who', 'Action', 'Code', 'Request / role']}
              rows={model.refusals.map((refusal) => [
                reportTime(refusal.time),
                refusal.type,
                refusal.actor,
                refusal.action,
                <code>{refusal.code}</code>,
                refusal.requestId ?? refusal.roleId ?? '',
              ])}
              empty="No refused or forbidden attempts."
            />
          </section>
          <section>
            <h2>Credentials issued per grant</h2>
            <Table
              headers={['Request', 'Role', 'Requester', 'Credentials issued', 'Console sign-ins']}
              rows={model.credentialsPerGrant.map((grant) => [
                <Id id={grant.requestId} />,
                grant.roleId,
                grant.requester,
                grant.credentials.length,
                grant.consoles.length,
              ])}
              empty="No credentials were issued in this range."
            />
          </section>
          <section id="grant-activity">
            <h2>What was done with each grant (organisation CloudTrail)</h2>
            <ActivityTable section={meta.activity ?? null} />
          </section>
        </main>
        <footer>
          <p>
            Every figure is computed from the hash-chained audit log. Verify an export offline with{' '}
            <code>breakglass audit verify FILE</code>.
          </p>
        </footer>
      </body>
    </html>
  );
};

/** The whole report document as a string (its components are synchronous). */
export function renderAuditReport(
  model: ReportModel,
  verification: RangeVerification,
  meta: ReportMeta,
): string {
  return `<!doctype html>${String(<AuditReportPage model={model} verification={verification} meta={meta} />)}`;
}
