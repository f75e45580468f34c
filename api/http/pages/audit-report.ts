/**
 * The printable review report: plain HTML, one same-origin stylesheet, charts as inline SVG drawn here on the
 * server. No scripts, fonts or inline styles, so it renders under the app's CSP and prints cleanly.
 */
import { endReasonText, extensionText } from '../../domain/exports/csv.js';
import type { ReportGrant, ReportModel } from '../../domain/exports/report.js';
import type { Decision } from '../../domain/exports/request-record.js';

/**
 * What the report could check about its range. One value decides the banner: `verified` (green) only when the
 * range's chain walk reached a digest signed by a trusted key; `unsigned` (amber) when the chain holds but no
 * signed digest covers the range yet; `failed` (red) otherwise.
 */
export type RangeVerification =
  | {
      status: 'verified' | 'unsigned';
      events: number;
      firstSeq: number | null;
      lastSeq: number | null;
      lastHash: string | null;
      digests: number;
      /** End of the signed digest the walk reached (covers the range's last event); null when none. */
      coveredBySeq: number | null;
      lastDigestSeq: number;
      /** Which key the digests were checked against, in words. */
      keySource: string;
      /** Events from before the range read to complete requests (not covered by this check). */
      contextEvents: number;
    }
  | {
      status: 'failed';
      events: number;
      firstBadSeq: number;
      reason: string;
      detail: string;
      digests: number;
      keySource: string;
    };

