/** `roles`, `request`, `status`, `list` and the decisions on a request. */
import { randomUUID } from 'node:crypto';
import { formatMinutes, parseDurationMinutes } from '../../api/domain/duration.js';
import type { ApiClient } from '../api-client.js';
import { type CliContext, interactive, stateDir } from '../context.js';
import { dropCachedCredentials } from '../credential-cache.js';
import { CliError, EXIT, renderError, usage } from '../errors.js';
import { PLAIN_STYLE, relative, type Style, shortTime, styleFor, table, writeJson } from '../output.js';
import { Prompter } from '../prompt.js';
import { type RequestView, requestDetail, requestTable, stateSummary } from '../requests-view.js';
import { connect, type GlobalOptions, requestId, requireText } from './common.js';

export interface RoleView {
  id: string;
  description: string;
  accountId: string;
  roleArn: string;
  maxDurationMinutes: number;
  defaultDurationMinutes: number;
  approvalsRequired: number;
  approverGroups: string[];
  ticket: { required: boolean; pattern: string | null };
  emergencyAllowed: boolean;
}

async function fetchRoles(client: ApiClient): Promise<RoleView[]> {
  return (await client.json<{ roles: RoleView[] }>('GET', '/v1/roles')).roles;
}

export async function roles(ctx: CliContext, options: GlobalOptions): Promise<void> {
  const client = await connect(ctx, options);
  const list = await fetchRoles(client);
  if (options.json) {
    writeJson(ctx, list);
    return;
  }
  if (list.length === 0) {
    ctx.stdout.write('You may not request any role.\n');
    return;
  }
  const style = styleFor(ctx);
  ctx.stdout.write(
    table(
      style,
      ['ROLE', 'ACCOUNT', 'MAX', 'APPROVALS', 'EMERGENCY', 'TICKET', 'DESCRIPTION'],
      list.map((role) => [
        role.id,
        role.accountId,
        formatMinutes(role.maxDurationMinutes),
        String(role.approvalsRequired),
        role.emergencyAllowed ? 'allowed' : 'no',
        role.ticket.required ? (role.ticket.pattern ?? 'required') : '-',
        role.description,
      ]),
    ),
  );
}

/** `90m`, `1h30m`, `2h` → minutes; anything else is a usage error naming the flag. */
export function durationFlag(text: string, flag = '--duration'): number {
  const minutes = parseDurationMinutes(text);
  if (minutes === null || minutes <= 0) {
    throw usage(`${flag} "${text}" is not a duration`, 'write it like 90m, 1h30m or 2h');
  }
  return minutes;
}

/** `--start` takes an ISO 8601 time or a delay from now such as `30m`. */
export function startFlag(text: string, now: number): string {
  const delay = parseDurationMinutes(text.replace(/^\+/, ''));
  if (delay !== null) return new Date(now + delay * 60_000).toISOString();
  const parsed = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(parsed)) {
    throw usage(
      `--start "${text}" is not a time`,
      'use an ISO 8601 time such as 2026-11-22T10:00:00Z or a delay such as 30m',
    );
  }
  return new Date(parsed).toISOString();
}

export interface RequestOptions extends GlobalOptions {
  duration?: string;
  reason?: string;
  ticket?: string;
  start?: string;
  emergency?: boolean;
  wait?: boolean;
}

/** What a request is made of, once every answer is in. */
interface RequestAnswers {
  roleId: string;
  reason: string;
  minutes: number;
  ticket?: string;
  startAt?: string;
}

type Field = 'role' | 'reason' | 'ticket' | 'duration' | 'start';

