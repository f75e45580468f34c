/**
 * The sealer's side of the journal slots (see journal-slots.ts): what waits after each slot's cursor, sealing
 * a batch as one block that moves the head and the cursors together, and where a committed event's seq is.
 *
 * Exactly once: a record is sealed when its number is at or below its slot's cursor in the head, and the head's
 * seq, hash and cursors move only in a seal transaction conditioned on the seq the sealer read in the same look.
 * Two sealers that read the same head cannot both commit; one that read an older head fails. Records are read
 * with consistent queries, so nothing that committed before a look is missed by it, and only the consecutive
 * numbers after a cursor are taken, so a number whose commit is still in flight holds back the records after it
 * (until it lands or is filled) instead of being passed over.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { type ChainHead, EMPTY_HEAD } from '../../domain/audit-chain.js';
import type { AuditEvent, CommittedEvent } from '../../domain/types.js';
import {
  type EntryRef,
  type SealBacklog,
  SealConflict,
  type UnsealedEntry,
  type UnsealedFound,
} from '../../ports/audit-journal.js';
import type { Clock } from '../../ports/clock.js';
import { BLOCK_MAX_BYTES, blockItem, SEALED_OVERHEAD_BYTES } from './chain-blocks.js';
import {
  cursorName,
  GAP_FILL_MS,
  HEAD_KEY,
  NOTE_LAST,
  noteKey,
  RECORD_LAST,
  recordKey,
  recordNumber,
  slotPk,
  writeFiller,
} from './journal-slots.js';

/** The chain head as the sealer reads it: seq and hash, and each registered slot's cursor. */
export interface SlotHead {
  head: ChainHead;
  cursors: Map<string, number>;
}

interface SlotRecord {
  n: number;
  /** Empty for a filler. */
  events: CommittedEvent[];
  time: string;
}

/**
 * What a look found about the record behind an entry ref (the ref object `unsealed` handed out), so `seal` moves
 * each cursor from the batch alone, even when two sealers share this journal object.
 */
interface RecordInLook {
  slot: string;
  n: number;
  /** Events of the record: a commit is sealed whole or not at all. */
  count: number;
  /** The head seq of the look, and the slot's cursor in it. */
  seq: number;
  cursor: number;
  /** The number the cursor must be at (or pass in the same seal) before this record: the slot's cursor or the record before. */
  after: number;
  /** Fillers between `after` and this record, and (for the last record the look took from its slot) after it. */
  fillersBefore: number[];
  fillersAfter: number[];
}

