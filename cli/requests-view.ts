/** How requests look on a terminal: one-line summaries, the detail view and its timeline. */
import { formatMinutes } from '../api/domain/duration.js';
import { relative, type Style, shortTime, statusText, table } from './output.js';

interface Identity {
  subject: string;
  email: string;
}

interface Approval {
  approver: Identity;
  at: string;
  comment: string | null;
  via: string;
}

/** The API's request object (api/http/schemas.ts RequestSchema); only the fields the CLI reads. */
export interface RequestView {
  id: string;
  roleId: string;
  accountId: string;
  roleArn: string;
  requester: Identity;
  reason: string;
  ticket: string | null;
  emergency: boolean;
  durationMinutes: number;
  startAt: string | null;
  endAt: string | null;
  status: string;
  approvalsRequired: number;
  approvals: Approval[];
  denial: { by: Identity; at: string; comment: string | null } | null;
  cancellation: { by: Identity; at: string } | null;
  revocation: { by: Identity; at: string; reason: string } | null;
  postReview: {
    dueAt: string;
    outcome: string | null;
    by: Identity | null;
    at: string | null;
    comment: string | null;
  } | null;
  extension: {
    durationMinutes: number;
    reason: string;
    requestedAt: string;
    /** Approvals the extension needs (older servers: the request's own count). */
    approvalsRequired?: number;
    approvals: Approval[];
  } | null;
  extensions: Array<{
    durationMinutes: number;
    reason: string;
    approvedAt: string;
    previousEndAt: string;
    approvals?: Approval[];
  }>;
  /** Denied extensions (older servers: absent). */
  deniedExtensions?: Array<{
    durationMinutes: number;
    reason: string;
    requestedAt: string;
    approvals: Approval[];
    denial: { by: Identity; at: string; comment: string | null };
  }>;
  pendingUntil: string;
  endReason: string | null;
  createdAt: string;
  updatedAt: string;
  url: string;
}

/** `1 of 2`; a request that needed none says why instead of "0 of 0". */
export function approvalsText(request: RequestView): string {
  if (request.approvalsRequired === 0 && request.approvals.length === 0) {
    return request.emergency ? 'none (emergency, reviewed afterwards)' : 'none needed';
  }
  return `${request.approvals.length} of ${request.approvalsRequired}`;
}

/** `extension of 30m waiting (0 of 2 approvals)` for an active grant with an extension to decide. */
export function extensionText(request: RequestView): string {
  const extension = request.extension!;
  const required = extension.approvalsRequired ?? request.approvalsRequired;
  return `extension of ${formatMinutes(extension.durationMinutes)} waiting (${extension.approvals.length} of ${required} approvals)`;
}

/** `active until 2026-11-22 11:00Z (in 59m)`, `pending (1 of 2 approvals)`, … */
export function stateSummary(style: Style, request: RequestView, now: number): string {
  const status = statusText(style, request.status);
  switch (request.status) {
    case 'pending':
      return `${status} (${approvalsText(request)} approvals)`;
    case 'approved':
      return `${status}, starts ${shortTime(request.startAt)} (${relative(request.startAt, now)})`;
    case 'active':
      return `${status} until ${shortTime(request.endAt)} (${relative(request.endAt, now)})${request.extension ? `; ${extensionText(request)}` : ''}`;
    default:
      return status;
  }
}

