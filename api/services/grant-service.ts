/**
 * The AWS side of a grant: issuing date-conditioned credentials and console sessions to the requester,
 * enforcing early revocation through the target role's `breakglass-revocations` policy, and putting every
 * lifecycle transition on EventBridge Scheduler. Every issue and every refusal is written to the audit chain.
 *
 * A facade over the three use cases in `grants/`: credential issuing, early revocation and schedule sync, so
 * that wiring (`api/compose.ts`) and routes keep one object.
 */

import type { RoleConfig } from '../config/schema.js';
import type { AccessRequest, AuditEventDraft, Caller } from '../domain/types.js';
import type { AssumeRoleInput, IssuedSession } from '../ports/aws.js';
import type { LedgerEntry, TransactionalLedger } from '../ports/revocation-ledger.js';
import type { TransactionContributor } from '../ports/store.js';
import { CredentialIssuing } from './grants/credential-issuing.js';
import { Revocation } from './grants/revocation.js';
import { ScheduleSync } from './grants/schedule-sync.js';
import type {
  ConsoleSession,
  CredentialProcessOutput,
  GrantServiceDeps,
  GrantStatus,
} from './grants/shared.js';

export type { ConsoleSession, CredentialProcessOutput, GrantServiceDeps, GrantStatus, IssuedSession };
export { CredentialIssuing, Revocation, ScheduleSync };

export class GrantService {
  readonly issuing: CredentialIssuing;
  readonly revocation: Revocation;
  readonly schedules: ScheduleSync;

  constructor(readonly deps: GrantServiceDeps) {
    this.issuing = new CredentialIssuing(deps);
    this.revocation = new Revocation(deps);
    this.schedules = new ScheduleSync(deps);
  }

  get simulated(): boolean {
    return this.issuing.simulated;
  }

  /** True when transitions go to EventBridge Scheduler; otherwise the sweeper alone drives time. */
  get schedulingEnabled(): boolean {
    return this.schedules.schedulingEnabled;
  }

  issueCredentials(caller: Caller, id: string): Promise<CredentialProcessOutput> {
    return this.issuing.issueCredentials(caller, id);
  }

  openConsole(caller: Caller, id: string): Promise<ConsoleSession> {
    return this.issuing.openConsole(caller, id);
  }

  grantStatus(caller: Caller, id: string): Promise<GrantStatus> {
    return this.issuing.grantStatus(caller, id);
  }

  assumeRoleInput(request: AccessRequest, role: RoleConfig, now: Date): AssumeRoleInput {
    return this.issuing.assumeRoleInput(request, role, now);
  }

  revocationContributor<W>(ledger: TransactionalLedger<W>): TransactionContributor<W> {
    return this.revocation.revocationContributor(ledger);
  }

  owedRevocation(
    request: AccessRequest,
    events: ReadonlyArray<Pick<AuditEventDraft, 'type' | 'data'>>,
  ): LedgerEntry | null {
    return this.revocation.owedRevocation(request, events);
  }

  get revocationListener() {
    return this.revocation.revocationListener;
  }

  retryRevocations(limit?: number): Promise<number> {
    return this.revocation.retryRevocations(limit);
  }

  get schedulingListener() {
    return this.schedules.schedulingListener;
  }

  syncSchedules(request: AccessRequest): Promise<void> {
    return this.schedules.syncSchedules(request);
  }
}
