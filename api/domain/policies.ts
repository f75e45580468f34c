/**
 * Pure builders for everything the broker sends to AWS on behalf of a grant: the session policy that stops
 * working at the grant's end, the `breakglass-revocations` inline policy, the identifiers STS and
 * EventBridge Scheduler accept, and the durations they allow. No I/O, no SDK: the adapters send these as-is,
 * and the audit log records exactly the same text.
 */
import type { AccessRequest, Transition } from './types.js';

export const IAM_POLICY_VERSION = '2012-10-17';
export const REVOCATION_POLICY_NAME = 'breakglass-revocations';
export const REQUEST_TAG = 'breakglass:request';
export const REQUESTER_TAG = 'breakglass:requester';
/** All inline policies of one role together, whitespace excluded (IAM quota). */
export const INLINE_POLICY_BUDGET = 10_240;
/** Plaintext limit of the inline session policy passed to AssumeRole. */
export const SESSION_POLICY_LIMIT = 2_048;
/** STS refuses shorter sessions. */
export const MIN_SESSION_SECONDS = 900;
/** Role chaining (a broker running on role credentials) caps every session at one hour. */
export const MAX_SESSION_SECONDS = 3_600;
/**
 * How long after its revocation a grant's sessions can still be alive: an AssumeRole session lasts at most
 * an hour, a console sign-in token may be redeemed for 15 minutes, plus five minutes of clock skew.
 */
export const REVOKED_SESSION_LIFETIME_MS = (3_600 + 900 + 300) * 1000;
/** Revocation entries are grouped into statements by their expiry, rounded up to this step. */
const REVOCATION_BUCKET_MS = 15 * 60_000;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: typeof IAM_POLICY_VERSION;
  Statement: PolicyStatement[];
}

