/** Block Kit messages for a request, and a check of the limits Slack enforces on them. */
import type { AccessRequest } from '../../domain/types.js';
import type { Block, SlackMessage } from '../../ports/slack.js';

export const ACTION_OPEN = 'breakglass_open';
export const ACTION_APPROVE = 'breakglass_approve';
export const ACTION_DENY = 'breakglass_deny';

/** Slack's documented limits that a message from us could reach. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  url: 3000,
  contextElements: 10,
  actionsElements: 25,
  messageText: 40000,
} as const;

export interface MessageContext {
  publicUrl: string;
  /** Whether Approve/Deny buttons may appear (notifications.slack.approveInSlack). */
  approveInSlack: boolean;
  /**
   * The role's `approverUsers`: the only people whose Slack clicks count (Slack cannot vouch for IdP groups).
   * Buttons appear only while one of them, other than the requester, can still approve.
   */
  slackApprovers?: string[];
  ticketUrl?: string | null;
}

/** Slack mrkdwn control characters; escaping them also defuses `<!channel>` and link syntax in user text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const plain = (text: string, max: number) => ({ type: 'plain_text', text: truncate(text, max), emoji: true });
const field = (label: string, value: string) => ({
  type: 'mrkdwn',
  text: truncate(`*${label}*\n${value}`, SLACK_LIMITS.fieldText),
});

function duration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h && m ? `${h} h ${m} min` : h ? `${h} h` : `${m} min`;
}

const STATUS_LINE: Record<AccessRequest['status'], string> = {
  pending: ':hourglass_flowing_sand: Waiting for approval',
  approved: ':white_check_mark: Approved, starts at its start time',
  active: ':large_green_circle: Active',
  expired: ':white_circle: Expired',
  revoked: ':no_entry: Revoked',
  denied: ':x: Denied',
  cancelled: ':heavy_minus_sign: Cancelled by the requester',
  timed_out: ':alarm_clock: Timed out without a decision',
  failed: ':warning: Failed to activate',
};

/**
 * A time Slack shows in each reader's own time zone (`<!date^…>`), with the UTC text as the fallback for
 * clients that cannot.
 */
