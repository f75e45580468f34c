/**
 * Which revoked grants must still be denied on which role. The ledger, not the IAM policy, is the source of
 * truth: every writer recomputes the whole `breakglass-revocations` policy from it and re-checks it after
 * writing, so concurrent revocations on one role cannot lose each other's entries (no lock needed).
 */
export interface LedgerEntry {
  roleArn: string;
  requestId: string;
  revokedAt: string;
  /** When the grant's last possible session ends; the entry is irrelevant afterwards. */
  aliveUntil: string;
  /** The sweeper leaves the entry to the revoking process until then. */
  retryAfter: string;
}

export interface RevocationLedger {
  /** Adds the entry and marks it as waiting to be applied. */
  record(entry: LedgerEntry): Promise<void>;
  /** Entries of the role that are still alive at `now`. */
  alive(roleArn: string, now: Date): Promise<LedgerEntry[]>;
  /** Entries (of any role) not yet confirmed as applied whose `retryAfter` has passed. */
  pending(limit: number, now: Date): Promise<LedgerEntry[]>;
  /**
   * Marks entries as applied; returns the ones this call settled (each entry is settled exactly once, so
   * concurrent writers do not both record it as applied).
   */
  settle<T extends Pick<LedgerEntry, 'roleArn' | 'requestId'>>(entries: T[]): Promise<T[]>;
}

/**
 * A ledger whose writes can join another commit's transaction (see `TransactionContributor` in ports.ts): the
 * entry and its pending marker go into the transaction that commits `grant.revoked`, and the marker's removal
 * into the one that records `revocation.applied`. `W` is the store's write type.
 */
export interface TransactionalLedger<W> extends RevocationLedger {
  /** What `record` writes: the entry and its pending marker. Unconditional, so a retried commit is harmless. */
  recordWrites(entry: LedgerEntry): W[];
  /** Removes the pending marker only if it is still there; its condition failing cancels the commit. */
  settleWrites(entry: Pick<LedgerEntry, 'roleArn' | 'requestId'>): W[];
}
