/** Interfaces between the use cases and the adapters that store and deliver things. */
import type { ChainHead } from '../domain/audit-chain.js';
import type { Outcome } from '../domain/lifecycle.js';
import type {
  AccessRequest,
  AuditEvent,
  AuditEventDraft,
  CommittedEvent,
  RequestStatus,
  TimelineEvent,
} from '../domain/types.js';

export interface IdempotencyClaim {
  subject: string;
  key: string;
  /** Hash of the request body, so a reused key with a different body is refused. */
  fingerprint: string;
}

export type ListIndex = 'byRequester' | 'byStatus' | 'byCreated' | 'byRole' | 'byRoleStatus' | 'byDue';

/**
 * One index partition of requests: a subject for byRequester, a status for byStatus, a role id for byRole,
 * `<role>#<status>` for byRoleStatus; no key for byCreated (every request) or byDue (requests with a pending
 * timer: activation, end, pending or review deadline; and unreviewed emergency grants past their review
 * deadline, sorted last at `REVIEW_OWED_AT`).
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
  /** Last seq to return (inclusive); with `newestFirst`, where a page going back in time starts. */
  toSeq?: number;
  /** Highest seq first (the event browser); oldest first when absent. */
  newestFirst?: boolean;
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

/**
 * The state a request must still be in for events about it to commit (`credentials.issued` only while the grant
 * is `active`). The commit also moves the request's version on, so a decision taken on the earlier version (a
 * revoke) is decided again after these events and its own events seal after them.
 */
export interface RequestGuard {
  requestId: string;
  status: RequestStatus;
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
  /**
   * Commits events that change no request's state (e.g. `access.forbidden`, `credentials.issued`). With `guard`,
   * only while that request is in the guard's status (ConcurrentUpdateError('request') otherwise), in the same
   * transaction that moves its version on.
   */
  appendEvents(events: AuditEventDraft[], effects?: string[], guard?: RequestGuard): Promise<Committed>;
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
