/** Interfaces between the use cases and the adapters that store and deliver things. */
import type { ChainHead } from '../domain/audit-chain.js';
import type { Outcome } from '../domain/lifecycle.js';
import type {
  AccessRequest,
  Actor,
  AuditEvent,
  AuditEventDraft,
  CommittedEvent,
  TimelineEvent,
} from '../domain/types.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface IdempotencyClaim {
  subject: string;
  key: string;
  /** Hash of the request body, so a reused key with a different body is refused. */
  fingerprint: string;
}

export type ListIndex = 'byRequester' | 'byStatus' | 'byCreated' | 'byRole' | 'byRoleStatus';

/**
 * One index partition of requests: a subject for byRequester, a status for byStatus, a role id for byRole,
 * `<role>#<status>` for byRoleStatus; no key for byCreated (every request).
 */
export interface ListPartition {
  index: ListIndex;
  key?: string;
}

export interface ListQuery {
  /**
   * The partitions to read, newest first, merged into one page (all request indexes sort by `createdAt#id`). The
   * caller chooses them from what the person may see, so the cost follows that and not the table's size.
   */
  partitions: ListPartition[];
  /** Application-level filter (visibility, role, status) applied before counting toward `limit`. */
  where: (request: AccessRequest) => boolean;
  limit: number;
  cursor?: string;
  /** The listing's filters; a cursor is valid only for the same partitions and the same filters. */
  view?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface EventRange {
  /** First seq to return (inclusive). */
  fromSeq?: number;
  since?: string;
  until?: string;
}

/** Thrown when a conditional write lost a race; the service re-reads and decides again. */
export class ConcurrentUpdateError extends Error {
  constructor(readonly target: 'request' | 'chain' | 'transaction') {
    super(`concurrent update of ${target}`);
    this.name = 'ConcurrentUpdateError';
  }
}

/** What a commit is about to store: the request's new state (null for `appendEvents`) and its event drafts. */
export interface PendingCommit {
  request: AccessRequest | null;
  events: AuditEventDraft[];
}

/**
 * Adds writes to the very transaction that commits a change, so an obligation the change creates (an early
 * revocation owed to AWS) or settles (the `revocation.applied` that consumes a pending marker) is durable
 * exactly when the change is. Registered on the store (`DynamoStore.addContributor`); the store stays generic
 * and runs whatever it is given. `writesFor` decides from the pending commit alone and does no I/O. `W` is the
 * store's own write type (a `TransactWriteItem` for DynamoStore). A contributed write whose condition fails
 * cancels the whole commit with `ConcurrentUpdateError('transaction')`.
 */
export interface TransactionContributor<W> {
  name: string;
  writesFor(commit: PendingCommit): W[];
}

/**
 * What a commit stored: its events (committed, not yet sealed) and, when some post-commit effect wants them, the
 * id of the outbox entry that keeps those effects owed until they are done.
 */
export interface Committed {
  events: CommittedEvent[];
  outbox: string | null;
}

/**
 * Persistence for requests and their audit events. Every write commits the state change and its events (as
 * unsealed journal entries) atomically, touching no item shared with unrelated requests; the sealer chains them
 * later (`AuditJournal`). `effects` names the post-commit effects that want the commit: when non-empty, an
 * outbox entry commits in the same transaction (`Outbox`).
 */
export interface BrokerStore {
  getRequest(id: string): Promise<AccessRequest | null>;
  /** Stores a new request with its events; replays the earlier result when the idempotency claim was seen before. */
  createRequest(
    outcome: Outcome,
    idempotency?: IdempotencyClaim,
    effects?: string[],
  ): Promise<{ request: AccessRequest; replayed: boolean } & Committed>;
  /** Stores a changed request if it is still at `expectedVersion`, with its events. */
  updateRequest(expectedVersion: number, outcome: Outcome, effects?: string[]): Promise<Committed>;
  /** Commits events that change no request (e.g. `access.forbidden`, `credentials.issued`). */
  appendEvents(events: AuditEventDraft[], effects?: string[]): Promise<Committed>;
  listRequests(query: ListQuery): Promise<Page<AccessRequest>>;
  /** Requests whose next time-driven transition is at or before `now`. */
  listDue(now: Date, limit: number): Promise<AccessRequest[]>;
  /** Every committed event of a request, sealed or not, in commit order. */
  requestEvents(requestId: string, limit?: number): Promise<TimelineEvent[]>;
  chainHead(): Promise<ChainHead>;
  /** Sealed events in seq order. */
  readEvents(range?: EventRange): AsyncIterable<AuditEvent>;
  /** A cheap round trip for readiness checks. */
  ping(): Promise<void>;
}

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

/** The sealer's view of storage: unsealed journal entries in, hash-chained events out. */
export interface AuditJournal {
  chainHead(): Promise<ChainHead>;
  /** Up to `limit` unsealed entries, oldest commit first (best effort: the order the sealer finds them). */
  unsealed(limit: number): Promise<UnsealedEntry[]>;
  /** Most events `seal` takes in one call (one storage transaction). */
  readonly sealBatchLimit: number;
  /**
   * Atomically: moves the head from `from` to the last sealed event, stores each sealed event under its seq and
   * marks its entry sealed. Fails whole with SealConflict if the head is not at `from` or an entry was sealed.
   */
  seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void>;
  backlog(): Promise<SealBacklog>;
}

/** A commit whose post-commit effects are still owed. */
export interface OutboxEntry {
  id: string;
  /** A request change (listeners' `afterChange`) or events recorded without one (`afterRecord`). */
  kind: 'change' | 'record';
  requestId: string | null;
  eventIds: string[];
  /** Where the events' journal entries live. */
  entries: EntryRef[];
  /** Effects (listener names) wanted by the commit and those already done. */
  effects: string[];
  done: string[];
  attempts: number;
  /** When a relay may take the entry over (the committing process gets this long to do the effects itself). */
  dueAt: string;
  createdAt: string;
}

/** Durable post-commit effects: entries commit with their change and are removed once every effect is done. */
export interface Outbox {
  /** Entries whose `dueAt` has passed, oldest first. */
  due(now: Date, limit: number): Promise<OutboxEntry[]>;
  /** Takes an entry over until `leaseUntil`, if it is still as seen; false when someone else did. */
  claim(entry: OutboxEntry, leaseUntil: Date): Promise<boolean>;
  /** Records effects done; deletes the entry when every wanted effect is done, else reschedules it. */
  settle(id: string, done: string[], complete: boolean, retryAt: Date): Promise<void>;
  /** The committed events of an entry (from their journal entries). */
  events(entry: OutboxEntry): Promise<CommittedEvent[]>;
}

/** A window in which a principal was throttled, owed one `access.throttled` event once the window closes. */
export interface ThrottleReport {
  /** The limiter key (`p:<subject>`, `r:<subject>`). */
  key: string;
  kind: string;
  limit: number;
  windowStart: number;
  windowSeconds: number;
  actor: Actor;
}

/**
 * Durable "this window owes a report" markers: opened on the first throttled call of a window (before the 429 is
 * sent) and consumed by the very commit of the `access.throttled` event (`data.report`), so a stop, a crash or
 * a frozen Lambda loses no report and none is written twice.
 */
export interface ThrottleReports {
  /** Records that `report`'s window owes an event; idempotent. */
  open(report: ThrottleReport): Promise<void>;
  /** Reports whose window closed before `now`, with the id their event must carry as `data.report`. */
  due(now: Date, limit: number): Promise<Array<ThrottleReport & { id: string }>>;
}
