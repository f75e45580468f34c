/**
 * The sealed chain in DynamoDB: one item per seal, a *block* (`pk AUDIT`, `sk` = the block's first seq, 12
 * digits) holding the block's events as canonical JSON lines, with its first and last seq and the earliest and
 * latest event time so that range reads can skip whole blocks. One block per seal keeps a seal to one
 * transaction of two items (the block and the chain head) whatever the batch size: DynamoDB Local spends a
 * millisecond or more per transactional item, so one item per event capped the sealer near 200 events/s.
 * Tables written before blocks hold one item per seq with the event in `body`; those read as one-event blocks.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { serializeEvent } from '../../domain/audit-chain.js';
import type { AuditEvent } from '../../domain/types.js';
import type { EntryRef } from '../../ports/audit-journal.js';

export const AUDIT_PK = 'AUDIT';
/** The largest sk of the chain partition (12 digits). */
export const LAST_SEQ_KEY = '999999999999';
/** Events per block at most: one seal, one transaction, one item. */
export const BLOCK_MAX_EVENTS = 400;
/**
 * Bytes of event text per block at most, well under DynamoDB's 400 KB item limit (the refs, times and names
 * come on top). A single larger event still gets a block of its own: its journal record fitted in an item.
 */
export const BLOCK_MAX_BYTES = 300_000;
/** What sealing adds to a committed event's JSON (seq, prevHash, hash), for sizing a block before sealing. */
export const SEALED_OVERHEAD_BYTES = 170;

export const seqKey = (seq: number) => seq.toString().padStart(12, '0');

/** A journal entry ref as one line of text (`pk`, tab, `sk`): ids never hold a tab. */
export const refLine = (ref: EntryRef) => `${ref.pk}\t${ref.sk}`;

export function parseRefLines(text: string): EntryRef[] {
  if (!text) return [];
  return text.split('\n').map((line) => {
    const tab = line.indexOf('\t');
    return { pk: line.slice(0, tab), sk: line.slice(tab + 1) };
  });
}

/**
 * The block item of consecutive sealed events (`refs` in the same order, when the events came from journal
 * entries). Each event is stored as the exact canonical JSON that was hashed, one per line.
 */
export function blockItem(events: AuditEvent[], refs: EntryRef[] = []): Record<string, AttributeValue> {
  const first = events[0];
  const last = events.at(-1);
  if (!first || !last) throw new Error('a chain block holds at least one event');
  let minTime = first.time;
  let maxTime = first.time;
  for (const event of events) {
    if (event.time < minTime) minTime = event.time;
    if (event.time > maxTime) maxTime = event.time;
  }
  return {
    pk: { S: AUDIT_PK },
    sk: { S: seqKey(first.seq) },
    first: { N: String(first.seq) },
    last: { N: String(last.seq) },
    minTime: { S: minTime },
    maxTime: { S: maxTime },
    events: { S: events.map(serializeEvent).join('\n') },
    ...(refs.length > 0 ? { entries: { S: refs.map(refLine).join('\n') } } : {}),
  };
}

/** The event lines of a block item (or of a one-event item of the older layout), in seq order. */
export function blockLines(item: Record<string, AttributeValue>): string[] {
  const events = item.events?.S;
  if (events !== undefined) return events === '' ? [] : events.split('\n');
  const body = item.body?.S;
  return body === undefined ? [] : [body];
}

/** The first and last seq a block item holds. */
export function blockSpan(item: Record<string, AttributeValue>): { first: number; last: number } {
  const first = Number(item.first?.N ?? item.seq?.N ?? item.sk?.S);
  return { first, last: Number(item.last?.N ?? first) };
}

/** Splits a sealed history into blocks as the sealer would cut it (for fixtures that write a chain directly). */
export function* blocksOf(events: Iterable<AuditEvent>): Iterable<AuditEvent[]> {
  let block: AuditEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(serializeEvent(event));
    if (block.length > 0 && (block.length >= BLOCK_MAX_EVENTS || bytes + size > BLOCK_MAX_BYTES)) {
      yield block;
      block = [];
      bytes = 0;
    }
    block.push(event);
    bytes += size;
  }
  if (block.length > 0) yield block;
}
