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
      text: { type: 'mrkdwn', text: truncate(`*Status:* ${status}`, SLACK_LIMITS.sectionText) },
    },
  ];
  if (emergency && request.postReview && !request.postReview.outcome) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:warning: Started without approval. An approver must review it by ${request.postReview.dueAt}.`,
      },
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
  if (context.approveInSlack && request.status === 'pending') {
    buttons.push(
      {
        type: 'button',
        action_id: ACTION_APPROVE,
        style: 'primary',
        text: plain('Approve', SLACK_LIMITS.buttonText),
        value: request.id,
        confirm: {
          title: plain('Approve this request?', 100),
          text: plain(
            `${request.requester.email} gets ${request.roleId} for ${duration(request.durationMinutes)}.`,
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
    elements: [{ type: 'mrkdwn', text: `${request.id} · asked ${request.createdAt}` }],
  });

  const summary = `${request.requester.email} asks for ${request.roleId} for ${duration(request.durationMinutes)}`;
  const text = emergency
    ? `<!here> EMERGENCY access: ${escapeMrkdwn(request.requester.email)} activated ${request.roleId} without approval`
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
