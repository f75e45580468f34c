/**
 * Early revocation: the ledger entry that commits with `grant.revoked`, and the target role's
 * `breakglass-revocations` policy written from it (retried by the sweeper until applied).
 */

import { DomainError } from '../../domain/errors.js';
import {
  buildRevocationPolicy,
  parseRevocationPolicy,
  REVOCATION_POLICY_NAME,
  type RevocationPlan,
  revocationAliveUntil,
} from '../../domain/policies.js';
import type { AccessRequest, AuditEventDraft, CommittedEvent } from '../../domain/types.js';
import type { RolePolicies } from '../../ports/aws.js';
import { partitionOf, roleNameOf } from '../../ports/aws-errors.js';
import type { LedgerEntry, TransactionalLedger } from '../../ports/revocation-ledger.js';
import { ConcurrentUpdateError, type PendingCommit, type TransactionContributor } from '../../ports/store.js';
import { type GrantServiceDeps, SYSTEM } from './shared.js';

/** Rebuilding the policy after a concurrent revocation; more than a handful means something is wrong. */
const MAX_REVOCATION_ROUNDS = 5;
/** How long the revoking process has to apply a revocation before the sweeper retries it. */
const RETRY_GRACE_MS = 60_000;

export class Revocation {
  constructor(private readonly deps: GrantServiceDeps) {}

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
    wants: (events: AuditEventDraft[]): boolean => events.some((event) => event.type === 'grant.revoked'),
    afterChange: async (request: AccessRequest, events: CommittedEvent[]): Promise<void> => {
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
