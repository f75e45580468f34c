/** Effects a commit still owes (Slack, webhooks, schedules, revocation), kept until they are done. */
import type { CommittedEvent } from '../domain/types.js';
import type { EntryRef } from './audit-journal.js';

/** A commit whose post-commit effects are still owed. */
export interface OutboxEntry {
  id: string;
  /** A request change (listeners' `afterChange`) or events recorded without one (`afterRecord`). */
  kind: 'change' | 'record';
  requestId: string | null;
  eventIds: string[];
  /** Where the commit's events are stored (in DynamoDB, its journal record). */
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
  /** The committed events of an entry (from where `entries` says they are). */
  events(entry: OutboxEntry): Promise<CommittedEvent[]>;
}