/** `2026-05-01T12:30:00Z`: whole seconds, rounded down, as IAM date conditions expect. */
export function iamTime(at: Date | string): string {
  const ms = new Date(at).getTime();
  if (Number.isNaN(ms)) throw new Error(`not a time: ${String(at)}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The characters IAM counts toward its size quotas (it ignores whitespace). */
export function policySize(text: string): number {
  return text.replace(/\s/g, '').length;
}

/** Every STS call that turns a session's credentials into another session (role chaining and its relatives). */
export const CHAINING_ACTIONS = [
  'sts:AssumeRole',
  'sts:AssumeRoleWithSAML',
  'sts:AssumeRoleWithWebIdentity',
  'sts:AssumeRoot',
  'sts:GetFederationToken',
  'sts:GetSessionToken',
] as const;

export interface SessionPolicyOptions {
  /**
   * The role's `sessionPolicyArns` narrow the session. An Allow in the inline policy would union with them (AWS
   * evaluates inline and managed session policies together), so with managed ones the inline policy only denies.
   */
  managedSessionPolicies: boolean;
  /** The role's documented opt-in to let sessions assume further roles (`allowRoleChaining` in its config). */
  allowRoleChaining: boolean;
}

/**
 * The inline session policy of every issued session. Its hard stop is an explicit `Deny *` from the grant's end
 * second on: no Allow anywhere (a managed session policy, a resource policy naming the session) can outweigh an
 * explicit deny, and AWS evaluates it on every request, so it also stops sessions whose STS expiry lies later
 * (the 900-second minimum) and console sessions made from them. Unless the role opts in, the session may not
 * chain into another role either: a chained session would carry neither this policy nor the grant's tag, so it
 * would outlive the grant and escape an early revocation. The `Allow *` (bounded by the role's own policies and
 * permissions boundary) is sent only when no managed session policy is meant to narrow the session.
 */
export function sessionPolicy(endAt: Date | string, options: SessionPolicyOptions): string {
  const end = iamTime(endAt);
  const statements: PolicyStatement[] = [];
  if (!options.managedSessionPolicies) {
    statements.push({
      Sid: 'BreakglassUntilGrantEnd',
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:CurrentTime': end } },
    });
  }
  statements.push({
    Sid: 'BreakglassHardStop',
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': end } },
  });
  if (!options.allowRoleChaining) {
    statements.push({
      Sid: 'BreakglassNoRoleChaining',
      Effect: 'Deny',
      Action: [...CHAINING_ACTIONS],
      Resource: '*',
    });
  }
  return JSON.stringify({ Version: IAM_POLICY_VERSION, Statement: statements } satisfies PolicyDocument);
}

/** STS `DurationSeconds`: the rest of the grant, but never outside [900, 3600]. */
export function sessionDurationSeconds(now: Date, endAt: Date | string): number {
  const remaining = Math.ceil((new Date(endAt).getTime() - now.getTime()) / 1000);
  return Math.min(MAX_SESSION_SECONDS, Math.max(MIN_SESSION_SECONDS, remaining));
}

/** When issued credentials stop working: the STS expiry or the grant's end, whichever is first. */
export function effectiveExpiration(stsExpiration: Date, endAt: Date | string): Date {
  const end = new Date(iamTime(endAt));
  return stsExpiration.getTime() < end.getTime() ? stsExpiration : end;
}

const STS_NAME_CHARS = /[^\w+=,.@-]/g;

/**
 * `SourceIdentity` from the requester's email: STS allows `[\w+=,.@-]`, 2-64 characters, not starting with
 * `aws:`. Anything else becomes `-`, so the value stays recognisable in CloudTrail.
 */
export function sourceIdentity(email: string): string {
  let value = email.trim().replace(STS_NAME_CHARS, '-').slice(0, 64);
  if (/^aws:/i.test(value)) value = `u-${value}`.slice(0, 64);
  if (value.length < 2) value = `user-${value}`.slice(0, 64);
  return value;
}

/** `RoleSessionName` (2-64 of `[\w+=,.@-]`): who and which grant, as shown in the assumed-role ARN. */
export function roleSessionName(email: string, requestId: string): string {
  const id = requestId.replace(STS_NAME_CHARS, '-').slice(0, 40);
  const local = (email.split('@')[0] ?? '').replace(STS_NAME_CHARS, '-');
  const room = 64 - id.length - 1;
  return local && room > 0 ? `${local.slice(0, room)}.${id}` : `bg.${id}`.slice(0, 64);
}

/** Session tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters. */
export function sessionTagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '-').slice(0, 256);
}

// ---------------------------------------------------------------------------------------------------------
// Revocation policy

export interface RevocationEntry {
  requestId: string;
  /** After this instant no session of the grant can work any more, so the entry may be pruned. */
  aliveUntil: string;
  /** When the grant was revoked; null when only known from the policy text. */
  revokedAt: string | null;
}

/** A role-wide cut-off: every session issued before `issuedBefore` is denied until `aliveUntil`. */
export interface RevocationCutoff {
  issuedBefore: string;
  aliveUntil: string;
}

export interface RevocationPlan {
  /** Null when nothing is left to deny: the inline policy should be deleted. */
  text: string | null;
  /** Request ids denied by tag. */
  denied: string[];
  /** Request ids dropped because their sessions can no longer be alive. */
  pruned: string[];
  /** Set when the ids did not fit and a role-wide `aws:TokenIssueTime` cut-off was used instead. */
  cutoff: RevocationCutoff | null;
  fallback: boolean;
  size: number;
}

/** How long a revoked grant's sessions may live: its planned end, but at most an hour and a bit after revoke. */
export function revocationAliveUntil(revokedAt: Date | string, plannedEndAt: string | null): string {
  const bySessionLength = new Date(revokedAt).getTime() + REVOKED_SESSION_LIFETIME_MS;
  const byGrantEnd = plannedEndAt ? new Date(plannedEndAt).getTime() + 300_000 : bySessionLength;
  return new Date(Math.min(bySessionLength, byGrantEnd)).toISOString();
}

const ms = (at: string) => new Date(at).getTime();
const bucketOf = (aliveUntil: string) =>
  new Date(Math.ceil(new Date(aliveUntil).getTime() / REVOCATION_BUCKET_MS) * REVOCATION_BUCKET_MS);
const sidTime = (at: Date | string) => iamTime(at).replace(/[-:]/g, '').replace(/00Z$/, 'Z');

function idStatement(until: Date, ids: string[]): PolicyStatement {
  return {
    Sid: `RevokedUntil${sidTime(until)}`,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: {
      StringEquals: { [`aws:PrincipalTag/${REQUEST_TAG}`]: ids },
      DateLessThan: { 'aws:CurrentTime': iamTime(until) },
    },
  };
}

function cutoffStatement(cutoff: RevocationCutoff): PolicyStatement {
  return {
    Sid: 'RevokeOlderSessions',
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: {
      DateLessThan: {
        'aws:TokenIssueTime': iamTime(cutoff.issuedBefore),
        'aws:CurrentTime': iamTime(cutoff.aliveUntil),
      },
    },
  };
}

const render = (statements: PolicyStatement[]) =>
  JSON.stringify({ Version: IAM_POLICY_VERSION, Statement: statements } satisfies PolicyDocument);

/**
 * The `breakglass-revocations` policy: Deny `*` to sessions tagged with a revoked grant's id while that
 * grant's sessions may still be alive. Each statement also carries its own expiry (`aws:CurrentTime`), so a
 * statement that outlives its purpose denies nothing. When the ids do not fit `budget`, every session of the
 * role issued before `now` is denied instead (`aws:TokenIssueTime`); other grants then need fresh credentials.
 */
export function buildRevocationPolicy(input: {
  entries: RevocationEntry[];
  existingCutoff?: RevocationCutoff | null;
  now: Date;
  budget?: number;
}): RevocationPlan {
  const { now } = input;
  const budget = input.budget ?? INLINE_POLICY_BUDGET;
  const alive = new Map<string, RevocationEntry>();
  const pruned = new Set<string>();
  for (const entry of input.entries) {
    if (new Date(entry.aliveUntil) <= now) {
      pruned.add(entry.requestId);
      continue;
    }
    const seen = alive.get(entry.requestId);
    if (!seen || ms(seen.aliveUntil) < ms(entry.aliveUntil)) {
      alive.set(entry.requestId, { ...entry, revokedAt: entry.revokedAt ?? seen?.revokedAt ?? null });
    }
  }
  for (const id of alive.keys()) pruned.delete(id);

  let cutoff =
    input.existingCutoff && new Date(input.existingCutoff.aliveUntil) > now ? input.existingCutoff : null;
  // An id whose sessions were all issued before a live cut-off (and die before it lapses) is already covered.
  const needed = [...alive.values()].filter(
    (entry) =>
      !(
        cutoff &&
        entry.revokedAt !== null &&
        ms(entry.revokedAt) < ms(cutoff.issuedBefore) &&
        ms(entry.aliveUntil) <= ms(cutoff.aliveUntil)
      ),
  );
  const buckets = new Map<number, string[]>();
  for (const entry of needed) {
    const until = bucketOf(entry.aliveUntil).getTime();
    buckets.set(until, [...(buckets.get(until) ?? []), entry.requestId]);
  }
  const statements = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([until, ids]) => idStatement(new Date(until), ids.sort()));
  const withCutoff = cutoff ? [cutoffStatement(cutoff), ...statements] : statements;
  if (withCutoff.length === 0) {
    return { text: null, denied: [], pruned: [...pruned].sort(), cutoff: null, fallback: false, size: 0 };
  }
  const text = render(withCutoff);
  if (policySize(text) <= budget) {
    return {
      text,
      denied: needed.map((entry) => entry.requestId).sort(),
      pruned: [...pruned].sort(),
      cutoff,
      fallback: false,
      size: policySize(text),
    };
  }
  // Overflow: one role-wide cut-off at `now` covers every revoked grant, since no revoked grant gets
  // credentials after its revocation commits (`credentials.issued` commits only while the grant is active).
  const latest = Math.max(
    ...[...alive.values(), ...(cutoff ? [cutoff] : [])].map((item) => ms(item.aliveUntil)),
  );
  // The next whole second after `now`: TokenIssueTime has second precision and the comparison is strict, so
  // this covers every session issued up to now (and, harmlessly, any issued in the same second).
  cutoff = {
    issuedBefore: iamTime(new Date(now.getTime() + 1000)),
    aliveUntil: new Date(latest).toISOString(),
  };
  const fallbackText = render([cutoffStatement(cutoff)]);
  return {
    text: fallbackText,
    denied: [],
    pruned: [...pruned].sort(),
    cutoff,
    fallback: true,
    size: policySize(fallbackText),
  };
}

/** Reads back a `breakglass-revocations` policy this module wrote (ids with their expiry, and any cut-off). */
export function parseRevocationPolicy(text: string | null): {
  entries: RevocationEntry[];
  cutoff: RevocationCutoff | null;
} {
  if (!text) return { entries: [], cutoff: null };
  let document: { Statement?: unknown };
  try {
    document = JSON.parse(text) as { Statement?: unknown };
  } catch {
    return { entries: [], cutoff: null };
  }
  const statements = Array.isArray(document.Statement) ? (document.Statement as PolicyStatement[]) : [];
  const entries: RevocationEntry[] = [];
  let cutoff: RevocationCutoff | null = null;
  for (const statement of statements) {
    const dates = statement.Condition?.DateLessThan ?? {};
    const until = dates['aws:CurrentTime'];
    if (typeof until !== 'string' || statement.Effect !== 'Deny') continue;
    const issued = dates['aws:TokenIssueTime'];
    if (typeof issued === 'string') {
      if (!cutoff || ms(issued) > ms(cutoff.issuedBefore))
        cutoff = { issuedBefore: issued, aliveUntil: until };
      continue;
    }
    const ids = statement.Condition?.StringEquals?.[`aws:PrincipalTag/${REQUEST_TAG}`];
    for (const id of typeof ids === 'string' ? [ids] : (ids ?? [])) {
      entries.push({ requestId: id, aliveUntil: new Date(until).toISOString(), revokedAt: null });
    }
  }
  return { entries, cutoff };
}

// ---------------------------------------------------------------------------------------------------------
// EventBridge Scheduler

const TRANSITION_CODES: Record<Transition, string> = {
  activate: 'act',
  expire: 'exp',
  timeout: 'tmo',
  review_overdue: 'rev',
};

/**
 * Scheduler fires at minute precision, so a transition is scheduled for the first whole minute at or after
 * it is due: firing early would find nothing due and leave the work to the sweeper.
 */
export function scheduleTime(dueAt: Date | string): Date {
  const ms = new Date(dueAt).getTime();
  return new Date(Math.ceil(ms / 60_000) * 60_000);
}

/** `at(2026-05-01T12:30:00)`, read in `ScheduleExpressionTimezone: UTC`. */
export function atExpression(dueAt: Date | string): string {
  return `at(${scheduleTime(dueAt).toISOString().slice(0, 19)})`;
}

/**
 * One schedule per (grant, transition, due minute): `bg-<requestId>-exp-202605011230`. Embedding the time
 * means an extension creates a new name instead of silently colliding with the old one, and the same name is
 * a valid idempotent `ClientToken` (1-64 of `[a-zA-Z0-9-_]`, a subset of the name charset `[0-9a-zA-Z-_.]`).
 */
export function scheduleName(requestId: string, transition: Transition, dueAt: Date | string): string {
  const when = scheduleTime(dueAt).toISOString().slice(0, 16).replace(/[-:T]/g, '');
  const id = requestId.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 64 - 3 - 4 - 1 - when.length - 1);
  return `bg-${id}-${TRANSITION_CODES[transition]}-${when}`;
}

export interface PlannedTransition {
  transition: Transition;
  at: string;
  name: string;
}

const planned = (request: AccessRequest, transition: Transition, at: string): PlannedTransition => ({
  transition,
  at,
  name: scheduleName(request.id, transition, at),
});

/** The time-driven transitions this request still waits for (what should be scheduled now). */
export function plannedTransitions(request: AccessRequest): PlannedTransition[] {
  const plan: PlannedTransition[] = [];
  if (request.status === 'pending') plan.push(planned(request, 'timeout', request.pendingUntil));
  if (request.status === 'approved' && request.startAt)
    plan.push(planned(request, 'activate', request.startAt));
  if (request.status === 'active' && request.endAt) plan.push(planned(request, 'expire', request.endAt));
  const review = request.postReview;
  if (review && !review.outcome && !review.overdue && request.status !== 'pending') {
    plan.push(planned(request, 'review_overdue', review.dueAt));
  }
  return plan;
}

/** Every schedule this request may have had: its current times and the ends its extensions replaced. */
export function knownSchedules(request: AccessRequest): PlannedTransition[] {
  const known = [planned(request, 'timeout', request.pendingUntil)];
  if (request.startAt) known.push(planned(request, 'activate', request.startAt));
  if (request.endAt) known.push(planned(request, 'expire', request.endAt));
  for (const extension of request.extensions) known.push(planned(request, 'expire', extension.previousEndAt));
  if (request.postReview) known.push(planned(request, 'review_overdue', request.postReview.dueAt));
  return known;
}