export function requestTable(style: Style, requests: RequestView[], now: number): string {
  return table(
    style,
    ['ID', 'ROLE', 'STATUS', 'REQUESTER', 'APPROVALS', 'DURATION', 'ENDS', 'REASON'],
    requests.map((r) => [
      r.id,
      r.roleId,
      // An extension waiting for approvals is what an approver has to act on: say so in the list.
      r.status === 'active' && r.extension
        ? `${statusText(style, r.status)}, extending`
        : statusText(style, r.status),
      r.requester.email,
      r.status === 'active' && r.extension
        ? `ext ${r.extension.approvals.length} of ${r.extension.approvalsRequired ?? r.approvalsRequired}`
        : approvalsText(r),
      formatMinutes(r.durationMinutes),
      r.status === 'active' ? relative(r.endAt, now) : shortTime(r.endAt),
      truncate(r.reason, 40),
    ]),
  );
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Every dated step of a request, oldest first. */
export function timeline(request: RequestView): Array<{ at: string; text: string }> {
  const steps: Array<{ at: string; text: string }> = [
    {
      at: request.createdAt,
      text: `requested by ${request.requester.email}${request.emergency ? ' (EMERGENCY)' : ''}: ${request.reason}`,
    },
  ];
  for (const approval of request.approvals) {
    steps.push({
      at: approval.at,
      text: `approved by ${approval.approver.email} via ${approval.via}${approval.comment ? `: ${approval.comment}` : ''}`,
    });
  }
  if (request.denial) {
    steps.push({
      at: request.denial.at,
      text: `denied by ${request.denial.by.email}${request.denial.comment ? `: ${request.denial.comment}` : ''}`,
    });
  }
  if (request.cancellation)
    steps.push({ at: request.cancellation.at, text: `cancelled by ${request.cancellation.by.email}` });
  const started = ['active', 'expired', 'revoked'].includes(request.status) && request.startAt;
  if (started) steps.push({ at: request.startAt!, text: 'grant activated' });
  const extensionApprovals = (approvals: Approval[] | undefined, what: string) => {
    for (const approval of approvals ?? []) {
      steps.push({
        at: approval.at,
        text: `${what} approved by ${approval.approver.email} via ${approval.via}${approval.comment ? `: ${approval.comment}` : ''}`,
      });
    }
  };
  for (const extension of request.extensions) {
    const what = `extension of ${formatMinutes(extension.durationMinutes)}`;
    extensionApprovals(extension.approvals, what);
    steps.push({
      at: extension.approvedAt,
      text: `extended by ${formatMinutes(extension.durationMinutes)} (was until ${shortTime(extension.previousEndAt)}): ${extension.reason}`,
    });
  }
  for (const denied of request.deniedExtensions ?? []) {
    const what = `extension of ${formatMinutes(denied.durationMinutes)}`;
    steps.push({ at: denied.requestedAt, text: `${what} asked: ${denied.reason}` });
    extensionApprovals(denied.approvals, what);
    steps.push({
      at: denied.denial.at,
      text: `${what} denied by ${denied.denial.by.email}${denied.denial.comment ? `: ${denied.denial.comment}` : ''}`,
    });
  }
  if (request.extension) {
    const what = `extension of ${formatMinutes(request.extension.durationMinutes)}`;
    steps.push({
      at: request.extension.requestedAt,
      text: `${what} asked (${request.extension.approvals.length} of ${request.extension.approvalsRequired ?? request.approvalsRequired} approvals): ${request.extension.reason}`,
    });
    extensionApprovals(request.extension.approvals, what);
  }
  if (request.revocation) {
    steps.push({
      at: request.revocation.at,
      text: `revoked by ${request.revocation.by.email}: ${request.revocation.reason}`,
    });
  }
  if (request.status === 'expired' && request.endAt) steps.push({ at: request.endAt, text: 'grant expired' });
  if (request.status === 'timed_out')
    steps.push({ at: request.pendingUntil, text: 'timed out waiting for approvals' });
  if (request.postReview?.at) {
    steps.push({
      at: request.postReview.at,
      text: `post-review ${request.postReview.outcome} by ${request.postReview.by?.email}${request.postReview.comment ? `: ${request.postReview.comment}` : ''}`,
    });
  }
  return steps.sort((a, b) => a.at.localeCompare(b.at));
}

export function requestDetail(style: Style, request: RequestView, now: number): string {
  const rows: Array<[string, string]> = [
    ['role', `${request.roleId}  (${request.roleArn})`],
    ['status', stateSummary(style, request, now)],
    ['requester', request.requester.email],
    ['reason', request.reason],
    ['ticket', request.ticket ?? '-'],
    ['duration', formatMinutes(request.durationMinutes)],
    ['window', `${shortTime(request.startAt)} → ${shortTime(request.endAt)}`],
    ['approvals', approvalsText(request)],
  ];
  if (request.emergency) rows.push(['emergency', 'yes']);
  if (request.postReview) {
    rows.push([
      'post-review',
      request.postReview.outcome ??
        `due ${shortTime(request.postReview.dueAt)} (${relative(request.postReview.dueAt, now)})`,
    ]);
  }
  if (request.endReason) rows.push(['ended', request.endReason]);
  rows.push(['link', request.url]);
  const lines = [
    style.bold(request.id),
    ...rows.map(([key, value]) => `  ${key.padEnd(12)}${value}`),
    '',
    style.bold('Timeline'),
  ];
  for (const step of timeline(request)) lines.push(`  ${shortTime(step.at)}  ${step.text}`);
  return `${lines.join('\n')}\n`;
}
