/**
 * The AWS side of a grant: issuing date-conditioned credentials and console sessions to the requester,
 * enforcing early revocation through the target role's `breakglass-revocations` policy, and putting every
 * lifecycle transition on EventBridge Scheduler. Every issue and every refusal is written to the audit chain.
 */
import { partitionOf, roleNameOf } from '../adapters/aws/errors.js';
import type { AssumeRoleInput, AwsAdapters, IssuedSession, RolePolicies } from '../adapters/aws/ports.js';
import type { BreakglassConfig, RoleConfig } from '../config/schema.js';
import { isOwnRequest, isRequesterFor, requireMfa } from '../domain/access.js';
import { DomainError } from '../domain/errors.js';
import { findRole } from '../domain/lifecycle.js';
import {
  atExpression,
  buildRevocationPolicy,
  effectiveExpiration,
  knownSchedules,
  type PlannedTransition,
  parseRevocationPolicy,
  plannedTransitions,
  REQUEST_TAG,
  REQUESTER_TAG,
  REVOCATION_POLICY_NAME,
  type RevocationPlan,
  revocationAliveUntil,
  roleSessionName,
  sessionDurationSeconds,
  sessionPolicy,
  sessionTagValue,
  sourceIdentity,
} from '../domain/policies.js';
import {
  type AccessRequest,
  type Actor,
  type AuditEvent,
  type AuditEventDraft,
  actorOf,
  type Caller,
} from '../domain/types.js';
import type { Logger } from './logger.js';
import {
  type BrokerStore,
  type Clock,
  ConcurrentUpdateError,
  type PendingCommit,
  type TransactionContributor,
} from './ports.js';
import type { RequestService } from './request-service.js';
import type { LedgerEntry, RevocationLedger, TransactionalLedger } from './revocation-ledger.js';

/** Exactly what a `credential_process` prints: nothing more, nothing less. */
export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

export interface ConsoleSession {
  url: string;
  /** When the console stops working: the session duration or the grant end, whichever is first. */
  expiresAt: string;
  /** The sign-in URL itself must be opened before this (AWS: 15 minutes). */
  signinUrlExpiresAt: string;
  simulated: boolean;
}

/** What a CLI needs to decide whether its cached credentials still serve: one small read, no AWS call. */
export interface GrantStatus {
  id: string;
  roleId: string;
  status: AccessRequest['status'];
  /** Active and inside its window: credentials issued for it still work (unless revoked by a cut-off). */
  active: boolean;
  endAt: string | null;
  /**
   * The latest revocation still denied on this grant's role. A revocation that overflows the inline-policy budget
   * denies every session of the role issued before it (`aws:TokenIssueTime`), so credentials fetched before this
   * instant may be cut off and should be fetched again.
   */
  lastRevocationOnRoleAt: string | null;
}

export interface GrantServiceDeps {
  config: BreakglassConfig;
  requests: RequestService;
  store: BrokerStore;
  aws: AwsAdapters;
  ledger: RevocationLedger;
  clock: Clock;
  logger: Logger;
  /** The broker's public URL, shown as the console sign-in `Issuer`. */
  publicUrl: string;
}

const SYSTEM: Actor = { type: 'system', subject: 'grants' };
const SIGNIN_URL_LIFETIME_MS = 15 * 60_000;
/** Rebuilding the policy after a concurrent revocation; more than a handful means something is wrong. */
const MAX_REVOCATION_ROUNDS = 5;
/** How long the revoking process has to apply a revocation before the sweeper retries it. */
const RETRY_GRACE_MS = 60_000;

/** Lifecycle events after which the set of due schedules can change. */
const SCHEDULE_TRIGGERS = new Set<AuditEvent['type']>([
  'request.created',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.timed_out',
  'grant.activated',
  'grant.extended',
  'grant.expired',
  'grant.revoked',
  'grant.failed',
  'emergency.activated',
  'review.recorded',
  'review.overdue',
]);

