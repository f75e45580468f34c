import { requireAuditor } from '../domain/access.js';
import type { AuditEvent, Caller } from '../domain/types.js';
import type { AuditRead, AuditReads } from './audit-reads.js';
import { type AuditVerifyReport, verifyStore } from './audit-verify.js';
import { type BrokerStore, type Clock, type EventRange, systemClock } from './ports.js';
import type { RequestService } from './request-service.js';

/** Reading and verifying the audit chain, for auditors. */
export class AuditService {
  constructor(
    private readonly deps: {
      store: BrokerStore;
      requests: RequestService;
      reads?: AuditReads;
      clock?: Clock;
    },
  ) {}

  /** The broker's clock: a report says what is active "now" in the same time its events were written in. */
  now(): Date {
    return (this.deps.clock ?? systemClock).now();
  }

  /** Records an export, report or verify by a person as `audit.read` (aggregated; see audit-reads.ts). */
  async recordRead(caller: Caller, read: AuditRead): Promise<void> {
    await this.deps.reads?.record(caller, read);
  }

  /** Writes the `audit.read` summaries of windows still open (shutdown, tests). */
  async flushReads(): Promise<void> {
    await this.deps.reads?.flush();
  }

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
