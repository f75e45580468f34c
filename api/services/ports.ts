/** Interfaces between the use cases and the adapters that store and deliver things. */
import type { ChainHead } from '../domain/audit-chain.js';
import type { Outcome } from '../domain/lifecycle.js';
import type { AccessRequest, AuditEvent, AuditEventDraft } from '../domain/types.js';

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

export type ListIndex = 'byRequester' | 'byStatus' | 'byCreated';

export interface ListQuery {
  index: ListIndex;
  /** The partition value: a subject for byRequester, a status for byStatus; ignored for byCreated. */
  key?: string;
  /** Application-level filter (visibility, role, status) applied before counting toward `limit`. */
  where: (request: AccessRequest) => boolean;
  limit: number;
  cursor?: string;
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

/** Persistence for requests and the audit chain. Every write commits the state change and its events atomically. */
export interface BrokerStore {
  getRequest(id: string): Promise<AccessRequest | null>;
  /** Stores a new request with its events; replays the earlier result when the idempotency claim was seen before. */
  createRequest(
    outcome: Outcome,
    idempotency?: IdempotencyClaim,
  ): Promise<{ request: AccessRequest; replayed: boolean; events: AuditEvent[] }>;
  /** Stores a changed request if it is still at `expectedVersion`, with its events. */
  updateRequest(expectedVersion: number, outcome: Outcome): Promise<AuditEvent[]>;
  /** Appends events that change no request (e.g. `access.forbidden`, `credentials.issued`). */
  appendEvents(events: AuditEventDraft[]): Promise<AuditEvent[]>;
  listRequests(query: ListQuery): Promise<Page<AccessRequest>>;
  /** Requests whose next time-driven transition is at or before `now`. */
  listDue(now: Date, limit: number): Promise<AccessRequest[]>;
  chainHead(): Promise<ChainHead>;
  readEvents(range?: EventRange): AsyncIterable<AuditEvent>;
  /** A cheap round trip for readiness checks. */
  ping(): Promise<void>;
}
