/** The unsealed journal and the sealer's view of it (see docs/architecture.md, "Commit → seal → ship"). */
import type { ChainHead } from '../domain/audit-chain.js';
import type { AuditEvent, CommittedEvent } from '../domain/types.js';

/** A committed event waiting for the sealer, with where its journal entry lives. */
export interface UnsealedEntry {
  event: CommittedEvent;
  ref: EntryRef;
}

export interface EntryRef {
  pk: string;
  sk: string;
}

export interface SealBacklog {
  count: number;
  /** Commit time of the oldest unsealed event; null when none waits. */
  oldestTime: string | null;
}

/** Thrown by `AuditJournal.seal` when the chain head moved (another sealer) or an entry was sealed already. */
export class SealConflict extends Error {
  constructor(
    readonly target: 'head' | 'entry',
    /** The entries whose condition failed (already sealed), for `target: 'entry'`. */
    readonly sealedAlready: EntryRef[] = [],
  ) {
    super(`seal conflict on ${target}`);
    this.name = 'SealConflict';
  }
}

/** What one look at the journal found: the head as read first, and unsealed entries after it. */
export interface UnsealedFound {
  /** The chain head, read (consistently) before the entries were looked for. */
  head: ChainHead;
  entries: UnsealedEntry[];
  /**
   * True when the look reached the end of the journal: nothing but `entries` had been committed unsealed when
   * it began (reads that may lag, such as an index, cannot promise this), so a sealer that seals them all is
   * done without looking again.
   */
  complete: boolean;
}

/** The sealer's view of storage: unsealed journal entries in, hash-chained events out. */
export interface AuditJournal {
  chainHead(): Promise<ChainHead>;
  /**
   * Up to `limit` unsealed entries, oldest commit first (best effort: the order the sealer finds them). A commit's
   * events come together: more than `limit` only when one commit alone has more, and then that commit alone.
   */
  unsealed(limit: number): Promise<UnsealedFound>;
  /** Most events `seal` takes in one call (one storage transaction). */
  readonly sealBatchLimit: number;
  /**
   * Atomically: moves the head from `from` to the last sealed event, stores the sealed events under their
   * seqs and records their entries as sealed. Fails whole with SealConflict if the head is not at `from` or an
   * entry was sealed. Takes only entries the last `unsealed` handed out, each commit's whole.
   */
  seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void>;
  backlog(): Promise<SealBacklog>;
}
