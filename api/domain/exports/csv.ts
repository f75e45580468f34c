/**
 * The reviewer's CSV: one row per request, assembled from its audit events. Rows are emitted as soon as a
 * request is finished (terminal, and reviewed if it was an emergency), so memory follows the number of open
 * requests, not the length of the log.
 */
import type { AuditEvent } from '../types.js';

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
  'approved_at',
  'activated_at',
  'ended_at',
  'end_reason',
  'approvers',
  'extensions',
  'credential_issues',
  'console_issues',
  'post_review',
  'post_review_by',
] as const;

export type CsvRow = Record<(typeof CSV_COLUMNS)[number], string>;

interface RowState {
  row: CsvRow;
  approvers: string[];
  credentials: number;
  consoles: number;
  extensions: number;
  ended: boolean;
  emergency: boolean;
  reviewed: boolean;
}

const TERMINAL: Record<string, string> = {
  'request.denied': 'denied',
  'request.cancelled': 'cancelled',
  'request.timed_out': 'timed_out',
  'grant.expired': 'expired',
  'grant.revoked': 'revoked',
  'grant.failed': 'failed',
};

/** Event types that belong to a request's own story; others (notifications, refusals) never start a row. */
const STARTS_ROW = /^(request|approval|grant|emergency|review|credentials\.issued|console\.issued)/;

const email = (event: AuditEvent) => (event.actor.type === 'user' ? event.actor.email : event.actor.subject);

export class RequestRows {
  private readonly open = new Map<string, RowState>();

  /** Feeds one event; returns the rows it completed. */
  push(event: AuditEvent): CsvRow[] {
    const id = event.requestId;
    if (!id) return [];
    let state = this.open.get(id);
    if (!state) {
      if (!STARTS_ROW.test(event.type)) return [];
      state = newState(id, event);
      this.open.set(id, state);
    }
    const { row } = state;
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'request.created':
        row.requester = email(event);
        row.reason = String(data.reason ?? '');
        row.ticket = data.ticket ? String(data.ticket) : '';
        row.emergency = data.emergency ? 'yes' : 'no';
        state.emergency = data.emergency === true;
        row.requested_at = event.time;
        row.status = 'pending';
        break;
      case 'approval.recorded':
        if (!data.extension) state.approvers.push(email(event));
        break;
      case 'request.approved':
        row.approved_at = event.time;
        row.status = 'approved';
        break;
      case 'grant.activated':
        row.activated_at = event.time;
        row.status = 'active';
        break;
      case 'emergency.activated':
        state.emergency = true;
        row.emergency = 'yes';
        row.post_review = 'pending';
        break;
      case 'grant.extended':
        state.extensions += 1;
        break;
      case 'credentials.issued':
        state.credentials += 1;
        break;
      case 'console.issued':
        state.consoles += 1;
        break;
      case 'review.overdue':
        if (!state.reviewed) row.post_review = 'overdue';
        break;
      case 'review.recorded':
        state.reviewed = true;
        row.post_review = `${String(data.outcome ?? '')}${data.overdue ? ' (late)' : ''}`;
        row.post_review_by = email(event);
        break;
      default: {
        const end = TERMINAL[event.type];
        if (end) {
          state.ended = true;
          row.status = end;
          row.ended_at = event.time;
          row.end_reason =
            end === 'revoked'
              ? `revoked by ${email(event)}: ${String(data.reason ?? '')}`
              : end === 'failed'
                ? `failed: ${String(data.reason ?? '')}`
                : end;
        }
      }
    }
    if (state.ended && (!state.emergency || state.reviewed)) {
      this.open.delete(id);
      return [finish(state)];
    }
    return [];
  }

  /** Rows for requests still open at the end of the range, oldest first. */
  flush(): CsvRow[] {
    const rows = [...this.open.values()].map(finish);
    this.open.clear();
    return rows;
  }
}

function newState(id: string, event: AuditEvent): RowState {
  const row = Object.fromEntries(CSV_COLUMNS.map((column) => [column, ''])) as CsvRow;
  row.request_id = id;
  row.role = event.roleId ?? '';
  row.account = event.accountId ?? '';
  return {
    row,
    approvers: [],
    credentials: 0,
    consoles: 0,
    extensions: 0,
    ended: false,
    emergency: false,
    reviewed: false,
  };
}

function finish(state: RowState): CsvRow {
  return {
    ...state.row,
    approvers: state.approvers.join('; '),
    extensions: String(state.extensions),
    credential_issues: String(state.credentials),
    console_issues: String(state.consoles),
  };
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