export function slackTime(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return escapeMrkdwn(String(iso));
  const fallback = iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

/** Whether someone whose click Slack can vouch for may still approve this request (or its extension). */
export function canActInSlack(request: AccessRequest, context: MessageContext): boolean {
  if (!context.approveInSlack) return false;
  const approvals =
    request.status === 'pending'
      ? request.approvals
      : request.status === 'active' && request.extension
        ? request.extension.approvals
        : null;
  if (!approvals) return false;
  const done = new Set(approvals.map((a) => a.approver.email.toLowerCase()));
  const requester = request.requester.email.toLowerCase();
  return (context.slackApprovers ?? []).some((email) => {
    const address = email.toLowerCase();
    return address !== requester && !done.has(address);
  });
}

function reviewLine(request: AccessRequest): string | null {
  const review = request.postReview;
  if (!review) return null;
  if (review.outcome === 'flagged') {
    const comment = review.comment ? `: ${escapeMrkdwn(review.comment)}` : '';
    return `:triangular_flag_on_post: *FLAGGED in post-review* by ${escapeMrkdwn(review.by?.email ?? 'an approver')}${comment}`;
  }
  if (review.outcome === 'acknowledged') {
    const comment = review.comment ? `: ${escapeMrkdwn(review.comment)}` : '';
    return `:white_check_mark: Post-review: acknowledged by ${escapeMrkdwn(review.by?.email ?? 'an approver')}${comment}`;
  }
  return review.overdue
    ? `:warning: Post-review OVERDUE since ${slackTime(review.dueAt)}`
    : `:warning: Started without approval. An approver must review it by ${slackTime(review.dueAt)}.`;
}

/** Deadlines and ends that matter in the request's current state. */
function timeLines(request: AccessRequest): string[] {
  const lines: string[] = [];
  if (request.status === 'pending' && request.pendingUntil)
    lines.push(`*Decide by:* ${slackTime(request.pendingUntil)}`);
  if (request.status === 'approved' && request.startAt) lines.push(`*Starts:* ${slackTime(request.startAt)}`);
  if ((request.status === 'approved' || request.status === 'active') && request.endAt)
    lines.push(`*Ends:* ${slackTime(request.endAt)}`);
  if (request.status === 'active' && request.extension) {
    const ext = request.extension;
    const by = ext.approvals.map((a) => escapeMrkdwn(a.approver.email)).join(', ');
    lines.push(
      `*Extension asked:* ${duration(ext.durationMinutes)} more (${ext.approvals.length} of ${ext.approvalsRequired} approvals${by ? `: ${by}` : ''}): ${escapeMrkdwn(ext.reason)}`,
    );
  }
  // Items stored before extensions were recorded have none; the alert must render whatever it finds.
  for (const extension of request.extensions ?? []) {
    lines.push(
      `*Extended* by ${duration(extension.durationMinutes)} at ${slackTime(extension.approvedAt)}: ${escapeMrkdwn(extension.reason)}`,
    );
  }
  if (['expired', 'revoked'].includes(request.status) && request.endAt)
    lines.push(
      `*Ended:* ${slackTime(request.status === 'revoked' ? (request.revocation?.at ?? request.endAt) : request.endAt)}`,
    );
  return lines;
}

/** The message for a request in its current state; the same builder serves the first post and every update. */
export function requestMessage(request: AccessRequest, context: MessageContext): SlackMessage {
  const url = `${context.publicUrl}/requests/${encodeURIComponent(request.id)}`;
  const who = escapeMrkdwn(request.requester.email);
  const emergency = request.emergency;
  const header = emergency
    ? `:rotating_light: EMERGENCY access: ${request.roleId}`
    : `:closed_lock_with_key: Access request: ${request.roleId}`;
  const ticket = request.ticket
    ? context.ticketUrl
      ? `<${context.ticketUrl}|${escapeMrkdwn(request.ticket)}>`
      : escapeMrkdwn(request.ticket)
    : '—';
  let status = STATUS_LINE[request.status];
  if (request.status === 'pending') {
    status += ` (${request.approvals.length} of ${request.approvalsRequired} approvals)`;
    if (request.approvals.length > 0)
      status += `\nApproved so far by ${request.approvals.map((a) => escapeMrkdwn(a.approver.email)).join(', ')}`;
  }
  const decidedBy =
    request.denial?.by.email ?? request.revocation?.by.email ?? request.cancellation?.by.email ?? null;
  if (decidedBy) status += ` by ${escapeMrkdwn(decidedBy)}`;
  if (request.approvals.length > 0 && request.status !== 'pending') {
    status += `\nApproved by ${request.approvals.map((a) => escapeMrkdwn(a.approver.email)).join(', ')}`;
  }

  const blocks: Block[] = [
    { type: 'header', text: plain(header, SLACK_LIMITS.headerText) },
    {
      type: 'section',
      fields: [
        field('Requester', who),
        field('Role', `${escapeMrkdwn(request.roleId)} (${request.accountId})`),
        field('Duration', duration(request.durationMinutes)),
        field('Ticket', ticket),
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*Reason*\n>${escapeMrkdwn(request.reason).replace(/\n/g, '\n>')}`,
          SLACK_LIMITS.sectionText,
        ),
      },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate([`*Status:* ${status}`, ...timeLines(request)].join('\n'), SLACK_LIMITS.sectionText),
      },
    },
  ];
  const review = reviewLine(request);
  if (review) {
    blocks.push({
      type: 'section',
      block_id: 'post_review',
      text: { type: 'mrkdwn', text: truncate(review, SLACK_LIMITS.sectionText) },
    });
  }
  const buttons: Block[] = [
    {
      type: 'button',
      action_id: ACTION_OPEN,
      text: plain('Open', SLACK_LIMITS.buttonText),
      url,
      value: request.id,
    },
  ];
  if (canActInSlack(request, context)) {
    buttons.push(
      {
        type: 'button',
        action_id: ACTION_APPROVE,
        style: 'primary',
        text: plain('Approve', SLACK_LIMITS.buttonText),
        value: request.id,
        confirm: {
          title: plain(request.extension ? 'Approve this extension?' : 'Approve this request?', 100),
          text: plain(
            request.extension
              ? `${request.requester.email} keeps ${request.roleId} ${duration(request.extension.durationMinutes)} longer.`
              : `${request.requester.email} gets ${request.roleId} for ${duration(request.durationMinutes)}.`,
            300,
          ),
          confirm: plain('Approve', 30),
          deny: plain('Back', 30),
        },
      },
      {
        type: 'button',
        action_id: ACTION_DENY,
        style: 'danger',
        text: plain('Deny', SLACK_LIMITS.buttonText),
        value: request.id,
        confirm: {
          title: plain('Deny this request?', 100),
          text: plain('The requester is told it was denied in Slack.', 300),
          confirm: plain('Deny', 30),
          deny: plain('Back', 30),
        },
      },
    );
  }
  blocks.push({ type: 'actions', block_id: `request_${request.id}`.slice(0, 255), elements: buttons });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${request.id} · asked ${slackTime(request.createdAt)}` }],
  });

  const summary = `${request.requester.email} asks for ${request.roleId} for ${duration(request.durationMinutes)}`;
  const flagged = request.postReview?.outcome === 'flagged' ? ' — FLAGGED in post-review' : '';
  const text = emergency
    ? `<!here> EMERGENCY access: ${escapeMrkdwn(request.requester.email)} activated ${request.roleId} without approval${flagged}`
    : `${escapeMrkdwn(summary)} — ${STATUS_LINE[request.status].replace(/^:[a-z_]+: /, '')}`;
  return { text: truncate(text, SLACK_LIMITS.messageText), blocks };
}