function eventFor(
  request: Pick<AccessRequest, 'id' | 'roleId' | 'accountId'>,
  type: AuditEventDraft['type'],
  actor: Actor,
  data: Record<string, unknown>,
): AuditEventDraft {
  return { type, actor, requestId: request.id, roleId: request.roleId, accountId: request.accountId, data };
}

export class GrantService {
  constructor(private readonly deps: GrantServiceDeps) {}

  get simulated(): boolean {
    return this.deps.aws.mode === 'simulated';
  }

  /** True when transitions go to EventBridge Scheduler; otherwise the sweeper alone drives time. */
  get schedulingEnabled(): boolean {
    const scheduler = this.deps.config.aws.scheduler;
    return this.deps.aws.mode === 'live' && Boolean(scheduler.targetArn && scheduler.roleArn);
  }

  /** `credential_process` credentials for the requester's own active grant. */
  async issueCredentials(caller: Caller, id: string): Promise<CredentialProcessOutput> {
    const { request, role, session, input, policyEnd } = await this.assume(caller, id, 'credentials');
    const expiration = effectiveExpiration(session.expiration, policyEnd);
    await this.deps.requests.record([
      eventFor(request, 'credentials.issued', actorOf(caller), {
        accessKeyId: session.accessKeyId,
        expiration: expiration.toISOString(),
        stsExpiration: session.expiration.toISOString(),
        stsRequestId: session.stsRequestId,
        sessionPolicy: input.policy,
        policyArns: input.policyArns,
        // A documented opt-in: the session may assume further roles, which carry neither the hard stop nor the tag.
        allowRoleChaining: role.allowRoleChaining,
        durationSeconds: input.durationSeconds,
        roleSessionName: input.roleSessionName,
        sourceIdentity: input.sourceIdentity,
        assumedRoleArn: session.assumedRoleArn,
        packedPolicySize: session.packedPolicySize,
      }),
    ]);
    return {
      Version: 1,
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: expiration.toISOString(),
    };
  }

  /**
   * A console sign-in URL for the requester's own active grant. The console session lasts as long as the
   * credentials it is made from (no `SessionDuration` can be sent with chained credentials): the rest of the
   * grant within [900, 3600] seconds. When less than 15 minutes remain it outlives the grant, but the session
   * policy denies every action from the grant's end.
   */
  async openConsole(caller: Caller, id: string): Promise<ConsoleSession> {
    const { request, role, session, input, policyEnd, now } = await this.assume(caller, id, 'console');
    let token: string;
    try {
      token = await this.deps.aws.federation.signinToken(session, request.roleArn);
    } catch (error) {
      await this.recordRefusal(caller, request, id, 'console', error);
      throw error;
    }
    const url = this.deps.aws.federation.loginUrl(
      token,
      request.roleArn,
      this.deps.publicUrl,
      this.deps.config.aws.region,
    );
    const expiresAt = effectiveExpiration(session.expiration, policyEnd);
    const signinUrlExpiresAt = new Date(now.getTime() + SIGNIN_URL_LIFETIME_MS).toISOString();
    await this.deps.requests.record([
      eventFor(request, 'console.issued', actorOf(caller), {
        accessKeyId: session.accessKeyId,
        durationSeconds: input.durationSeconds,
        expiresAt: expiresAt.toISOString(),
        signinUrlExpiresAt,
        stsExpiration: session.expiration.toISOString(),
        stsRequestId: session.stsRequestId,
        sessionPolicy: input.policy,
        policyArns: input.policyArns,
        allowRoleChaining: role.allowRoleChaining,
        roleSessionName: input.roleSessionName,
        sourceIdentity: input.sourceIdentity,
      }),
    ]);
    return { url, expiresAt: expiresAt.toISOString(), signinUrlExpiresAt, simulated: this.simulated };
  }