export async function request(
  ctx: CliContext,
  roleArg: string | undefined,
  options: RequestOptions,
): Promise<void> {
  const prompt = interactive(ctx, Boolean(options.json));
  // Local checks first: a bad flag should not need a login or a round trip.
  const flagMinutes = options.duration !== undefined ? durationFlag(options.duration) : undefined;
  const flagStart = options.start !== undefined ? startFlag(options.start, ctx.now()) : undefined;
  if (!roleArg && !prompt)
    throw usage('missing ROLE', 'run `breakglass roles` to see the roles you may request');
  if (!options.reason?.trim() && !prompt)
    throw usage('--reason is required', 'say why, e.g. --reason "INC-123 database failover"');

  const client = await connect(ctx, options);
  const available = await fetchRoles(client);
  const prompter = prompt ? new Prompter(ctx, 'nothing was requested') : null;
  // A person who left out the role or the reason is walked through the whole request; one who gave both on
  // the command line is asked only for what the role still requires (a ticket).
  const guided = prompter !== null && (!roleArg || !options.reason?.trim());
  const answers: Partial<RequestAnswers> = {
    ...(roleArg ? { roleId: roleArg } : {}),
    ...(options.reason?.trim() ? { reason: options.reason.trim() } : {}),
    ...(flagMinutes !== undefined ? { minutes: flagMinutes } : {}),
    ...(options.ticket?.trim() ? { ticket: options.ticket.trim() } : {}),
    ...(flagStart ? { startAt: flagStart } : {}),
  };
  let created: RequestView;
  let role: RoleView | undefined;
  try {
    if (!answers.roleId) answers.roleId = await askRole(ctx, prompter!, available);
    role = available.find((candidate) => candidate.id === answers.roleId);
    // Emergency first, as the broker checks it: never ask for a ticket a refusal would make pointless.
    if (options.emergency && role && !role.emergencyAllowed) {
      throw new CliError(
        `${role.id} does not allow emergency access (emergency_not_allowed)`,
        EXIT.usage,
        'ask for it without --emergency, or pick a role that allows it (`breakglass roles`)',
        'emergency_not_allowed',
      );
    }
    if (!answers.reason) answers.reason = await askReason(prompter!);
    if (prompter && role && !answers.ticket && (role.ticket.required || options.emergency)) {
      answers.ticket = await askTicket(prompter, role);
    }
    if (guided && role) {
      if (answers.minutes === undefined) answers.minutes = await askDuration(prompter!, role);
      if (!answers.startAt && !options.emergency) {
        const startAt = await askStart(ctx, prompter!);
        if (startAt) answers.startAt = startAt;
      }
    }
    answers.minutes ??= role?.defaultDurationMinutes ?? 60;
    for (;;) {
      try {
        // One key per request: a retry after a timeout or a 503 finds the request the first attempt created.
        created = await client.json<RequestView>('POST', '/v1/requests', {
          headers: { 'idempotency-key': `cli-${randomUUID()}` },
          body: {
            roleId: answers.roleId,
            durationMinutes: answers.minutes,
            reason: answers.reason,
            ...(answers.ticket ? { ticket: answers.ticket } : {}),
            ...(answers.startAt ? { startAt: answers.startAt } : {}),
            ...(options.emergency ? { emergency: true } : {}),
          },
        });
        break;
      } catch (error) {
        // At a terminal a refused answer is asked again, alone: the others (the typed reason too) are kept.
        const field = prompter ? refusedField(error) : null;
        if (!prompter || !field) throw error;
        ctx.stderr.write(renderError(error as CliError));
        if (field === 'role') {
          answers.roleId = await askRole(ctx, prompter, available);
          role = available.find((candidate) => candidate.id === answers.roleId);
        } else if (field === 'reason') answers.reason = await askReason(prompter);
        else if (field === 'ticket' && role) answers.ticket = await askTicket(prompter, role);
        else if (field === 'duration' && role) answers.minutes = await askDuration(prompter, role);
        else if (field === 'start') {
          const startAt = await askStart(ctx, prompter);
          if (startAt) answers.startAt = startAt;
          else delete answers.startAt;
        } else throw error;
      }
    }
  } finally {
    prompter?.close();
  }
  // A new grant for the role: `credentials --role` must not keep serving the previous grant's credentials.
  dropCachedCredentials(stateDir(ctx), { roleId: created.roleId });

  if (options.wait) {
    if (!options.json) printCreated(ctx, styleFor(ctx), created, role);
    if (WAITING.has(created.status)) await waitFor(ctx, client, created, options);
    else finishWait(ctx, created, options);
    return;
  }
  if (options.json) {
    writeJson(ctx, created);
    return;
  }
  printCreated(ctx, styleFor(ctx), created, role);
  ctx.stdout.write(`Next: ${nextCommand(created)}\n`);
}

