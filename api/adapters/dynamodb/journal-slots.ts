/**
 * Journal slots: where commits leave their events for the sealer without touching anything shared. Each writer
 * (a broker process) leases one of `SLOT_COUNT` slots and numbers its commits in it: a commit's transaction
 * writes one *journal record* at `JOURNAL#<slot>` / `R#<n>` with `attribute_not_exists(pk)`, holding the commit's
 * events. Numbers in a slot are dense: a writer takes `n` only after `n - 1` exists or is in flight, and a number
 * whose commit did not land is filled with an empty record (a *filler*) — by its writer at once, or by the sealer
 * when a later record has waited past `GAP_FILL_MS` (the writer died). A late commit then fails on its record's
 * condition and is sent again under a new number, so no number ever holds two commits and none stays empty.
 * The sealer keeps one cursor per slot in the chain head and reads each slot after its cursor with consistent
 * queries: no per-event mark, no index that lags. See docs/architecture.md, "Journal slots".
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactionConflictException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Clock } from '../../ports/clock.js';

/** Slots a table has. Writers beyond this many at once share slots (correct, with retries on collisions). */
export const SLOT_COUNT = 32;
/** How long a lease holds; renewed once half of it is gone. */
const LEASE_MS = 10 * 60_000;
/** A number still empty while a later one in its slot is this old was left by a writer that died: filled. */
export const GAP_FILL_MS = 60_000;

export const HEAD_KEY = { pk: 'META', sk: 'AUDIT_HEAD' };

/** A slot's name: its index, two digits. */
const slotName = (index: number) => index.toString().padStart(2, '0');
export const slotPk = (slot: string) => `JOURNAL#${slot}`;
const numberKey = (n: number) => n.toString().padStart(12, '0');
/** The record of commit `n` in a slot. */
export const recordKey = (slot: string, n: number) => ({ pk: slotPk(slot), sk: `R#${numberKey(n)}` });
/** Where the sealer noted the seqs it gave a slot's records up to `n` (one note per slot and seal). */
export const noteKey = (slot: string, n: number) => ({ pk: slotPk(slot), sk: `S#${numberKey(n)}` });
const RECORD_LAST = `R#${'9'.repeat(12)}`;
export const NOTE_LAST = `S#${'9'.repeat(12)}`;
export const recordNumber = (sk: string) => Number(sk.slice(2));
/** The head attribute holding a slot's cursor (the last record sealed). */
export const cursorName = (slot: string) => `cursor_${slot}`;

export interface SlotNumber {
  slot: string;
  n: number;
}

/** The empty record that closes a number whose commit will never land. */
export async function writeFiller(
  client: DynamoDBClient,
  table: string,
  at: SlotNumber,
  time: string,
): Promise<void> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: marshall({ ...recordKey(at.slot, at.n), filler: true, count: 0, time }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (error) {
    // The number holds a record already (the commit landed after all, or someone filled it first), or a commit's
    // transaction holds it this very moment: either way it is not empty for long.
    if (error instanceof ConditionalCheckFailedException || error instanceof TransactionConflictException)
      return;
    throw error;
  }
}

/**
 * A writer's numbers: one leased slot, the next number in it, and fillers for numbers whose commit failed.
 * Leases only keep writers apart for speed; every guarantee comes from the records' key conditions.
 */