  /** Whether the requester's own grant still serves cached credentials (read-only, not audited). */
  async grantStatus(caller: Caller, id: string): Promise<GrantStatus> {
    const request = await this.deps.store.getRequest(id);
    if (!request) throw new DomainError('not_found', `no request ${id}`);
    if (!isOwnRequest(request, caller)) {
      throw new DomainError('forbidden', 'only the requester can check this grant');
    }
    const now = this.deps.clock.now();
    const active =
      request.status === 'active' &&
      Boolean(request.startAt && request.endAt) &&
      now >= new Date(request.startAt!) &&
      now < new Date(request.endAt!);
    const revocations = await this.deps.ledger.alive(request.roleArn, now);
    const latest =
      revocations
        .map((entry) => entry.revokedAt)
        .sort()
        .at(-1) ?? null;
    return {
      id: request.id,
      roleId: request.roleId,
      status: request.status,
      active,
      endAt: request.endAt ?? null,
      lastRevocationOnRoleAt: latest,
    };
  }

  /** The checks and the AssumeRole call shared by credentials and console; refusals are recorded here. */
  private async assume(caller: Caller, id: string, purpose: 'credentials' | 'console') {
    const request = await this.deps.store.getRequest(id);
    try {
      if (!request) throw new DomainError('not_found', `no request ${id}`);
      const role = await this.deps.requests.guard(
        caller,
        `${purpose}.issue`,
        { requestId: id, roleId: request.roleId },
        async () => this.eligibleRole(request, caller, purpose),
      );
      const now = this.deps.clock.now();
      this.requireWindow(request, now);
      const policyEnd = request.endAt!;
      const input = this.assumeRoleInput(request, role, now);
      const session = await this.deps.aws.sts.assumeRole(input);
      // A revocation (or expiry) that committed while AssumeRole was in flight wins: these credentials are
      // never handed out, which is what lets revocation cover everything issued before it.
      const after = await this.deps.store.getRequest(id);
      if (!after) throw new DomainError('not_found', `no request ${id}`);
      this.requireWindow(after, this.deps.clock.now());
      return { request, role, session, input, policyEnd, now };
    } catch (error) {
      await this.recordRefusal(caller, request, id, purpose, error);
      throw error;
    }
  }

  private eligibleRole(request: AccessRequest, caller: Caller, purpose: string): RoleConfig {
    if (!isOwnRequest(request, caller)) {
      throw new DomainError('forbidden', `only the requester can get ${purpose} for this grant`);
    }
    const role = findRole(this.deps.config, request.roleId);
    if (!role) throw new DomainError('unknown_role', `role ${request.roleId} is no longer configured`);
    // Groups come from the token of this call, so removing someone from the group stops issuing at once.
    if (!isRequesterFor(role, caller)) {
      throw new DomainError('not_requester', `you are no longer in a group allowed to use ${role.id}`, {
        roleId: role.id,
      });
    }
    requireMfa(this.deps.config, caller, purpose === 'console' ? 'console access' : 'fetching credentials');
    return role;
  }

  private requireWindow(request: AccessRequest, now: Date): void {
    // `requestStatus`, not `status`: that member of a problem document is the HTTP status.
    if (request.status !== 'active' || !request.startAt || !request.endAt) {
      throw new DomainError('grant_not_active', `the grant is ${request.status}, not active`, {
        requestStatus: request.status,
      });
    }
    if (now < new Date(request.startAt) || now >= new Date(request.endAt)) {
      throw new DomainError(
        'grant_not_active',
        `the grant is valid from ${request.startAt} to ${request.endAt}`,
        {
          requestStatus: request.status,
          startAt: request.startAt,
          endAt: request.endAt,
        },
      );
    }
  }

  /** The exact AssumeRole parameters for a grant at `now`. */
  assumeRoleInput(request: AccessRequest, role: RoleConfig, now: Date): AssumeRoleInput {
    const externalId = this.deps.config.aws.externalId;
    return {
      roleArn: request.roleArn,
      roleSessionName: roleSessionName(request.requester.email, request.id),
      sourceIdentity: sourceIdentity(request.requester.email),
      tags: [
        { Key: REQUEST_TAG, Value: request.id },
        { Key: REQUESTER_TAG, Value: sessionTagValue(request.requester.email) },
      ],
      ...(externalId ? { externalId } : {}),
      policy: sessionPolicy(request.endAt!, {
        managedSessionPolicies: role.sessionPolicyArns.length > 0,
        allowRoleChaining: role.allowRoleChaining,
      }),
      policyArns: [...role.sessionPolicyArns],
      durationSeconds: sessionDurationSeconds(now, request.endAt!),
    };
  }

