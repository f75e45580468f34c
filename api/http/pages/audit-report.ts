/**
 * The printable review report: plain HTML, one same-origin stylesheet, charts as inline SVG drawn here on the
 * server. No scripts, fonts or inline styles, so it renders under the app's CSP and prints cleanly.
 */
import type { ReportGrant, ReportModel } from '../../domain/exports/report.js';

export type RangeVerification =
  | {
      ok: true;
      events: number;
      firstSeq: number | null;
      lastSeq: number | null;
      lastHash: string | null;
      digests: number;
      lastDigestSeq: number;
    }
  | { ok: false; events: number; firstBadSeq: number; reason: string; detail: string; digests: number };

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

function reviewStatus(grant: ReportGrant): string {
  if (grant.review) {
    const late = grant.review.late ? ' (late)' : '';
    const cls = grant.review.outcome === 'flagged' ? 'bad' : 'good';
    return `<span class="${cls}">${escapeHtml(grant.review.outcome)}${late}</span> by ${escapeHtml(grant.review.by)}`;
  }
  return grant.reviewOverdue
    ? '<span class="bad">overdue</span>'
    : `<span class="warn">pending</span> (due ${time(grant.reviewDueAt)})`;
}

function verificationBlock(verification: RangeVerification): string {
  if (verification.ok) {
    const range = verification.events
      ? `seq ${verification.firstSeq}…${verification.lastSeq}, last hash <code>${escapeHtml(verification.lastHash)}</code>`
      : 'no events in range';
    return `<p class="status good" id="verification">Verified: ${verification.events} events chain correctly (${range}); ${verification.digests} signed digests checked, newest covers seq ${verification.lastDigestSeq}.</p>`;
  }
  return `<p class="status bad" id="verification">NOT VERIFIED: first bad seq ${verification.firstBadSeq} (${escapeHtml(verification.reason)}): ${escapeHtml(verification.detail)}</p>`;
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
      escapeHtml(grant.revokedBy),
      escapeHtml(grant.minutesEarly),
      escapeHtml(grant.revokeReason),
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
      escapeHtml(grant.credentials),
      escapeHtml(grant.consoles),
    ]),
    'No credentials were issued in this range.',
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