/** Which answer the broker refused, when a person can simply give another one. */
function refusedField(error: unknown): Field | null {
  if (!(error instanceof CliError)) return null;
  switch (error.code) {
    case 'unknown_role':
    case 'not_requester':
      return 'role';
    case 'ticket_required':
    case 'ticket_invalid':
      return 'ticket';
    case 'duration_out_of_range':
      return 'duration';
    case 'start_out_of_range':
      return 'start';
    case 'validation_failed':
    case 'invalid_text': {
      const subject = /^(reason|ticket|durationMinutes|startAt)\b/.exec(error.message)?.[1];
      const fields: Record<string, Field> = {
        reason: 'reason',
        ticket: 'ticket',
        durationMinutes: 'duration',
        startAt: 'start',
      };
      return subject ? (fields[subject] ?? null) : null;
    }
    default:
      return null;
  }
}

/** The role picker: a numbered table whose columns line up, then a number or an id. */
async function askRole(ctx: CliContext, prompter: Prompter, available: RoleView[]): Promise<string> {
  if (available.length === 0) throw new CliError('you may not request any role', EXIT.forbidden);
  const picker = table(
    PLAIN_STYLE,
    ['', 'ROLE', 'MAX', 'APPROVALS', 'TICKET', 'DESCRIPTION'],
    available.map((role, i) => [
      `${i + 1})`,
      role.id,
      formatMinutes(role.maxDurationMinutes),
      String(role.approvalsRequired),
      role.ticket.required ? (role.ticket.pattern ?? 'required') : '-',
      role.description,
    ]),
  );
  ctx.stderr.write(picker.replace(/^/gm, '  ').replace(/ +$/gm, ''));
  return prompter.ask<string>(`Role (1-${available.length} or an id): `, (answer) => {
    const picked = available[Number(answer) - 1] ?? available.find((role) => role.id === answer);
    return picked
      ? { value: picked.id }
      : { problem: `"${answer}" is not one of the roles above; type its number or its id` };
  });
}

function askReason(prompter: Prompter): Promise<string> {
  return prompter.ask<string>('Reason: ', (answer) =>
    answer.length >= 3
      ? { value: answer }
      : { problem: 'say why you need access, e.g. INC-123 database failover' },
  );
}

/** Asked when the role (or emergency access) requires a ticket; the pattern is the hint. */
function askTicket(prompter: Prompter, role: RoleView): Promise<string> {
  const pattern = role.ticket.pattern;
  return prompter.ask<string>(`Ticket (${pattern ? `must match ${pattern}` : 'required'}): `, (answer) => {
    if (!answer) return { problem: `${role.id} requires a ticket` };
    if (pattern && !new RegExp(pattern).test(answer)) {
      return { problem: `"${answer}" does not match ${pattern}` };
    }
    return { value: answer };
  });
}

function askDuration(prompter: Prompter, role: RoleView): Promise<number> {
  const max = role.maxDurationMinutes;
  const fallback = role.defaultDurationMinutes;
  return prompter.ask<number>(
    `Duration (Enter for ${formatMinutes(fallback)}, at most ${formatMinutes(max)}): `,
    (answer) => {
      if (!answer) return { value: fallback };
      const minutes = parseDurationMinutes(answer);
      if (minutes === null || minutes <= 0) {
        return { problem: `"${answer}" is not a duration; write it like 90m or 1h30m` };
      }
      if (minutes > max) return { problem: `${role.id} allows at most ${formatMinutes(max)}` };
      return { value: minutes };
    },
  );
}

function askStart(ctx: CliContext, prompter: Prompter): Promise<string | undefined> {
  return prompter.ask<string | undefined>(
    'Start (Enter for as soon as approved, or a delay such as 30m, or an ISO time): ',
    (answer) => {
      if (!answer) return { value: undefined };
      try {
        return { value: startFlag(answer, ctx.now()) };
      } catch (error) {
        return { problem: (error as CliError).message.replace('--start ', '') };
      }
    },
  );
}