  private async recordRefusal(
    caller: Caller,
    request: AccessRequest | null,
    id: string,
    purpose: 'credentials' | 'console',
    error: unknown,
  ): Promise<void> {
    const code = error instanceof DomainError ? error.code : 'internal';
    const data: Record<string, unknown> = {
      purpose,
      reason: code,
      detail: error instanceof DomainError ? error.message : 'internal error',
      ...(error instanceof DomainError && typeof error.extra.awsError === 'string'
        ? { awsError: error.extra.awsError }
        : {}),
    };
    try {
      await this.deps.requests.record([
        request
          ? eventFor(request, 'credentials.refused', actorOf(caller), data)
          : { type: 'credentials.refused', actor: actorOf(caller), data: { ...data, requestedId: id } },
      ]);
    } catch (recordError) {
      this.deps.logger.error({ err: recordError, requestId: id }, 'could not record credentials.refused');
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Early revocation

  /**
   * True once `revocationContributor` was handed to the store: the ledger entry then commits with
   * `grant.revoked` itself and each `revocation.applied` with the removal of its pending marker. Without it
   * (a wiring that registers no contributor) the listener records the entry after the commit, as a fallback.
   */
  private ledgerInTransaction = false;

  /**
   * The store contributor that makes early revocation durable and its outcome recorded exactly once:
   * - with a commit whose events revoke an active grant, the ledger entry and its pending marker, so the
   *   obligation to revoke exists from the moment `grant.revoked` does (a crash before the listener runs leaves
   *   it to the sweeper's retry);
   * - with a `revocation.applied` event, the conditional removal of that entry's pending marker, so the event
   *   and the settlement commit together: whoever removes the marker records the event, a lost audit write
   *   leaves the marker for the sweeper, and a second writer's commit is cancelled instead of duplicating it.
   * Register the result on the store (`DynamoStore.addContributor`); `ledger` must be this service's ledger.
   */
  revocationContributor<W>(ledger: TransactionalLedger<W>): TransactionContributor<W> {
    if (ledger !== this.deps.ledger)
      throw new Error('the contributor must write to the grant service ledger');
    this.ledgerInTransaction = true;
    return {
      name: 'aws-revocation-ledger',
      writesFor: (commit: PendingCommit): W[] => {
        const writes: W[] = [];
        const owed = commit.request ? this.owedRevocation(commit.request, commit.events) : null;
        if (owed) writes.push(...ledger.recordWrites(owed));
        for (const event of commit.events) {
          if (event.type !== 'revocation.applied' || !event.requestId) continue;
          if (typeof event.data.roleArn !== 'string') continue;
          writes.push(...ledger.settleWrites({ roleArn: event.data.roleArn, requestId: event.requestId }));
        }
        return writes;
      },
    };
  }

  /** The ledger entry a change makes owed: only `grant.revoked` of a grant that was active. Pure. */
  owedRevocation(
    request: AccessRequest,
    events: ReadonlyArray<Pick<AuditEventDraft, 'type' | 'data'>>,
  ): LedgerEntry | null {
    const revoked = events.find((event) => event.type === 'grant.revoked');
    if (revoked?.data.wasActive !== true || !request.revocation) return null;
    const now = this.deps.clock.now();
    const revokedAt = request.revocation.at ?? now.toISOString();
    return {
      roleArn: request.roleArn,
      requestId: request.id,
      revokedAt,
      aliveUntil: revocationAliveUntil(revokedAt, request.endAt),
      // This process applies it right away; the sweeper steps in only if it has not settled by then.
      retryAfter: new Date(now.getTime() + RETRY_GRACE_MS).toISOString(),
    };
  }

  /** Applies revocations after `grant.revoked` of an active grant commits. */
  readonly revocationListener = {
    name: 'aws-revocation',
    afterChange: async (request: AccessRequest, events: AuditEvent[]): Promise<void> => {
      const entry = this.owedRevocation(request, events);
      if (entry) await this.revoke(entry);
    },
  };

  /** Writes the role's revocation policy (recording the ledger entry first when no commit carried it). */
  private async revoke(entry: LedgerEntry): Promise<void> {
    if (!this.ledgerInTransaction) {
      try {
        await this.deps.ledger.record(entry);
      } catch (error) {
        // Without its ledger entry the sweeper cannot retry; the audit log must show the gap.
        this.deps.logger.error({ err: error, requestId: entry.requestId }, 'could not record the revocation');
        await this.deps.requests.record([
          this.revocationEvent(entry, 'revocation.failed', {
            roleArn: entry.roleArn,
            policyName: REVOCATION_POLICY_NAME,
            attempt: 1,
            reason: 'ledger_unavailable',
            detail: 'the revocation could not be stored; re-run the revoke or apply it by hand',
          }),
        ]);
        return;
      }
    }
    await this.applyRole(entry.roleArn, [entry], 1);
  }

  /** Retries every revocation not yet applied (the sweeper calls this); returns how many were settled. */
  async retryRevocations(limit = 200): Promise<number> {
    const pending = await this.deps.ledger.pending(limit, this.deps.clock.now());
    const byRole = new Map<string, LedgerEntry[]>();
    for (const entry of pending) byRole.set(entry.roleArn, [...(byRole.get(entry.roleArn) ?? []), entry]);
    let settled = 0;
    for (const [roleArn, entries] of byRole) settled += await this.applyRole(roleArn, entries, 2);
    return settled;
  }

  /**
   * Recomputes the whole policy from the ledger (plus what the role's policy already says), writes it, and
   * checks the ledger again: an entry added meanwhile by another writer triggers another round. Returns how
   * many of `waiting` this call settled (and so recorded as `revocation.applied`).
   *
   * The after-commit listener and the sweeper's retry may both get here for the same entry (the sweeper once
   * the grace period has passed while the listener is still working, or two sweepers at once). Both may write
   * the policy (harmless: each write contains every live entry), but only the one whose commit removes the
   * pending marker records `revocation.applied`, so each revocation is recorded as applied exactly once.
   */
  private async applyRole(roleArn: string, waiting: LedgerEntry[], attempt: number): Promise<number> {
    const roleName = roleNameOf(roleArn);
    const iam = this.iamFor(roleArn);
    let plan: RevocationPlan | null = null;
    try {
      for (let round = 0; round < MAX_REVOCATION_ROUNDS; round++) {
        const now = this.deps.clock.now();
        const entries = await this.deps.ledger.alive(roleArn, now);
        const current = parseRevocationPolicy(await iam.getRolePolicy(roleName, REVOCATION_POLICY_NAME));
        plan = buildRevocationPolicy({
          entries: [...entries, ...current.entries],
          existingCutoff: current.cutoff,
          now,
        });
        plan = await this.writePolicy(iam, roleName, plan, entries, current.cutoff, now);
        const after = await this.deps.ledger.alive(roleArn, this.deps.clock.now());
        if (after.every((entry) => covers(plan!, entry))) break;
        if (round === MAX_REVOCATION_ROUNDS - 1) {
          throw new DomainError('aws_conflict', 'the revocation policy kept changing while it was written');
        }
      }
    } catch (error) {
      const failure = error instanceof DomainError ? error : null;
      this.deps.logger.error({ err: error, roleArn }, 'revocation failed; the sweeper will retry');
      await this.deps.requests.record(
        waiting.map((entry) =>
          this.revocationEvent(entry, 'revocation.failed', {
            roleArn,
            policyName: REVOCATION_POLICY_NAME,
            attempt,
            reason: failure?.code ?? 'internal',
            detail: failure?.message ?? 'internal error',
            ...(typeof failure?.extra.awsError === 'string' ? { awsError: failure.extra.awsError } : {}),
            retry: 'the sweeper retries until it is applied',
          }),
        ),
      );
      return 0;
    }
    const applied = plan!;
    const appliedEvent = (entry: LedgerEntry) =>
      this.revocationEvent(entry, 'revocation.applied', {
        roleArn,
        policyName: REVOCATION_POLICY_NAME,
        policy: applied.text,
        fallback: applied.fallback,
        cutoff: applied.cutoff,
        denied: applied.denied,
        pruned: applied.pruned,
        aliveUntil: entry.aliveUntil,
        // True when the grant's sessions had all ended before the policy could be written.
        lapsed: new Date(entry.aliveUntil) <= this.deps.clock.now(),
        attempt,
      });
    if (!this.ledgerInTransaction) {
      // Only the writer that settles an entry records it, so a concurrent retry does not record it twice.
      const settled = await this.deps.ledger.settle(waiting);
      if (settled.length === 0) return 0;
      await this.deps.requests.record(settled.map(appliedEvent));
      return settled.length;
    }
    // Each event commits with the removal of its entry's pending marker (the contributor adds it), one entry per
    // commit so that one already settled by another writer does not cancel the others.
    let settled = 0;
    for (const entry of waiting) {
      try {
        await this.deps.requests.record([appliedEvent(entry)]);
        settled += 1;
      } catch (error) {
        // The marker was gone: another writer settled and recorded this entry.
        if (error instanceof ConcurrentUpdateError) continue;
        // Neither the event nor the settlement committed: the marker stays and the sweeper retries.
        this.deps.logger.error(
          { err: error, requestId: entry.requestId, roleArn },
          'policy written but revocation.applied could not be recorded; the sweeper retries',
        );
      }
    }
    return settled;
  }

  /** IAM in the target role's own account (through its revoker role when configured). */
  private iamFor(roleArn: string): RolePolicies {
    const accountId = roleArn.split(':')[4] ?? '';
    return this.deps.aws.iamForAccount?.(accountId, partitionOf(roleArn)) ?? this.deps.aws.iam;
  }

  /** PutRolePolicy (or delete when nothing is left); an IAM size refusal falls back to the role-wide cut-off. */
  private async writePolicy(
    iam: RolePolicies,
    roleName: string,
    plan: RevocationPlan,
    entries: LedgerEntry[],
    existingCutoff: RevocationPlan['cutoff'],
    now: Date,
  ): Promise<RevocationPlan> {
    if (plan.text === null) {
      await iam.deleteRolePolicy(roleName, REVOCATION_POLICY_NAME);
      return plan;
    }
    try {
      await iam.putRolePolicy(roleName, REVOCATION_POLICY_NAME, plan.text);
      return plan;
    } catch (error) {
      // Other inline policies on the role share the 10,240-character quota.
      if (!(error instanceof DomainError && error.code === 'aws_policy_too_large') || plan.fallback)
        throw error;
      const fallback = buildRevocationPolicy({ entries, existingCutoff, now, budget: 0 });
      await iam.putRolePolicy(roleName, REVOCATION_POLICY_NAME, fallback.text!);
      return fallback;
    }
  }

  private revocationEvent(
    entry: LedgerEntry,
    type: 'revocation.applied' | 'revocation.failed',
    data: Record<string, unknown>,
  ): AuditEventDraft {
    const role = this.deps.config.roles.find((candidate) => candidate.roleArn === entry.roleArn);
    return {
      type,
      actor: SYSTEM,
      requestId: entry.requestId,
      ...(role ? { roleId: role.id, accountId: role.accountId } : {}),
      data,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // EventBridge Scheduler

  /** Creates the schedules a change calls for and deletes the ones it made stale. */
  readonly schedulingListener = {
    name: 'aws-scheduler',
    afterChange: async (request: AccessRequest, events: AuditEvent[]): Promise<void> => {
      if (!this.schedulingEnabled || !events.some((event) => SCHEDULE_TRIGGERS.has(event.type))) return;
      await this.syncSchedules(request);
    },
  };

  async syncSchedules(request: AccessRequest): Promise<void> {
    const now = this.deps.clock.now();
    const wanted = plannedTransitions(request);
    const wantedNames = new Set(wanted.map((item) => item.name));
    const events: AuditEventDraft[] = [];
    for (const item of wanted) {
      // A due time already passed is the sweeper's job; Scheduler refuses at() in the past anyway.
      if (new Date(item.at) <= now) continue;
      const event = await this.createSchedule(request, item);
      if (event) events.push(event);
    }
    const stale = knownSchedules(request).filter(
      (item, index, all) =>
        !wantedNames.has(item.name) &&
        new Date(item.at) > now &&
        all.findIndex((other) => other.name === item.name) === index,
    );
    for (const item of stale) {
      const event = await this.deleteSchedule(request, item);
      if (event) events.push(event);
    }
    if (events.length > 0) await this.deps.requests.record(events);
  }

  private async createSchedule(
    request: AccessRequest,
    item: PlannedTransition,
  ): Promise<AuditEventDraft | null> {
    const scheduler = this.deps.config.aws.scheduler;
    const expression = atExpression(item.at);
    const common = { name: item.name, group: scheduler.group, transition: item.transition, dueAt: item.at };
    try {
      const result = await this.deps.aws.scheduler.createSchedule({
        name: item.name,
        group: scheduler.group,
        expression,
        targetArn: scheduler.targetArn!,
        roleArn: scheduler.roleArn!,
        ...(scheduler.deadLetterArn ? { deadLetterArn: scheduler.deadLetterArn } : {}),
        input: JSON.stringify({ requestId: request.id, transition: item.transition }),
        description: `breakglass ${item.transition} ${request.id}`,
      });
      return result === 'created'
        ? eventFor(request, 'schedule.created', SYSTEM, { ...common, expression })
        : null;
    } catch (error) {
      return this.scheduleFailure(request, 'create', common, error);
    }
  }

  private async deleteSchedule(
    request: AccessRequest,
    item: PlannedTransition,
  ): Promise<AuditEventDraft | null> {
    const group = this.deps.config.aws.scheduler.group;
    try {
      const result = await this.deps.aws.scheduler.deleteSchedule(item.name, group);
      this.deps.logger.info({ requestId: request.id, schedule: item.name, result }, 'stale schedule removed');
      return null;
    } catch (error) {
      // A stale schedule that stays behind is harmless: the transition handler finds nothing due.
      return this.scheduleFailure(
        request,
        'delete',
        { name: item.name, group, transition: item.transition, dueAt: item.at },
        error,
      );
    }
  }

  private scheduleFailure(
    request: AccessRequest,
    operation: 'create' | 'delete',
    common: Record<string, unknown>,
    error: unknown,
  ): AuditEventDraft {
    const failure = error instanceof DomainError ? error : null;
    this.deps.logger.warn(
      { err: error, requestId: request.id, schedule: common.name, operation },
      'schedule call failed; the sweeper covers this transition',
    );
    return eventFor(request, 'schedule.failed', SYSTEM, {
      ...common,
      operation,
      reason: failure?.code ?? 'internal',
      ...(typeof failure?.extra.awsError === 'string' ? { awsError: failure.extra.awsError } : {}),
      fallback: 'sweeper',
    });
  }
}

/** True when the written policy denies the entry's sessions (by tag, or by a cut-off issued after it). */
function covers(plan: RevocationPlan, entry: LedgerEntry): boolean {
  if (plan.denied.includes(entry.requestId)) return true;
  return (
    plan.cutoff !== null &&
    new Date(entry.revokedAt) < new Date(plan.cutoff.issuedBefore) &&
    new Date(entry.aliveUntil) <= new Date(plan.cutoff.aliveUntil)
  );
}

export type { IssuedSession };
