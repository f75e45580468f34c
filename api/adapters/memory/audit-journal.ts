/** The audit journal in memory: the twin of DynamoStore's sealer side, for unit tests of the Sealer. */
import { type ChainHead, EMPTY_HEAD } from '../../domain/audit-chain.js';
import type { AuditEvent, CommittedEvent } from '../../domain/types.js';
import {
  type AuditJournal,
  type EntryRef,
  type SealBacklog,
  SealConflict,
  type UnsealedFound,
} from '../../ports/audit-journal.js';

export class MemoryAuditJournal implements AuditJournal {
  readonly sealBatchLimit: number;
  readonly chain: AuditEvent[] = [];
  private readonly entries = new Map<string, { event: CommittedEvent; seq?: number }>();
  /** Entries the unsealed index still lists after they were sealed (DynamoDB's index lags the table). */
  readonly staleIndex = new Set<string>();
  /** Moves the head behind the sealer's back before the next `seal` (a second sealer won the race). */
  interloper: (() => void) | null = null;
  /** Counts looks at the journal (`unsealed`), for tests of how often the sealer looks. */
  looks = 0;

  constructor(options: { sealBatchLimit?: number } = {}) {
    this.sealBatchLimit = options.sealBatchLimit ?? 49;
  }

  commit(event: CommittedEvent): void {
    this.entries.set(event.id, { event });
  }

  async chainHead(): Promise<ChainHead> {
    const last = this.chain.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : EMPTY_HEAD;
  }

  async unsealed(limit: number): Promise<UnsealedFound> {
    this.looks += 1;
    const head = await this.chainHead();
    const listed = [...this.entries.values()]
      .filter((entry) => entry.seq === undefined || this.staleIndex.has(entry.event.id))
      .sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
    const entries = listed
      .slice(0, limit)
      .map((entry) => ({ event: entry.event, ref: { pk: 'EVT', sk: entry.event.id } }));
    return { head, entries, complete: listed.length <= limit };
  }

  async seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void> {
    const interloper = this.interloper;
    this.interloper = null;
    interloper?.();
    const head = await this.chainHead();
    if (head.seq !== from.seq || head.hash !== from.hash) throw new SealConflict('head');
    const sealedAlready = batch.filter(({ ref }) => this.entries.get(ref.sk)?.seq !== undefined);
    if (sealedAlready.length > 0)
      throw new SealConflict(
        'entry',
        sealedAlready.map(({ ref }) => ref),
      );
    for (const { ref, event } of batch) {
      this.chain.push(event);
      this.entries.get(ref.sk)!.seq = event.seq;
    }
  }

  async backlog(): Promise<SealBacklog> {
    const waiting = [...this.entries.values()].filter((entry) => entry.seq === undefined);
    const oldest = waiting.map((entry) => entry.event.time).sort()[0];
    return { count: waiting.length, oldestTime: oldest ?? null };
  }
}