function printCreated(ctx: CliContext, style: Style, created: RequestView, role: RoleView | undefined): void {
  const lines = [
    `Requested ${style.bold(created.roleId)} for ${formatMinutes(created.durationMinutes)}: ${style.bold(created.id)}`,
    `  status     ${stateSummary(style, created, ctx.now())}`,
  ];
  // A scheduled request says when it starts; one without a start time starts once approved.
  if (created.startAt && WAITING.has(created.status)) {
    lines.push(`  starts     ${shortTime(created.startAt)} (${relative(created.startAt, ctx.now())})`);
  } else if (created.status === 'pending') {
    lines.push('  starts     as soon as it is approved');
  }
  lines.push(`  link       ${created.url}`);
  if (created.status === 'pending' && role) {
    lines.push(
      `  approvers  ${role.approverGroups.join(', ')} (${created.approvalsRequired} needed, never yourself)`,
    );
  }
  if (created.emergency)
    lines.push(`  ${style.red('EMERGENCY')}  security is notified; an approver must review it afterwards`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

/** What to run once a request has reached `status`. */
export function nextCommand(request: RequestView): string {
  switch (request.status) {
    case 'active':
      return `breakglass credentials ${request.id}   (or: breakglass profile ${request.roleId}, breakglass console ${request.id})`;
    case 'pending':
      return `breakglass status ${request.id} --wait   (approvers run: breakglass approve ${request.id})`;
    case 'approved':
      return `breakglass status ${request.id} --wait   (starts ${shortTime(request.startAt)})`;
    default:
      return `breakglass request ${request.roleId} --reason "…"   (to ask again)`;
  }
}

const WAITING = new Set(['pending', 'approved']);

/** Polls until the request is active or finished, showing each approval as it arrives; Ctrl-C stops waiting. */
async function waitFor(
  ctx: CliContext,
  client: ApiClient,
  initial: RequestView,
  options: GlobalOptions,
): Promise<void> {
  const intervalMs = Math.max(100, Number(ctx.env.BREAKGLASS_POLL_INTERVAL_MS ?? 2000));
  const style = styleFor(ctx, ctx.stderr);
  const live = Boolean(ctx.stderr.isTTY) && !options.json;
  const started = ctx.now();
  let current = initial;
  let seen = new Set(initial.approvals.map((approval) => `${approval.approver.subject}@${approval.at}`));
  const progress = (line: string) => ctx.stderr.write(`${live ? '\r\u001b[2K' : ''}${line}\n`);
  if (!options.json)
    progress(`Waiting for ${current.id}: ${stateSummary(style, current, ctx.now())} — Ctrl-C stops waiting`);

  while (WAITING.has(current.status)) {
    const stopped = await sleep(intervalMs, ctx.signal);
    if (stopped) {
      if (live) ctx.stderr.write('\r\u001b[2K');
      if (options.json) writeJson(ctx, current);
      else
        ctx.stdout.write(
          `Stopped waiting; ${current.id} is still ${current.status}. Next: ${nextCommand(current)}\n`,
        );
      throw new CliError('stopped waiting', EXIT.interrupted, undefined, 'interrupted');
    }
    const previous = current;
    current = await client.json<RequestView>('GET', `/v1/requests/${current.id}`);
    const fresh = current.approvals.filter(
      (approval) => !seen.has(`${approval.approver.subject}@${approval.at}`),
    );
    seen = new Set(current.approvals.map((approval) => `${approval.approver.subject}@${approval.at}`));
    if (!options.json) {
      for (const approval of fresh) {
        const count = current.approvals.indexOf(approval) + 1;
        progress(
          `  ✓ approved by ${approval.approver.email} (${count} of ${current.approvalsRequired})${approval.comment ? `: ${approval.comment}` : ''}`,
        );
      }
      if (current.status !== previous.status) progress(`  → ${stateSummary(style, current, ctx.now())}`);
      else if (live) ctx.stderr.write(`\r\u001b[2K  waiting… ${Math.round((ctx.now() - started) / 1000)}s`);
    }
  }
  if (live) ctx.stderr.write('\r\u001b[2K');
  finishWait(ctx, current, options);
}

/**
 * The end of a `--wait`: exit 0 only for a usable grant. Any other final state (denied, cancelled, revoked,
 * expired, timed out, failed) is exit 6, whether it happened during the wait or before it began, so
 * `breakglass status ID --wait && …` never carries on without access.
 */
function finishWait(ctx: CliContext, current: RequestView, options: GlobalOptions): void {
  if (options.json) writeJson(ctx, current);
  if (current.status === 'active') {
    if (!options.json)
      ctx.stdout.write(
        `${current.id} is active until ${shortTime(current.endAt)}. Next: ${nextCommand(current)}\n`,
      );
    return;
  }
  const why =
    current.status === 'denied' && current.denial
      ? ` by ${current.denial.by.email}${current.denial.comment ? `: ${current.denial.comment}` : ''}`
      : current.status === 'revoked' && current.revocation
        ? ` by ${current.revocation.by.email}: ${current.revocation.reason}`
        : current.status === 'cancelled' && current.cancellation
          ? ` by ${current.cancellation.by.email}`
          : '';
  if (!options.json) ctx.stdout.write(`Next: ${nextCommand(current)}\n`);
  throw new CliError(
    `${current.id} was ${current.status.replace('_', ' ')}${why}`,
    EXIT.conflict,
    undefined,
    current.status,
  );
}

/** Resolves true when aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface StatusOptions extends GlobalOptions {
  wait?: boolean;
}

export async function status(ctx: CliContext, id: string, options: StatusOptions): Promise<void> {
  const client = await connect(ctx, options);
  const found = await client.json<RequestView>('GET', `/v1/requests/${requestId(id)}`);
  if (options.wait) {
    if (WAITING.has(found.status)) await waitFor(ctx, client, found, options);
    else {
      // Already settled: show where it stands, then exit as a wait that ended there would.
      if (!options.json) ctx.stdout.write(requestDetail(styleFor(ctx), found, ctx.now()));
      finishWait(ctx, found, options);
    }
    return;
  }
  if (options.json) {
    writeJson(ctx, found);
    return;
  }
  ctx.stdout.write(requestDetail(styleFor(ctx), found, ctx.now()));
}

export interface ListOptions extends GlobalOptions {
  mine?: boolean;
  approvable?: boolean;
  status?: string;
  role?: string;
  limit?: string;
  all?: boolean;
  /** Continue from where a previous page stopped. */
  cursor?: string;
}

export async function list(ctx: CliContext, options: ListOptions): Promise<void> {
  if (options.mine && options.approvable) throw usage('choose one of --mine and --approvable');
  const limit = options.limit === undefined ? 25 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw usage(`--limit "${options.limit}" must be a whole number from 1 to 100`);
  const client = await connect(ctx, options);
  const query = new URLSearchParams({ limit: String(limit) });
  if (options.mine) query.set('mine', 'true');
  if (options.approvable) query.set('approvable', 'true');
  if (options.status) query.set('status', options.status);
  if (options.role) query.set('role', options.role);
  const items: RequestView[] = [];
  let cursor: string | null = options.cursor ?? null;
  do {
    if (cursor) query.set('cursor', cursor);
    const page: { items: RequestView[]; nextCursor: string | null } = await client.json(
      'GET',
      `/v1/requests?${query}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && options.all);
  // stdout stays the bare array scripts already parse; that there is more goes to stderr, with the cursor.
  const more = cursor ? `breakglass: more requests — continue with --cursor ${cursor}, or add --all\n` : null;
  if (options.json) {
    writeJson(ctx, items);
    if (more) ctx.stderr.write(more);
    return;
  }
  if (items.length === 0) ctx.stdout.write('No requests.\n');
  else ctx.stdout.write(requestTable(styleFor(ctx), items, ctx.now()));
  if (more) ctx.stderr.write(more);
}

type Decision = 'approve' | 'deny' | 'cancel' | 'revoke' | 'extend' | 'review';

const PAST: Record<Decision, string> = {
  approve: 'Approved',
  deny: 'Denied',
  cancel: 'Cancelled',
  revoke: 'Revoked',
  extend: 'Asked to extend',
  review: 'Reviewed',
};

export interface DecisionOptions extends GlobalOptions {
  comment?: string;
  reason?: string;
  duration?: string;
  outcome?: string;
}

/** Builds the body for a decision, checking its flags locally first. */
export function decisionBody(action: Decision, options: DecisionOptions): Record<string, unknown> {
  switch (action) {
    case 'approve':
      return options.comment?.trim() ? { comment: options.comment.trim() } : {};
    case 'deny':
      return { comment: requireText(options.comment, '--comment', 'not during the freeze') };
    case 'cancel':
      return {};
    case 'revoke':
      return { reason: requireText(options.reason, '--reason', 'incident resolved') };
    case 'extend':
      return {
        durationMinutes: durationFlag(requireText(options.duration, '--duration', '30m')),
        reason: requireText(options.reason, '--reason', 'failover still running'),
      };
    case 'review': {
      const outcome = options.outcome;
      if (outcome !== 'acknowledged' && outcome !== 'flagged') {
        throw usage('--outcome must be acknowledged or flagged');
      }
      return { outcome, comment: requireText(options.comment, '--comment', 'justified by INC-123') };
    }
  }
}

export async function decide(
  ctx: CliContext,
  action: Decision,
  id: string,
  options: DecisionOptions,
): Promise<void> {
  const target = requestId(id);
  const body = decisionBody(action, options);
  const client = await connect(ctx, options);
  const updated = await client.json<RequestView>('POST', `/v1/requests/${target}/${action}`, { body });
  // This CLI must not serve a revoked or cancelled grant's credentials from its cache.
  if (action === 'revoke' || action === 'cancel') dropCachedCredentials(stateDir(ctx), { requestId: target });
  if (options.json) {
    writeJson(ctx, updated);
    return;
  }
  ctx.stdout.write(`${decisionLine(styleFor(ctx), action, updated, ctx.now())}\n`);
}

/**
 * The one line a decision prints. For an extension it says how far the extension got and where the grant ends
 * now: the new end once it is granted, the unchanged end (and what is still missing) while it waits.
 */
export function decisionLine(style: Style, action: Decision, updated: RequestView, now: number): string {
  const who = `${updated.id} (${updated.roleId} for ${updated.requester.email})`;
  const extension = updated.extension;
  // A server older than extension history omits the list.
  const last = (updated.extensions ?? []).at(-1);
  const denied = updated.deniedExtensions?.at(-1);
  if ((action === 'approve' || action === 'extend') && updated.status === 'active') {
    const verb = action === 'approve' ? 'Approved the extension of' : 'Asked to extend';
    if (extension) {
      const required = extension.approvalsRequired ?? updated.approvalsRequired;
      return `${verb} ${who} by ${formatMinutes(extension.durationMinutes)}: ${extension.approvals.length} of ${required} approvals, ${required - extension.approvals.length} more needed — the grant still ends ${shortTime(updated.endAt)} (${relative(updated.endAt, now)})`;
    }
    if (last && last.approvedAt === updated.updatedAt) {
      return `${action === 'approve' ? 'Approved the extension of' : 'Extended'} ${who} by ${formatMinutes(last.durationMinutes)} — now ends ${shortTime(updated.endAt)} (${relative(updated.endAt, now)}), was ${shortTime(last.previousEndAt)}`;
    }
  }
  if (action === 'deny' && updated.status === 'active' && denied && denied.denial.at === updated.updatedAt) {
    return `Denied the extension of ${who} by ${formatMinutes(denied.durationMinutes)} — the grant still ends ${shortTime(updated.endAt)} (${relative(updated.endAt, now)})`;
  }
  return `${PAST[action]} ${who} — now ${stateSummary(style, updated, now)}`;
}
