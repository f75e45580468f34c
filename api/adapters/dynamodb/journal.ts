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
import { marshall } from '@aws-sdk/util-dynamodb';
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
  recordKey,
  recordNumber,
  recordsAfterQuery,
  slotPk,
  writeFiller,
} from './journal-slots.js';

/** Records `backlog()` reads per slot at most. */
const BACKLOG_READ_LIMIT = 5_000;

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

/** What one look took from each slot after its cursor, in number order (fillers included). */
interface Look {
  seq: number;
  slots: Map<string, { cursor: number; taken: { n: number; real: boolean }[] }>;
}

/**
 * The record behind an entry ref (the ref object `unsealed` handed out) and the look that found it, so `seal`
 * moves each cursor from the batch alone, even when two sealers share this journal object.
 */
interface RecordInLook {
  look: Look;
  slot: string;
  n: number;
  /** Events of the record: a commit is sealed whole or not at all. */
  count: number;
}

export class SlotJournal {
  private readonly looked = new WeakMap<EntryRef, RecordInLook>();
  /** When this journal first saw each empty number (`slot/n`) with a later record waiting: its own clock. */
  private readonly gapsSeen = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  async readHead(): Promise<SlotHead> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: marshall(HEAD_KEY),
        ConsistentRead: true,
      }),
    );
    const cursors = new Map<string, number>();
    if (!Item) return { head: EMPTY_HEAD, cursors };
    for (const slot of Item.slots?.SS ?? []) cursors.set(slot, Number(Item[cursorName(slot)]?.N ?? 0));
    return { head: chainHeadOf(Item), cursors };
  }

  /**
   * Up to `limit` events after the cursors, in whole records, oldest first across slots (each slot in number
   * order), no more than one block holds. `complete` when every slot was read to its end with no gap.
   */
  async unsealed(limit: number): Promise<UnsealedFound> {
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
    const look: Look = { seq: head.seq, slots: new Map() };
    for (const [slot, cursor] of cursors) look.slots.set(slot, { cursor, taken: [] });
    let bytes = 0;
    // Oldest first across slots, by each slot's next record's first event id (ids start with the commit time).
    // Fillers hold no events: each is taken as soon as it is next in its slot.
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
      const taken = look.slots.get(pick)!.taken;
      if (record.events.length === 0) {
        queue.shift();
        taken.push({ n: record.n, real: false });
        continue;
      }
      const size = record.events.reduce(
        (sum, event) => sum + Buffer.byteLength(JSON.stringify(event)) + SEALED_OVERHEAD_BYTES,
        0,
      );
      if (
        entries.length > 0 &&
        (entries.length + record.events.length > limit || bytes + size > BLOCK_MAX_BYTES)
      ) {
        complete = false;
        break;
      }
      queue.shift();
      bytes += size;
      taken.push({ n: record.n, real: true });
      const ref = recordKey(pick, record.n);
      this.looked.set(ref, { look, slot: pick, n: record.n, count: record.events.length });
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
    const records = new Map<string, { place: RecordInLook; seq: number; events: number }>();
    let look: Look | null = null;
    for (const { ref, event } of batch) {
      const place = this.looked.get(ref);
      if (!place) throw new Error(`seal takes only entries that unsealed handed out (${ref.pk} ${ref.sk})`);
      look ??= place.look;
      if (place.look !== look) throw new Error('seal takes the entries of one look');
      const key = `${place.slot}/${place.n}`;
      const seen = records.get(key);
      if (seen) seen.events += 1;
      else records.set(key, { place, seq: event.seq, events: 1 });
    }
    if (!look || look.seq !== from.seq) throw new SealConflict('head');
    // Each slot's cursor moves over what the look took from it, in order, up to the first record of the look
    // that is not in the batch: fillers hold nothing to seal, and the records before it are all in the batch.
    const moved: { slot: string; cursor: number; through: number; sealed: { n: number; seq: number }[] }[] =
      [];
    let reached = 0;
    for (const [slot, { cursor, taken }] of look.slots) {
      let through = cursor;
      const sealed: { n: number; seq: number }[] = [];
      for (const { n, real } of taken) {
        if (real) {
          const record = records.get(`${slot}/${n}`);
          if (!record) break;
          // A commit's events are sealed together or not at all: half a record would be sealed again later.
          if (record.events !== record.place.count)
            throw new Error(`seal takes a commit whole or not at all (${slot}/${n})`);
          sealed.push({ n, seq: record.seq });
          reached += 1;
        }
        through = n;
      }
      if (through > cursor) moved.push({ slot, cursor, through, sealed });
    }
    if (reached !== records.size)
      throw new Error('seal would pass over a record of its look it does not seal');
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
      ...moved.flatMap(({ slot, cursor, through, sealed }) =>
        sealed.length > 0 ? [noteWrite(this.table, slot, cursor + 1, through, sealed)] : [],
      ),
    ];
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // The head moved (another sealer), or another writer held the head at this moment.
      throw new SealConflict('head');
    }
  }

  /**
   * Events waiting after the cursors and the oldest one's commit time. Counts at most `BACKLOG_READ_LIMIT`
   * records per slot (a lower bound past it): `/readyz` calls this, and must not read a large backlog whole.
   */
  async backlog(): Promise<SealBacklog> {
    const { cursors } = await this.readHead();
    let count = 0;
    let oldestTime: string | null = null;
    await Promise.all(
      [...cursors].map(async ([slot, cursor]) => {
        let startKey: Record<string, AttributeValue> | undefined;
        let read = 0;
        do {
          const page = await this.client.send(
            new QueryCommand({
              ...recordsAfterQuery(this.table, slot, cursor, startKey),
              Limit: BACKLOG_READ_LIMIT - read,
              ProjectionExpression: '#count, #time',
              ExpressionAttributeNames: { '#count': 'count', '#time': 'time' },
            }),
          );
          for (const item of page.Items ?? []) {
            const events = Number(item.count?.N ?? 0);
            if (events === 0) continue;
            count += events;
            const time = item.time?.S ?? null;
            if (time && (oldestTime === null || time < oldestTime)) oldestTime = time;
          }
          read += page.Items?.length ?? 0;
          startKey = page.LastEvaluatedKey;
        } while (startKey && read < BACKLOG_READ_LIMIT);
      }),
    );
    return { count, oldestTime };
  }

  /**
   * The seq of each event given as (slot, number, index in its record), from the seal notes; absent for events
   * not sealed yet. One query per record: the first note at or after its number, which covers it when its range
   * starts at or before it.
   */
  async seqsOf(places: { slot: string; n: number; index: number }[]): Promise<Map<string, number>> {
    const firsts = new Map<string, number>();
    const records = new Map<string, { slot: string; n: number }>();
    for (const { slot, n } of places) records.set(`${slot}/${n}`, { slot, n });
    await Promise.all(
      [...records].map(async ([key, { slot, n }]) => {
        const { Items } = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :last',
            ExpressionAttributeValues: {
              ':pk': { S: slotPk(slot) },
              ':from': { S: noteKey(slot, n).sk },
              ':last': { S: NOTE_LAST },
            },
            ConsistentRead: true,
            Limit: 1,
          }),
        );
        const note = Items?.[0];
        if (!note || Number(note.firstN?.N) > n) return;
        for (const pair of (note.seqs?.S ?? '').split(',')) {
          const [number, seq] = pair.split(':');
          if (Number(number) === n) firsts.set(key, Number(seq));
        }
      }),
    );
    const seqs = new Map<string, number>();
    for (const place of places) {
      const first = firsts.get(`${place.slot}/${place.n}`);
      if (first !== undefined) seqs.set(`${place.slot}/${place.n}/${place.index}`, first + place.index);
    }
    return seqs;
  }

  /**
   * The records with consecutive numbers after `cursor`, up to `limit` holding events (fillers do not count).
   * A number left empty while a later one waits was lost with its writer once the gap is `GAP_FILL_MS` old — by
   * this journal's own clock since it first saw it, or by the later record's commit time — and is then closed
   * with a filler and the slot read again.
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
        const expected = cursor + 1 + records.length;
        if (record.n === expected) {
          records.push(record);
          continue;
        }
        const now = this.clock.now().getTime();
        const gap = `${slot}/${expected}`;
        const seen = this.gapsSeen.get(gap) ?? now;
        this.gapsSeen.set(gap, seen);
        const lost = now - seen >= GAP_FILL_MS || now - Date.parse(record.time) >= GAP_FILL_MS;
        if (round > 0 || !lost) return { records, complete: false };
        const time = new Date(now).toISOString();
        for (let n = expected; n < record.n; n++) {
          await writeFiller(this.client, this.table, { slot, n }, time);
          this.gapsSeen.delete(`${slot}/${n}`);
        }
        break;
      }
      if (records.length === read.records.length) {
        // Sightings of gaps this slot has passed are of no more use.
        for (const key of this.gapsSeen.keys()) {
          const [seenSlot, n] = key.split('/');
          if (seenSlot === slot && Number(n) <= cursor) this.gapsSeen.delete(key);
        }
        return { records, complete: read.end };
      }
    }
  }

  /**
   * Records of a slot after `cursor`, in number order, until `limit` of them hold events (fillers are read past,
   * so a run of them never hides what follows); `end` when the slot had no more.
   */
  private async recordsAfter(
    slot: string,
    cursor: number,
    limit: number,
  ): Promise<{ records: SlotRecord[]; end: boolean }> {
    const records: SlotRecord[] = [];
    let real = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...recordsAfterQuery(this.table, slot, cursor, startKey), Limit: limit }),
      );
      for (const item of page.Items ?? []) {
        const events = item.events?.S ? (JSON.parse(item.events.S) as CommittedEvent[]) : [];
        records.push({ n: recordNumber(item.sk?.S ?? ''), events, time: item.time?.S ?? '' });
        if (events.length > 0) real += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && real < limit);
    return { records, end: !startKey };
  }
}