export class SlotJournal {
  private readonly looked = new WeakMap<EntryRef, RecordInLook>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  async readHead(): Promise<SlotHead> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: { S: HEAD_KEY.pk }, sk: { S: HEAD_KEY.sk } },
        ConsistentRead: true,
      }),
    );
    const cursors = new Map<string, number>();
    if (!Item) return { head: EMPTY_HEAD, cursors };
    for (const slot of Item.slots?.SS ?? []) cursors.set(slot, Number(Item[cursorName(slot)]?.N ?? 0));
    const head =
      Item.seq?.N === undefined ? EMPTY_HEAD : { seq: Number(Item.seq.N), hash: Item.hash?.S ?? '' };
    return { head, cursors };
  }

  /**
   * Up to `limit` events after the cursors, in whole records, oldest first across slots (each slot in number
   * order), no more than one block holds. `complete` when every slot was read to its end with no gap.
   */
  async unsealed(limit: number, maxBytes = BLOCK_MAX_BYTES): Promise<UnsealedFound> {
    const { head, cursors } = await this.readHead();
    const queues = new Map<string, SlotRecord[]>();
    let complete = true;
    await Promise.all(
      [...cursors].map(async ([slot, cursor]) => {
        const run = await this.consecutiveAfter(slot, cursor, limit);
        if (!run.complete) complete = false;
        if (run.records.length > 0) queues.set(slot, run.records);
      }),
    );
    const entries: UnsealedEntry[] = [];
    /** Per slot: the last record taken, the fillers since it, and where the next record starts from. */
    const progress = new Map<string, { last: RecordInLook | null; fillers: number[]; after: number }>();
    let bytes = 0;
    // Oldest first across slots, by each slot's next record's first event id (ids start with the commit time).
    for (;;) {
      let pick: string | null = null;
      for (const [slot, queue] of queues) {
        const next = queue[0];
        if (!next) continue;
        if (next.events.length === 0) {
          pick = slot;
          break;
        }
        const best = pick ? queues.get(pick)![0]! : null;
        if (!best || next.events[0]!.id < best.events[0]!.id) pick = slot;
      }
      if (!pick) break;
      const queue = queues.get(pick)!;
      const record = queue[0]!;
      const state = progress.get(pick) ?? { last: null, fillers: [], after: cursors.get(pick) ?? 0 };
      progress.set(pick, state);
      if (record.events.length === 0) {
        queue.shift();
        state.fillers.push(record.n);
        if (state.last) state.last.fillersAfter = [...state.fillers];
        continue;
      }
      const size = record.events.reduce(
        (sum, event) => sum + JSON.stringify(event).length + SEALED_OVERHEAD_BYTES,
        0,
      );
      if (entries.length > 0 && (entries.length + record.events.length > limit || bytes + size > maxBytes)) {
        complete = false;
        break;
      }
      queue.shift();
      bytes += size;
      const ref = recordKey(pick, record.n);
      const place: RecordInLook = {
        slot: pick,
        n: record.n,
        count: record.events.length,
        seq: head.seq,
        cursor: cursors.get(pick) ?? 0,
        after: state.after,
        fillersBefore: state.fillers,
        fillersAfter: [],
      };
      this.looked.set(ref, place);
      state.last = place;
      state.fillers = [];
      state.after = record.n;
      for (const event of record.events) entries.push({ event, ref });
    }
    return { head, entries, complete };
  }

  /**
   * One transaction: the block, the head moved from `from` with the cursors of every slot the batch took from,
   * and per such slot a note of the seqs its records got (for request timelines).
   */
  async seal(from: ChainHead, batch: { ref: EntryRef; event: AuditEvent }[]): Promise<void> {
    if (batch.length === 0) return;
    // The records of the batch, each with the seq of its first event and how many of its events came.
    const records = new Map<EntryRef, { place: RecordInLook; seq: number; events: number }>();
    for (const { ref, event } of batch) {
      const seen = records.get(ref);
      if (seen) {
        seen.events += 1;
        continue;
      }
      const place = this.looked.get(ref);
      if (!place) throw new Error(`seal takes only entries that unsealed handed out (${ref.pk} ${ref.sk})`);
      if (place.seq !== from.seq) throw new SealConflict('head');
      records.set(ref, { place, seq: event.seq, events: 1 });
    }
    const bySlot = new Map<string, { place: RecordInLook; seq: number }[]>();
    for (const { place, seq, events } of records.values()) {
      // A commit's events are sealed together or not at all: half a record would be sealed again later.
      if (events !== place.count)
        throw new Error(`seal takes a commit whole or not at all (${place.slot}/${place.n})`);
      bySlot.set(place.slot, [...(bySlot.get(place.slot) ?? []), { place, seq }]);
    }
    // Each slot's cursor moves over its records in the batch, which must follow on from it with no hole.
    const moved: { slot: string; records: { n: number; seq: number | null }[] }[] = [];
    for (const [slot, taken] of bySlot) {
      taken.sort((a, b) => a.place.n - b.place.n);
      const done: { n: number; seq: number | null }[] = [];
      let at = taken[0]!.place.cursor;
      for (const { place, seq } of taken) {
        if (place.after !== at) throw new Error(`seal would leave a hole in slot ${slot} before ${place.n}`);
        for (const n of place.fillersBefore) done.push({ n, seq: null });
        done.push({ n: place.n, seq });
        at = place.n;
      }
      for (const n of taken.at(-1)!.place.fillersAfter) done.push({ n, seq: null });
      moved.push({ slot, records: done });
    }
    const last = batch[batch.length - 1]!.event;
    const items: TransactWriteItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: blockItem(batch.map(({ event }) => event)),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      headMove(this.table, from, { seq: last.seq, hash: last.hash }, moved),
      ...moved.map(({ slot, records }) => noteWrite(this.table, slot, records)),
    ];
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // The head moved (another sealer), or another writer held the head at this moment.
      throw new SealConflict('head');
    }
  }

  async backlog(): Promise<SealBacklog> {
    const { cursors } = await this.readHead();
    let count = 0;
    let oldestTime: string | null = null;
    await Promise.all(
      [...cursors].map(async ([slot, cursor]) => {
        let startKey: Record<string, AttributeValue> | undefined;
        do {
          const page = await this.client.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :last',
              ExpressionAttributeValues: {
                ':pk': { S: slotPk(slot) },
                ':after': { S: recordKey(slot, cursor + 1).sk },
                ':last': { S: RECORD_LAST },
              },
              ProjectionExpression: '#count, #time',
              ExpressionAttributeNames: { '#count': 'count', '#time': 'time' },
              ConsistentRead: true,
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
            }),
          );
          for (const item of page.Items ?? []) {
            const events = Number(item.count?.N ?? 0);
            if (events === 0) continue;
            count += events;
            const time = item.time?.S ?? null;
            if (time && (oldestTime === null || time < oldestTime)) oldestTime = time;
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }),
    );
    return { count, oldestTime };
  }

  /**
   * The seq of each event given as (slot, number, index in its record), from the seal notes; absent for events
   * not sealed yet. One query per slot, reading notes from the first number asked for until the last is covered.
   */
  async seqsOf(places: { slot: string; n: number; index: number }[]): Promise<Map<string, number>> {
    const seqs = new Map<string, number>();
    const bySlot = new Map<string, number[]>();
    for (const place of places) bySlot.set(place.slot, [...(bySlot.get(place.slot) ?? []), place.n]);
    const firsts = new Map<string, number>();
    await Promise.all(
      [...bySlot].map(async ([slot, numbers]) => {
        const lowest = Math.min(...numbers);
        const highest = Math.max(...numbers);
        let startKey: Record<string, AttributeValue> | undefined;
        do {
          const page = await this.client.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :last',
              ExpressionAttributeValues: {
                ':pk': { S: slotPk(slot) },
                ':from': { S: noteKey(slot, lowest).sk },
                ':last': { S: NOTE_LAST },
              },
              ConsistentRead: true,
              Limit: 20,
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
            }),
          );
          let covered = false;
          for (const item of page.Items ?? []) {
            const first = Number(item.firstN?.N);
            (item.seqs?.S ?? '').split(',').forEach((seq, offset) => {
              if (seq !== '') firsts.set(`${slot}/${first + offset}`, Number(seq));
            });
            if (recordNumber(item.sk?.S ?? '') >= highest) covered = true;
          }
          startKey = covered ? undefined : page.LastEvaluatedKey;
        } while (startKey);
      }),
    );
    for (const place of places) {
      const first = firsts.get(`${place.slot}/${place.n}`);
      if (first !== undefined) seqs.set(`${place.slot}/${place.n}/${place.index}`, first + place.index);
    }
    return seqs;
  }

  /**
   * The records with consecutive numbers after `cursor`. A number left empty while a later one has waited
   * `GAP_FILL_MS` was lost with its writer: it is closed with a filler and the slot read again.
   */
  private async consecutiveAfter(
    slot: string,
    cursor: number,
    limit: number,
  ): Promise<{ records: SlotRecord[]; complete: boolean }> {
    for (let round = 0; ; round++) {
      const read = await this.recordsAfter(slot, cursor, limit);
      const records: SlotRecord[] = [];
      for (const record of read.records) {
        if (record.n === cursor + 1 + records.length) {
          records.push(record);
          continue;
        }
        const now = this.clock.now();
        if (round > 0 || now.getTime() - Date.parse(record.time) < GAP_FILL_MS)
          return { records, complete: false };
        for (let n = cursor + 1 + records.length; n < record.n; n++)
          await writeFiller(this.client, this.table, { slot, n }, now.toISOString());
        break;
      }
      if (records.length === read.records.length) return { records, complete: read.end };
    }
  }

  /** Records of a slot after `cursor`, in number order, up to `limit`; `end` when the slot had no more. */
  private async recordsAfter(
    slot: string,
    cursor: number,
    limit: number,
  ): Promise<{ records: SlotRecord[]; end: boolean }> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :last',
        ExpressionAttributeValues: {
          ':pk': { S: slotPk(slot) },
          ':after': { S: recordKey(slot, cursor + 1).sk },
          ':last': { S: RECORD_LAST },
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const records = (Items ?? []).map((item) => ({
      n: recordNumber(item.sk?.S ?? ''),
      events: item.events?.S ? (JSON.parse(item.events.S) as CommittedEvent[]) : [],
      time: item.time?.S ?? '',
    }));
    return { records, end: !LastEvaluatedKey };
  }
}