/** Every limit a message breaks, as readable strings; empty when Slack will accept it. */
export function checkSlackLimits(message: SlackMessage): string[] {
  const problems: string[] = [];
  if (message.blocks.length > SLACK_LIMITS.blocks)
    problems.push(`${message.blocks.length} blocks > ${SLACK_LIMITS.blocks}`);
  if (message.text.length > SLACK_LIMITS.messageText) problems.push('text too long');
  message.blocks.forEach((block, index) => {
    const at = `blocks[${index}]`;
    const text = block.text as { text?: string } | undefined;
    if (block.type === 'header' && (text?.text?.length ?? 0) > SLACK_LIMITS.headerText)
      problems.push(`${at} header text too long`);
    if (block.type === 'section') {
      if ((text?.text?.length ?? 0) > SLACK_LIMITS.sectionText) problems.push(`${at} section text too long`);
      const fields = (block.fields as Array<{ text: string }> | undefined) ?? [];
      if (fields.length > SLACK_LIMITS.fields) problems.push(`${at} has ${fields.length} fields`);
      fields.forEach((f, i) => {
        if (f.text.length > SLACK_LIMITS.fieldText) problems.push(`${at}.fields[${i}] too long`);
      });
    }
    if (block.type === 'actions') {
      const elements = (block.elements as Block[] | undefined) ?? [];
      if (elements.length > SLACK_LIMITS.actionsElements) problems.push(`${at} has too many elements`);
      elements.forEach((element, i) => {
        const where = `${at}.elements[${i}]`;
        const label = (element.text as { text?: string } | undefined)?.text ?? '';
        if (label.length > SLACK_LIMITS.buttonText)
          problems.push(`${where} button text > ${SLACK_LIMITS.buttonText}`);
        if (String(element.value ?? '').length > SLACK_LIMITS.buttonValue)
          problems.push(`${where} value > ${SLACK_LIMITS.buttonValue}`);
        if (String(element.action_id ?? '').length > SLACK_LIMITS.actionId)
          problems.push(`${where} action_id too long`);
        if (String(element.url ?? '').length > SLACK_LIMITS.url) problems.push(`${where} url too long`);
      });
    }
    if (
      block.type === 'context' &&
      ((block.elements as unknown[]) ?? []).length > SLACK_LIMITS.contextElements
    ) {
      problems.push(`${at} has too many context elements`);
    }
  });
  return problems;
}