/** The chain head an item holds (`EMPTY_HEAD` before the first seal, when only slots are registered). */
export function chainHeadOf(item: Record<string, AttributeValue> | undefined): ChainHead {
  return item?.seq?.N === undefined ? EMPTY_HEAD : { seq: Number(item.seq.N), hash: item.hash?.S ?? '' };
}

/** The head moved from `from` (conditioned on its seq) to `next`, with the moved slots' new cursors. */
export function headMove(
  table: string,
  from: ChainHead,
  next: ChainHead,
  moved: { slot: string; through: number }[],
): TransactWriteItem {
  const names: Record<string, string> = { '#seq': 'seq', '#hash': 'hash' };
  const values: Record<string, AttributeValue> = {
    ':seq': { N: String(next.seq) },
    ':hash': { S: next.hash },
  };
  const sets = ['#seq = :seq', '#hash = :hash'];
  moved.forEach(({ slot, through }, index) => {
    names[`#c${index}`] = cursorName(slot);
    values[`:c${index}`] = { N: String(through) };
    sets.push(`#c${index} = :c${index}`);
  });
  if (from.seq > 0) values[':from'] = { N: String(from.seq) };
  return {
    Update: {
      TableName: table,
      Key: marshall(HEAD_KEY),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: from.seq > 0 ? '#seq = :from' : 'attribute_not_exists(#seq)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/**
 * What one seal did to a slot: its cursor moved over numbers `firstN`…`lastN` (keyed by `lastN`), and the records
 * among them (the rest are fillers) got these first seqs, as `n:seq` pairs.
 */
function noteWrite(
  table: string,
  slot: string,
  firstN: number,
  lastN: number,
  sealed: { n: number; seq: number }[],
): TransactWriteItem {
  return {
    Put: {
      TableName: table,
      Item: marshall({
        ...noteKey(slot, lastN),
        firstN,
        seqs: sealed.map(({ n, seq }) => `${n}:${seq}`).join(','),
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}