const escapeHtml = (value: unknown) =>
  String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const time = (iso: string | null) =>
  iso ? escapeHtml(iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')) : '—';

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Stacked bars: one bar per week, one colour per role. */
export function grantsChart(model: ReportModel['grantsPerRoleWeek']): string {
  const { weeks, roles, counts } = model;
  if (weeks.length === 0) return '<p class="empty">No grants were activated in this range.</p>';
  const width = 720;
  const height = 260;
  const left = 40;
  const bottom = 40;
  const top = 10;
  const plotHeight = height - bottom - top;
  const totals = weeks.map((week) => roles.reduce((sum, role) => sum + (counts[week]?.[role] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = (width - left - 10) / weeks.length;
  const barWidth = Math.max(4, Math.min(48, step * 0.7));
  const parts: string[] = [];
  for (let tick = 0; tick <= 4; tick++) {
    const value = Math.round((max * tick) / 4);
    const y = top + plotHeight - (plotHeight * value) / max;
    parts.push(
      `<line x1="${left}" y1="${y.toFixed(1)}" x2="${width - 10}" y2="${y.toFixed(1)}" stroke="#ddd" stroke-width="1"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#444">${value}</text>`,
    );
  }
  weeks.forEach((week, index) => {
    const x = left + index * step + (step - barWidth) / 2;
    let y = top + plotHeight;
    roles.forEach((role, roleIndex) => {
      const count = counts[week]?.[role] ?? 0;
      if (count === 0) return;
      const h = (plotHeight * count) / max;
      y -= h;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[roleIndex % PALETTE.length]}"><title>${escapeHtml(`${role}, week of ${week}: ${count}`)}</title></rect>`,
      );
    });
    if (weeks.length <= 16 || index % Math.ceil(weeks.length / 16) === 0) {
      parts.push(
        `<text x="${(x + barWidth / 2).toFixed(1)}" y="${height - bottom + 16}" font-size="10" text-anchor="middle" fill="#444">${escapeHtml(week.slice(5))}</text>`,
      );
    }
  });
  const legend = roles
    .map(
      (role, index) =>
        `<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${PALETTE[index % PALETTE.length]}"/></svg> ${escapeHtml(role)}</li>`,
    )
    .join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Grants per role per week">${parts.join('')}<text x="${left}" y="${height - 6}" font-size="11" fill="#444">week starting (MM-DD)</text></svg><ul class="legend">${legend}</ul>`;
}

/** Histogram of the time from request to approval. */
export function latencyChart(model: ReportModel['approvalLatency']): string {
  if (model.samples === 0) return '<p class="empty">No approvals in this range.</p>';
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 34;
  const top = 16;
  const plotHeight = height - bottom - top;
  const max = Math.max(1, ...model.buckets.map((bucket) => bucket.count));
  const step = (width - left - 10) / model.buckets.length;
  const parts = model.buckets.map((bucket, index) => {
    const h = (plotHeight * bucket.count) / max;
    const x = left + index * step + step * 0.1;
    const y = top + plotHeight - h;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(step * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="#1f77b4"><title>${escapeHtml(`${bucket.label}: ${bucket.count}`)}</title></rect>` +
      `<text x="${(x + step * 0.4).toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="11" text-anchor="middle" fill="#222">${bucket.count}</text>` +
      `<text x="${(x + step * 0.4).toFixed(1)}" y="${height - bottom + 16}" font-size="11" text-anchor="middle" fill="#444">${escapeHtml(bucket.label)}</text>`
    );
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Approval latency distribution"><line x1="${left}" y1="${top + plotHeight}" x2="${width - 10}" y2="${top + plotHeight}" stroke="#999"/>${parts.join('')}</svg>`;
}

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const head = headers.map((header) => `<th scope="col">${escapeHtml(header)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function decisions(list: Decision[], none: string): string {
  if (list.length === 0) return escapeHtml(none);
  return list
    .map(
      (decision) =>
        `${escapeHtml(decision.by)}${decision.comment ? `: “${escapeHtml(decision.comment)}”` : ''} (${time(decision.at)})`,
    )
    .join('<br>');
}

function reviewStatus(grant: ReportGrant): string {
  if (grant.review) {
    const late = grant.review.late ? ' (late)' : '';
    const cls = grant.review.outcome === 'flagged' ? 'bad' : 'good';
    const comment = grant.review.comment ? `: “${escapeHtml(grant.review.comment)}”` : '';
    return `<span class="${cls}">${escapeHtml(grant.review.outcome)}${late}</span> by ${escapeHtml(grant.review.by)}${comment}`;
  }
  return grant.reviewOverdue
    ? '<span class="bad">overdue</span>'
    : `<span class="warn">pending</span> (due ${time(grant.reviewDueAt)})`;
}

function verificationBlock(verification: RangeVerification): string {
  if (verification.status === 'failed') {
    return `<p class="status bad" id="verification" data-status="failed">NOT VERIFIED: first bad seq ${verification.firstBadSeq} (${escapeHtml(verification.reason)}): ${escapeHtml(verification.detail)}</p>`;
  }
  const chain = verification.events
    ? `the ${verification.events} events of the range (seq ${verification.firstSeq}…${verification.lastSeq}) chain correctly from the stored predecessor hash, last hash <code>${escapeHtml(verification.lastHash)}</code>`
    : 'the range holds no events';
  const context =
    verification.contextEvents > 0
      ? ` ${verification.contextEvents} earlier events were read from the requests' own histories to complete rows that began before the range; those are not covered by this check.`
      : '';
  if (verification.status === 'verified') {
    return `<p class="status good" id="verification" data-status="verified">Verified: ${chain}; the walk continued to seq ${verification.coveredBySeq}, the end of a signed digest, and ${verification.digests} digests (a chain from seq 1 to ${verification.lastDigestSeq}) were checked against ${escapeHtml(verification.keySource)}.${context}</p>`;
  }
  const why = verification.events
    ? `no signed digest covers seq ${verification.lastSeq} yet (${verification.digests} digests checked against ${escapeHtml(verification.keySource)}, newest ends at seq ${verification.lastDigestSeq})`
    : 'there is nothing a signature could cover';
  return `<p class="status warn-box" id="verification" data-status="unsigned">NOT SIGNED: ${chain}, but ${why}. Generate the report again after the next digest, or verify an export with <code>breakglass audit verify</code>.${context}</p>`;
}

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

function activityTable(section: ReportActivitySection): string {
  if (!section) {
    return '<p class="empty">No organisation trail is configured (<code>cloudtrail</code> in breakglass.yaml), so grant activity is not shown.</p>';
  }
  const kinds = (findings: Array<{ kind: string }>) => {
    const counts = new Map<string, number>();
    for (const finding of findings) counts.set(finding.kind, (counts.get(finding.kind) ?? 0) + 1);
    return [...counts].map(([kind, count]) => `${escapeHtml(kind)} ×${count}`).join(', ');
  };
  const rows = section.grants.map((grant) =>
    'error' in grant
      ? [
          `<code>${escapeHtml(grant.requestId)}</code>`,
          `<span class="warn">${escapeHtml(grant.error)}</span>`,
          '',
          '',
          '',
          '',
        ]
      : [
          `<code>${escapeHtml(grant.requestId)}</code>`,
          escapeHtml(grant.records),
          escapeHtml(grant.writes),
          escapeHtml(grant.accessDenied),
          `${escapeHtml(grant.afterEnd.refused)} refused${grant.afterEnd.allowed > 0 ? `, <span class="bad">${escapeHtml(grant.afterEnd.allowed)} allowed</span>` : ''}`,
          grant.findings.length > 0
            ? `<span class="warn">${kinds(grant.findings)}</span>`
            : '<span class="good">none</span>',
        ],
  );
  const note =
    section.omitted > 0
      ? `<p>${section.omitted} more grants not read; review them one by one with <code>breakglass audit activity ID</code>.</p>`
      : '';
  return (
    note +
    table(
      ['Request', 'CloudTrail records', 'Writes', 'AccessDenied', 'After the end', 'Checklist findings'],
      rows,
      'No grant issued credentials in this range.',
    )
  );
}

export function renderAuditReport(
  model: ReportModel,
  verification: RangeVerification,
  meta: { version: string; generatedAt: string; activity?: ReportActivitySection },
): string {
  const range = `${model.since ? time(model.since) : 'the beginning'} to ${model.until ? time(model.until) : 'now'}`;
  const t = model.totals;
  const summary = [
    ['Events', t.events],
    ['Requests', t.requests],
    ['Grants active in range', t.activeInRange],
    ['Grants activated', t.grants],
    ['Emergency uses', t.emergencies],
    ['Refused / forbidden attempts', t.refusals],
    ['Credential issues', t.credentials],
    ['Console sign-ins', t.consoles],
  ]
    .map(
      ([label, value]) =>
        `<div class="kpi"><span class="value">${escapeHtml(value)}</span><span class="label">${escapeHtml(label)}</span></div>`,
    )
    .join('');
  const emergencies = table(
    ['Request', 'Role', 'Requester', 'Activated', 'Ticket', 'Reason', 'Post-review'],
    model.emergencies.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      time(grant.activatedAt),
      escapeHtml(grant.ticket),
      escapeHtml(grant.reason),
      reviewStatus(grant),
    ]),
    'No emergency access in this range.',
  );
  const longest = table(
    ['Request', 'Role', 'Requester', 'Start', 'End', 'Minutes', 'Ended by'],
    model.longestGrants.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      time(grant.activatedAt),
      time(grant.endedAt ?? grant.plannedEndAt),
      escapeHtml(grant.minutes),
      escapeHtml(grant.endReason ?? 'still active'),
    ]),
    'No grants in this range.',
  );
  const early = table(
    ['Request', 'Role', 'Requester', 'Revoked', 'By', 'Minutes early', 'Reason'],
    model.earlyRevocations.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      time(grant.endedAt),
      escapeHtml(grant.revocation?.by),
      escapeHtml(grant.minutesEarly),
      escapeHtml(grant.revocation?.comment),
    ]),
    'No grant was revoked early.',
  );
  const refusals = table(
    ['Time', 'Type', 'Who', 'Action', 'Code', 'Request / role'],
    model.refusals.map((refusal) => [
      time(refusal.time),
      escapeHtml(refusal.type),
      escapeHtml(refusal.actor),
      escapeHtml(refusal.action),
      `<code>${escapeHtml(refusal.code)}</code>`,
      escapeHtml(refusal.requestId ?? refusal.roleId ?? ''),
    ]),
    'No refused or forbidden attempts.',
  );
  const credentials = table(
    ['Request', 'Role', 'Requester', 'Credentials issued', 'Console sign-ins'],
    model.credentialsPerGrant.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      escapeHtml(grant.credentials.length),
      escapeHtml(grant.consoles.length),
    ]),
    'No credentials were issued in this range.',
  );
  const accessReview = table(
    [
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
    ],
    model.accessReview.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>${grant.emergency ? ' <span class="bad">emergency</span>' : ''}`,
      `${escapeHtml(grant.roleId)}<br>${escapeHtml(grant.accountId)}`,
      escapeHtml(grant.requester || '(unknown: creation not in the store)'),
      `${escapeHtml(grant.reason)}${grant.ticket ? `<br><code>${escapeHtml(grant.ticket)}</code>` : ''}`,
      decisions(grant.approvals, grant.emergency ? 'none (emergency)' : 'none required'),
      time(grant.activatedAt),
      time(grant.plannedEndAt),
      grant.endedAt ? `${time(grant.endedAt)}<br>${escapeHtml(endReasonText(grant))}` : 'still active',
      grant.extensions.length
        ? `<ul>${grant.extensions.map((extension) => `<li>${escapeHtml(extensionText(extension))}</li>`).join('')}</ul>`
        : '—',
      grant.credentials.length
        ? `<ul>${grant.credentials.map((issue) => `<li><code>${escapeHtml(issue.accessKeyId)}</code> ${time(issue.at)}</li>`).join('')}</ul>${grant.consoles.length ? `${grant.consoles.length} console sign-ins` : ''}`
        : grant.consoles.length
          ? `${grant.consoles.length} console sign-ins`
          : 'none',
    ]),
    'No grant was active at any moment of this range.',
  );
  const denials = table(
    ['Request', 'Role', 'Requester', 'Reason / ticket', 'Requested', 'Denied', 'By', 'Comment'],
    model.denials.map((grant) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      `${escapeHtml(grant.reason)}${grant.ticket ? `<br><code>${escapeHtml(grant.ticket)}</code>` : ''}`,
      time(grant.requestedAt),
      time(grant.denial?.at ?? null),
      escapeHtml(grant.denial?.by),
      escapeHtml(grant.denial?.comment),
    ]),
    'No request was denied in this range.',
  );
  const extensions = table(
    ['Request', 'Role', 'Requester', 'Requested', 'Extension', 'Outcome'],
    model.extensions.map(({ grant, extension }) => [
      `<code>${escapeHtml(grant.requestId)}</code>`,
      escapeHtml(grant.roleId),
      escapeHtml(grant.requester),
      time(extension.requestedAt),
      `+${escapeHtml(extension.durationMinutes)} min: ${escapeHtml(extension.reason)}`,
      escapeHtml(extensionText(extension).split('; ').slice(1).join('; ')),
    ]),
    'No extension was requested or decided in this range.',
  );
  const latency = model.approvalLatency;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Breakglass access review — ${escapeHtml(range)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/audit-report.css">
</head>
<body>
<header>
<h1>Break-glass access review</h1>
<p class="meta">Range: ${range} · generated ${time(meta.generatedAt)} · Breakglass ${escapeHtml(meta.version)}</p>
${verificationBlock(verification)}
</header>
<main>
<section class="kpis">${summary}</section>
<section id="access-review"><h2>Every grant active in this range</h2><p>${model.accessReview.length} grants held access at some moment of the range${model.completedFromHistory > 0 ? `; ${model.completedFromHistory} of them began before it and are completed from their own history` : ''}.</p>${accessReview}</section>
<section id="denials"><h2>Denied requests</h2>${denials}</section>
<section id="extensions"><h2>Extensions</h2>${extensions}</section>
<section><h2>Grants per role per week</h2>${grantsChart(model.grantsPerRoleWeek)}</section>
<section><h2>Emergency uses and their post-review</h2>${emergencies}</section>
<section><h2>Approval latency</h2><p>${latency.samples} approvals · median ${duration(latency.medianSeconds)} · 90th percentile ${duration(latency.p90Seconds)}</p>${latencyChart(latency)}</section>
<section><h2>Longest grants</h2>${longest}</section>
<section><h2>Early revocations</h2>${early}</section>
<section><h2>Refused and forbidden attempts</h2><p>${model.totals.refusals} in total${model.totals.refusals > model.refusalsShown ? `, first ${model.refusalsShown} shown` : ''}.</p>${refusals}</section>
<section><h2>Credentials issued per grant</h2>${credentials}</section>
<section id="grant-activity"><h2>What was done with each grant (organisation CloudTrail)</h2>${activityTable(meta.activity ?? null)}</section>
</main>
<footer><p>Every figure is computed from the hash-chained audit log. Verify an export offline with <code>breakglass audit verify FILE</code>.</p></footer>
</body>
</html>`;
}

export const AUDIT_REPORT_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.meta { color: #555; margin: 0 0 .75rem; }
.status { padding: .5rem .75rem; border-radius: 4px; word-break: break-all; }
.status.good { background: #e8f5e9; border: 1px solid #2e7d32; }
.status.bad { background: #ffebee; border: 1px solid #c62828; font-weight: 600; }
.status.warn-box { background: #fff8e1; border: 1px solid #a15c00; font-weight: 600; }
.good { color: #2e7d32; } .bad { color: #c62828; } .warn { color: #a15c00; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: .5rem; margin-top: 1rem; }
.kpi { border: 1px solid #ddd; border-radius: 4px; padding: .5rem; display: flex; flex-direction: column; }
.kpi .value { font-size: 1.4rem; font-weight: 600; }
.kpi .label { color: #555; font-size: .8rem; }
.chart { width: 100%; height: auto; max-height: 300px; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
code { font-size: .8rem; }
.empty { color: #666; font-style: italic; }
footer { margin-top: 2rem; color: #666; font-size: .8rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  section { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;
