/**
 * The reviewer's CSV: one complete row per request, assembled from its audit events (and, for a date range,
 * from the request's own earlier history, fed in first). Rows are emitted as soon as a request is settled
 * (ended, and reviewed if it was an emergency), so memory follows the number of open requests, not the length
 * of the log.
 */
import {
  applyEvent,
  type Decision,
  type ExtensionRecord,
  isSettled,
  newRecord,
  type RecordEvent,
  type RequestRecord,
  STORY_EVENT,
} from './request-record.js';

export const CSV_COLUMNS = [
  'request_id',
  'role',
  'account',
  'requester',
  'reason',
  'ticket',
  'emergency',
  'status',
  'requested_at',
  'approvers',
  'approved_at',
  'activated_at',
  'planned_end_at',
  'ended_at',
  'end_reason',
  'denied_by',
  'deny_comment',
  'extensions',
  'credential_issues',
  'access_key_ids',
  'console_issues',
  'post_review',
  'post_review_by',
] as const;

export type CsvRow = Record<(typeof CSV_COLUMNS)[number], string>;

const decisionText = (decision: Decision) =>
  decision.comment ? `${decision.by}: ${decision.comment}` : decision.by;

/** `+30m by alice@…: reason; approved by bob@…: ok → 2026-…` (or `denied by …`, or `pending`). */
export function extensionText(extension: ExtensionRecord): string {
  const asked = `+${extension.durationMinutes}m by ${extension.requestedBy}: ${extension.reason}`;
  const approvals = extension.approvals.map(decisionText).join(', ');
  if (extension.outcome === 'approved') {
    return `${asked}; approved${approvals ? ` by ${approvals}` : ' (no approval required)'} → ${extension.endAt ?? ''}`;
  }
  if (extension.outcome === 'denied' && extension.denial) {
    return `${asked}; denied by ${decisionText(extension.denial)}`;
  }
  return `${asked}; pending${approvals ? ` (approved so far by ${approvals})` : ''}`;
}

export function endReasonText(record: RequestRecord): string {
  if (record.revocation) return `revoked by ${record.revocation.by}: ${record.revocation.comment}`;
  if (record.failure !== null) return `failed: ${record.failure}`;
  if (record.cancelledBy) return `cancelled by ${record.cancelledBy}`;
  return record.endReason ?? '';
}

export function toCsvRow(record: RequestRecord): CsvRow {
  const review = record.review;
  return {
    request_id: record.requestId,
    role: record.roleId,
    account: record.accountId,
    requester: record.requester,
    reason: record.reason,
    ticket: record.ticket,
    emergency: record.complete || record.emergency ? (record.emergency ? 'yes' : 'no') : '',
    status: record.status,
    requested_at: record.requestedAt ?? '',
    approvers: record.approvals.map(decisionText).join('; '),
    approved_at: record.approvedAt ?? '',
    activated_at: record.activatedAt ?? '',
    planned_end_at: record.activatedAt ? (record.plannedEndAt ?? '') : '',
    ended_at: record.endedAt ?? '',
    end_reason: endReasonText(record),
    denied_by: record.denial?.by ?? '',
    deny_comment: record.denial?.comment ?? '',
    extensions: record.extensions.map(extensionText).join(' | '),
    credential_issues: String(record.credentials.length),
    access_key_ids: record.credentials.map((issue) => issue.accessKeyId).join('; '),
    console_issues: String(record.consoles.length),
    post_review: review
      ? `${review.outcome}${review.late ? ' (late)' : ''}`
      : record.emergency
        ? record.reviewOverdue
          ? 'overdue'
          : 'pending'
        : '',
    post_review_by: review ? decisionText(review) : '',
  };
}

export class RequestRows {
  private readonly open = new Map<string, RequestRecord>();

  /** Feeds one event; returns the rows it completed. */
  push(event: RecordEvent): CsvRow[] {
    const id = event.requestId;
    if (!id) return [];
    let record = this.open.get(id);
    if (!record) {
      if (!STORY_EVENT.test(event.type)) return [];
      record = newRecord(event);
      this.open.set(id, record);
    }
    applyEvent(record, event);
    if (!isSettled(record)) return [];
    this.open.delete(id);
    return [toCsvRow(record)];
  }

  /** Rows for requests still open at the end of the range, oldest first. */
  flush(): CsvRow[] {
    const rows = [...this.open.values()].map(toCsvRow);
    this.open.clear();
    return rows;
  }
}

/**
 * RFC 4180 quoting, plus a leading apostrophe for cells a spreadsheet would run as a formula (reasons and
 * tickets are typed by requesters, so `=HYPERLINK(...)` must stay text).
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

export function csvRowLine(row: CsvRow): string {
  return csvLine(CSV_COLUMNS.map((column) => row[column]));
}
