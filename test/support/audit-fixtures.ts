/** Generated audit histories, sealed with the real chain code: no DynamoDB needed. */
import { type ChainHead, EMPTY_HEAD, sealEvent } from '../../api/domain/audit-chain.js';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import type { BrokerStore, Committed, EventRange } from '../../api/ports/store.js';

export { generateHistory } from '../../bench/fixtures/audit-history.js';

/** A BrokerStore holding only an audit chain in memory: enough for the shipper, exports and verification. */
export class MemoryChainStore implements Pick<BrokerStore, 'readEvents' | 'chainHead' | 'appendEvents'> {
  readonly events: AuditEvent[] = [];

  constructor(events: Iterable<AuditEvent> = []) {
    for (const event of events) this.events.push(event);
  }

  async chainHead(): Promise<ChainHead> {
    const last = this.events.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : EMPTY_HEAD;
  }

  /** Commits and seals at once (no sealer in these tests). */
  async appendEvents(drafts: AuditEventDraft[]): Promise<Committed> {
    const sealed: AuditEvent[] = [];
    for (const draft of drafts) {
      const event = sealEvent(
        { ...draft, id: `evt_x${this.events.length + 1}`, time: new Date().toISOString(), simulated: true },
        await this.chainHead(),
      );
      this.events.push(event);
      sealed.push(event);
    }
    return { events: sealed, outbox: null };
  }

  async *readEvents(range: EventRange = {}): AsyncIterable<AuditEvent> {
    for (const event of this.events) {
      if (range.fromSeq && event.seq < range.fromSeq) continue;
      if (range.since && event.time < range.since) continue;
      if (range.until && event.time >= range.until) continue;
      yield event;
    }
  }

  /** Appends `count` more generated events continuing the chain. */
  extend(events: Iterable<AuditEvent>): void {
    for (const event of events) this.events.push(event);
  }
}

export const asStore = (store: MemoryChainStore) => store as unknown as BrokerStore;