/** The head moved from `from` (conditioned on its seq) to `next`, with the moved slots' new cursors. */
function headMove(
  table: string,
  from: ChainHead,
  next: ChainHead,
  moved: { slot: string; records: { n: number }[] }[],
): TransactWriteItem {
  const names: Record<string, string> = { '#seq': 'seq', '#hash': 'hash' };
  const values: Record<string, AttributeValue> = {
    ':seq': { N: String(next.seq) },
    ':hash': { S: next.hash },
  };
  const sets = ['#seq = :seq', '#hash = :hash'];
  moved.forEach(({ slot, records }, index) => {
    names[`#c${index}`] = cursorName(slot);
    values[`:c${index}`] = { N: String(records[records.length - 1]!.n) };
    sets.push(`#c${index} = :c${index}`);
  });
  if (from.seq > 0) values[':from'] = { N: String(from.seq) };
  return {
    Update: {
      TableName: table,
      Key: { pk: { S: HEAD_KEY.pk }, sk: { S: HEAD_KEY.sk } },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: from.seq > 0 ? '#seq = :from' : 'attribute_not_exists(#seq)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** A slot's records sealed in one block: the first seq of each (empty for fillers), by number. */
function noteWrite(
  table: string,
  slot: string,
  records: { n: number; seq: number | null }[],
): TransactWriteItem {
  const key = noteKey(slot, records[records.length - 1]!.n);
  return {
    Put: {
      TableName: table,
      Item: {
        pk: { S: key.pk },
        sk: { S: key.sk },
        firstN: { N: String(records[0]!.n) },
        seqs: { S: records.map((record) => (record.seq === null ? '' : String(record.seq))).join(',') },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}
