import { requireAuditor } from '../domain/access.js';
import { ChainVerifier, type VerifyResult } from '../domain/audit-chain.js';
import type { AuditEvent, Caller } from '../domain/types.js';
import type { BrokerStore, EventRange } from './ports.js';
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

  /**
   * Walks the stored chain in constant memory up to the head read first: events committed while the walk runs
   * lie beyond that head and are left for the next check, so a busy broker never looks truncated.
   */
  async verifyStored(): Promise<VerifyResult> {
    const head = await this.deps.store.chainHead();
    const verifier = new ChainVerifier();
    for await (const event of this.deps.store.readEvents()) {
      if (event.seq > head.seq) break;
      if (!verifier.push(event)) break;
    }
    const result = verifier.result();
    if (!result.ok) return result;
    // A chain that verifies but stops short of the head has lost its newest events.
    if (head.seq !== result.lastSeq) {
      return {
        ok: false,
        events: result.events,
        firstBadSeq: result.lastSeq + 1,
        reason: 'seq_gap',
        detail: `chain head is at seq ${head.seq} but the log ends at ${result.lastSeq}`,
      };
    }
    if (head.hash !== result.lastHash) {
      return {
        ok: false,
        events: result.events,
        firstBadSeq: result.lastSeq,
        reason: 'hash_mismatch',
        detail: 'the last event does not match the chain head',
      };
    }
    return result;
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
