import { requireAuditor } from '../domain/access.js';
import type { AuditEvent, Caller } from '../domain/types.js';
import type { BrokerStore, EventRange } from '../ports/store.js';
import { type AuditVerifyReport, verifyStore } from './audit-verify.js';
import type { RequestService } from './request-service.js';

/** Reading and verifying the audit chain, for auditors. */
export class AuditService {
  constructor(private readonly deps: { store: BrokerStore; requests: RequestService }) {}

  /** Checks the auditor rule (recording a refusal) before any event is read. */
  async authorize(caller: Caller, action: string): Promise<void> {
    await this.deps.requests.guard(caller, action, {}, async () =>
      requireAuditor(this.deps.requests.config, caller),
    );
  }

  /** The stored chain up to its head, without the bunker's digests (`verifyStore` with no bunker). */
  verifyStored(): Promise<AuditVerifyReport> {
    return verifyStore(this.deps.store, null);
  }

  /** A cheap storage round trip for `/readyz`. */
  ping(): Promise<void> {
    return this.deps.store.ping();
  }

  async events(caller: Caller, range: EventRange): Promise<AsyncIterable<AuditEvent>> {
    await this.authorize(caller, 'audit.export');
    return this.deps.store.readEvents(range);
  }
}
