/** `roles`, `request`, `status`, `list` and the decisions on a request. */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { formatMinutes, parseDurationMinutes } from '../../api/domain/duration.js';
import type { ApiClient } from '../api-client.js';
import { type CliContext, interactive, stateDir } from '../context.js';
import { dropCachedCredentials } from '../credential-cache.js';
import { CliError, EXIT, usage } from '../errors.js';
import { relative, type Style, shortTime, styleFor, table, writeJson } from '../output.js';
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

async function ask(ctx: CliContext, question: string): Promise<string> {
  const rl = createInterface({
    input: ctx.stdin,
    output: ctx.stderr as NodeJS.WritableStream,
    terminal: true,
  });
  try {
    return (await rl.question(question, { signal: ctx.signal })).trim();
  } catch {
    throw new CliError('interrupted', EXIT.interrupted);
  } finally {
    rl.close();
  }
}

export interface RequestOptions extends GlobalOptions {
  duration?: string;
  reason?: string;
  ticket?: string;
  start?: string;
  emergency?: boolean;
  wait?: boolean;
}

export async function request(
  ctx: CliContext,
  roleArg: string | undefined,
  options: RequestOptions,
): Promise<void> {
  const prompt = interactive(ctx, Boolean(options.json));
  // Local checks first: a bad flag should not need a login or a round trip.
  let minutes = options.duration !== undefined ? durationFlag(options.duration) : undefined;
  const startAt = options.start !== undefined ? startFlag(options.start, ctx.now()) : undefined;
  if (!roleArg && !prompt)
    throw usage('missing ROLE', 'run `breakglass roles` to see the roles you may request');
  if (!options.reason?.trim() && !prompt)
    throw usage('--reason is required', 'say why, e.g. --reason "INC-123 database failover"');

  const client = await connect(ctx, options);
  const available = await fetchRoles(client);
  let roleId = roleArg;
  if (!roleId) {
    if (available.length === 0) throw new CliError('you may not request any role', EXIT.forbidden);
    ctx.stderr.write(available.map((role, i) => `  ${i + 1}) ${role.id}  ${role.description}\n`).join(''));
    const answer = await ask(ctx, 'Role (number or id): ');
    roleId = available[Number(answer) - 1]?.id ?? answer;
  }
  const role = available.find((candidate) => candidate.id === roleId);
  const reason =
    options.reason?.trim() ||
    requireText(await ask(ctx, 'Reason: '), '--reason', 'INC-123 database failover');
  minutes ??= role?.defaultDurationMinutes ?? 60;

  // One key per invocation: a retry after a timeout or a 503 finds the request the first attempt created.
  const created = await client.json<RequestView>('POST', '/v1/requests', {
    headers: { 'idempotency-key': `cli-${randomUUID()}` },
    body: {
      roleId,
      durationMinutes: minutes,
      reason,
      ...(options.ticket ? { ticket: options.ticket } : {}),
      ...(startAt ? { startAt } : {}),
      ...(options.emergency ? { emergency: true } : {}),
    },
  });
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
  const style = styleFor(ctx);
  let line = `${PAST[action]} ${updated.id} (${updated.roleId} for ${updated.requester.email}) — now ${stateSummary(style, updated, ctx.now())}`;
  if (action === 'extend' && updated.extension) {
    line += `; extension waits for ${(updated.extension.approvalsRequired ?? updated.approvalsRequired) - updated.extension.approvals.length} approval(s)`;
  }
  ctx.stdout.write(`${line}\n`);
}
