import type { LedgerEntry, TransactionalLedger } from '../../ports/revocation-ledger.js';

/** A write for `MemoryStore` (test/unit/aws-support.ts): checked, then applied with the rest of its commit. */
export interface MemoryWrite {
  check(): boolean;
  apply(): void;
}

/** In-memory twin for unit tests. */
export class MemoryRevocationLedger implements TransactionalLedger<MemoryWrite> {
  readonly entries = new Map<string, LedgerEntry>();
  readonly waiting = new Set<string>();

  async record(entry: LedgerEntry): Promise<void> {
    for (const write of this.recordWrites(entry)) write.apply();
  }

  recordWrites(entry: LedgerEntry): MemoryWrite[] {
    const key = `${entry.roleArn}#${entry.requestId}`;
    return [
      {
        check: () => true,
        apply: () => {
          this.entries.set(key, entry);
          this.waiting.add(key);
        },
      },
    ];
  }

  settleWrites(entry: Pick<LedgerEntry, 'roleArn' | 'requestId'>): MemoryWrite[] {
    const key = `${entry.roleArn}#${entry.requestId}`;
    return [{ check: () => this.waiting.has(key), apply: () => this.waiting.delete(key) }];
  }

  async alive(roleArn: string, now: Date): Promise<LedgerEntry[]> {
    return [...this.entries.values()].filter(
      (entry) => entry.roleArn === roleArn && new Date(entry.aliveUntil) > now,
    );
  }

  async pending(limit: number, now: Date): Promise<LedgerEntry[]> {
    return [...this.waiting]
      .map((key) => this.entries.get(key)!)
      .filter((entry) => new Date(entry.retryAfter) <= now)
      .slice(0, limit);
  }

  async settle<T extends Pick<LedgerEntry, 'roleArn' | 'requestId'>>(entries: T[]): Promise<T[]> {
    return entries.filter((entry) => this.waiting.delete(`${entry.roleArn}#${entry.requestId}`));
  }
}