export class SlotWriter {
  private readonly owner = randomUUID();
  private slot: string | null = null;
  private next = 0;
  private leaseUntil = 0;
  private leasing: Promise<void> | null = null;
  private renewing = false;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: Clock,
    /** A slot to use without a lease (tests of writers sharing a slot). */
    private readonly pinned?: string,
  ) {}

  /** The next number of this writer's slot (leasing one first when it has none or its lease ran out). */
  async take(): Promise<SlotNumber> {
    const now = this.clock.now().getTime();
    if (!this.slot || now >= this.leaseUntil) {
      this.leasing ??= this.lease().finally(() => {
        this.leasing = null;
      });
      await this.leasing;
    } else if (now >= this.leaseUntil - LEASE_MS / 2 && !this.renewing) {
      this.renewing = true;
      void this.renew().finally(() => {
        this.renewing = false;
      });
    }
    return { slot: this.slot!, n: this.next++ };
  }

  /** Another writer's record holds `at`: this writer continues after the slot's last record. */
  async collided(at: SlotNumber): Promise<void> {
    if (at.slot !== this.slot) return;
    const last = await this.lastNumber(at.slot);
    // The writer may have moved to another slot while it asked: numbers of the old one do not apply.
    if (this.slot === at.slot) this.next = Math.max(this.next, at.n + 1, last + 1);
  }

  /** Closes a number whose commit did not land (best effort: the sealer fills what this leaves open). */
  async abandon(at: SlotNumber): Promise<void> {
    await writeFiller(this.client, this.table, at, this.clock.now().toISOString()).catch(() => undefined);
  }

  /** Leases a free slot (or, when all are taken, shares one), registers it on the head, and finds its end. */
  private async lease(): Promise<void> {
    const now = this.clock.now().getTime();
    const order = Array.from({ length: SLOT_COUNT }, (_, index) => index).sort(() => Math.random() - 0.5);
    let chosen: string | null = this.pinned ?? null;
    for (const index of chosen ? [] : this.slot ? [Number(this.slot), ...order] : order) {
      const slot = slotName(index);
      if (await this.claim(slot, now)) {
        chosen = slot;
        break;
      }
    }
    // Every slot leased: share one. Collisions then cost retries, never correctness.
    chosen ??= slotName(order[0]!);
    // Never below the slot's cursor, even if its records were gone: a number at or below it would never be sealed.
    const cursor = await this.register(chosen);
    this.next = Math.max(cursor, await this.lastNumber(chosen)) + 1;
    this.slot = chosen;
    this.leaseUntil = now + LEASE_MS;
  }

  private async claim(slot: string, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: 'SLOT' },
            sk: { S: slot },
            owner: { S: this.owner },
            until: { N: String(now + LEASE_MS) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :now OR #owner = :me',
          ExpressionAttributeNames: { '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': { N: String(now) }, ':me': { S: this.owner } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async renew(): Promise<void> {
    const slot = this.slot;
    if (!slot) return;
    const now = this.clock.now().getTime();
    // Lost to another writer: lease again on the next commit (this one's number still holds by its condition).
    if (await this.claim(slot, now).catch(() => false)) this.leaseUntil = now + LEASE_MS;
    else this.leaseUntil = 0;
  }

  /**
   * Adds the slot to the head's list, which the sealer reads, and returns the slot's cursor. A seal under way
   * may hold the head: retried.
   */
  private async register(slot: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: marshall(HEAD_KEY),
            UpdateExpression: 'ADD #slots :slot',
            ExpressionAttributeNames: { '#slots': 'slots' },
            ExpressionAttributeValues: { ':slot': { SS: [slot] } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Number(Attributes?.[cursorName(slot)]?.N ?? 0);
      } catch (error) {
        if (!(error instanceof TransactionConflictException) || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      }
    }
  }

  private async lastNumber(slot: string): Promise<number> {
    const { Items } = await this.client.send(
      new QueryCommand({
        ...recordsAfterQuery(this.table, slot, 0),
        ProjectionExpression: 'sk',
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const sk = Items?.[0]?.sk?.S;
    return sk ? recordNumber(sk) : 0;
  }
}

/** A consistent query of a slot's records after `cursor`, in number order. */
export function recordsAfterQuery(
  table: string,
  slot: string,
  cursor: number,
  startKey?: Record<string, AttributeValue>,
): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :last',
    ExpressionAttributeValues: {
      ':pk': { S: slotPk(slot) },
      ':after': { S: recordKey(slot, cursor + 1).sk },
      ':last': { S: RECORD_LAST },
    },
    ConsistentRead: true,
    ...(startKey ? { ExclusiveStartKey: startKey } : {}),
  };
}

/** The record item of a commit: its events as committed, in order, and what backlog counts need. */
export function recordItem(
  at: SlotNumber,
  events: { id: string; time: string }[],
): Record<string, AttributeValue> {
  return marshall({
    ...recordKey(at.slot, at.n),
    events: JSON.stringify(events),
    count: events.length,
    time: events[0]!.time,
  });
}
