/**
 * The audit log is one hash chain: `seq` rises by exactly one, `hash` is SHA-256 over the RFC 8785 canonical
 * JSON of the event without `hash`, and `prevHash` is the previous event's hash.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { AuditEvent, CommittedEvent } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

/** `"hash":"<64 hex>",` */
const HASH_MEMBER_LENGTH = 8 + 64 + 2;
/**
 * How far from the end of an event line the search for its top-level hash starts: the members from `hash` to
 * the end take about 300 characters for the broker's own ids and types. Longer tails are still found, slower.
 */
const TAIL_HINT = 400;

/**
 * Reads the flat members that follow the top-level hash in an event's canonical JSON —
 * `"hash":"…","id":"…","prevHash":"…",["requestId":"…",]["roleId":"…",]"seq":N,"simulated":B,"time":"…","type":"…"}`
 * with no quote or escape inside the strings — or returns null for any other layout. A hand-written scanner:
 * it runs for every event of a verification and costs a fraction of the SHA-256 beside it (a regex cost as much).
 */
function canonicalTail(line: string): { at: number; hash: string; prevHash: string; seq: number } | null {
  // Inside a JSON string a quote is escaped, so an unescaped `"hash":"` is a member name; the top-level one is
  // the last, since only flat strings, a number and a boolean follow it in canonical order. Searching forward
  // from near the end finds it in a fraction of a whole-line search. A member found there that the tail below
  // accepts is the last one: nothing after it but quote-free flat strings, and a 64-character value that has to
  // equal a hex SHA-256 to be accepted at all. When the hint misses, the whole line is searched from the end.
  const hinted = line.indexOf('"hash":"', line.length - TAIL_HINT);
  if (hinted > 0) {
    const tail = tailAt(line, hinted);
    if (tail) return tail;
  }
  const last = line.lastIndexOf('"hash":"');
  return last > 0 && last !== hinted ? tailAt(line, last) : null;
}

/** The tail of canonicalTail when the top-level `"hash":"` member starts at `at`. */
function tailAt(
  line: string,
  at: number,
): { at: number; hash: string; prevHash: string; seq: number } | null {
  // The tail's strings are read up to their next quote, which is their end only without escapes: one native
  // scan rules them out for the whole tail (a line with any there takes the full path).
  if (line.indexOf('\\', at) !== -1) return null;
  let p = at + 8;
  const hash = line.slice(p, p + 64);
  p += 64;
  if (!textAt(line, p, '","id":"')) return null;
  p = stringEnd(line, p + 8);
  if (p < 0 || !textAt(line, p, ',"prevHash":"')) return null;
  p += 13;
  const prevHash = line.slice(p, p + 64);
  p += 64;
  if (line.charCodeAt(p) !== 34 /* " */) return null;
  p += 1;
  // The optional members.
  if (textAt(line, p, ',"requestId":"')) {
    p = stringEnd(line, p + 14);
    if (p < 0) return null;
  }
  if (textAt(line, p, ',"roleId":"')) {
    p = stringEnd(line, p + 11);
    if (p < 0) return null;
  }
  if (!textAt(line, p, ',"seq":')) return null;
  p += 7;
  const digits = p;
  while (p < line.length && line.charCodeAt(p) >= 48 && line.charCodeAt(p) <= 57) p += 1;
  if (p === digits || p - digits > 16 || line.charCodeAt(digits) === 48) return null;
  const seq = Number(line.slice(digits, p));
  if (textAt(line, p, ',"simulated":true')) p += 17;
  else if (textAt(line, p, ',"simulated":false')) p += 18;
  else return null;
  if (!textAt(line, p, ',"time":"')) return null;
  p = stringEnd(line, p + 9);
  if (p < 0 || !textAt(line, p, ',"type":"')) return null;
  p = stringEnd(line, p + 9);
  if (p !== line.length - 1 || line.charCodeAt(p) !== 125 /* } */) return null;
  // Only lowercase hex reaches the SHA-256 comparison; anything else fails it (the full path names it).
  return { at, hash, prevHash, seq };
}

/**
 * Whether `text` holds `literal` at index `at`. A slice compared with `===`: V8's `startsWith(literal, at)`
 * took over five times as long on Node 20 (0.33 against 0.06 µs on an export's lines), and the scanner makes
 * about eight such checks per event.
 */
export function textAt(text: string, at: number, literal: string): boolean {
  return text.slice(at, at + literal.length) === literal;
}

/** Index just after the closing quote of a string starting at `from` (tailAt has ruled out escapes); -1 if none. */
function stringEnd(line: string, from: number): number {
  const close = line.indexOf('"', from);
  return close < 0 ? -1 : close + 1;
}

/** One-shot SHA-256 where the runtime has it (Node ≥ 20.12): several times cheaper than createHash per event. */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(alg: string, data: string): string }).hash('sha256', text)
    : (text) => createHash('sha256').update(text).digest('hex');

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/**
 * RFC 8785 (JCS) canonical JSON of a JSON value: object members sorted by their UTF-16 code units (what
 * Array.prototype.sort does), numbers and strings serialised exactly as ECMAScript's JSON.stringify does, which
 * is what JCS specifies. Written here rather than taken from a package because verification speed depends on
 * it; the unit tests check it against RFC 8785's examples and against the `canonicalize` package.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite numbers cannot be canonicalised');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`${typeof value} cannot be canonicalised`);
}

/** The serialised form of a sealed event wherever it is stored or exported: its canonical JSON. */
export function serializeEvent(event: AuditEvent): string {
  return canonicalJson(event);
}

export function hashEvent(event: Omit<AuditEvent, 'hash'> | AuditEvent): string {
  const { hash: _ignored, ...rest } = event as AuditEvent;
  return sha256Hex(canonicalJson(rest));
}

/** Places a committed event on the chain after `head`; nothing of the committed event changes. */
export function sealEvent(committed: CommittedEvent, head: ChainHead): AuditEvent {
  const unsealed: Omit<AuditEvent, 'hash'> = {
    seq: head.seq + 1,
    id: committed.id,
    time: committed.time,
    type: committed.type,
    actor: committed.actor,
    ...(committed.requestId !== undefined ? { requestId: committed.requestId } : {}),
    ...(committed.roleId !== undefined ? { roleId: committed.roleId } : {}),
    ...(committed.accountId !== undefined ? { accountId: committed.accountId } : {}),
    data: committed.data,
    simulated: committed.simulated,
    prevHash: head.hash,
  };
  // JSON round trip drops `undefined` so the stored event hashes the same as the sealed one.
  const normalised = JSON.parse(JSON.stringify(unsealed)) as Omit<AuditEvent, 'hash'>;
  return { ...normalised, hash: hashEvent(normalised) };
}

/** Seals committed events one after another from `head`; returns them and the new head. */
export function sealAll(
  committed: CommittedEvent[],
  head: ChainHead,
): { sealed: AuditEvent[]; head: ChainHead } {
  const sealed: AuditEvent[] = [];
  let cursor = head;
  for (const event of committed) {
    const next = sealEvent(event, cursor);
    sealed.push(next);
    cursor = { seq: next.seq, hash: next.hash };
  }
  return { sealed, head: cursor };
}

export type ChainProblem = 'malformed' | 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch';

export type VerifyResult =
  | { ok: true; events: number; firstSeq: number | null; lastSeq: number; lastHash: string }
  | { ok: false; events: number; firstBadSeq: number; reason: ChainProblem; detail: string };

/**
 * Streaming verifier: feed events in order, constant memory. Start from the genesis head, or from the boundary
 * of an exported range (`seq` and `hash` of the event before it).
 */
export class ChainVerifier {
  private head: ChainHead;
  private count = 0;
  private firstSeq: number | null = null;
  private failure: Extract<VerifyResult, { ok: false }> | null = null;

  constructor(start: ChainHead = EMPTY_HEAD) {
    this.head = start;
  }

  /**
   * Like push, for an event read from a line of text. The broker stores and exports events as their canonical
   * JSON, whose members after the top-level `hash` are flat (`id`, `prevHash`, `requestId`, `roleId`, `seq`,
   * `simulated`, `time`, `type`). For such a line the hashed bytes are the line minus its `"hash":"…",` member,
   * so it is checked without parsing or re-canonicalising. The shortcut accepts only when SHA-256 of the
   * stripped line equals the hash — which makes the line exactly the canonical form of the event; anything
   * else (other layouts, escapes in the tail, a mismatch) takes the full path, which names the problem.
   */
  pushLine(line: string): boolean {
    if (this.failure) return false;
    const tail = canonicalTail(line);
    if (tail && tail.seq === this.head.seq + 1 && tail.prevHash === this.head.hash) {
      const stripped = line.slice(0, tail.at) + line.slice(tail.at + HASH_MEMBER_LENGTH);
      if (sha256Hex(stripped) === tail.hash) return this.accept(tail);
    }
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return this.fail(this.head.seq + 1, 'malformed', 'line is not JSON');
    }
    return this.push(event);
  }

  /** Returns false once the chain is broken; later events are ignored. */
  push(event: unknown): boolean {
    if (this.failure) return false;
    const expectedSeq = this.head.seq + 1;
    if (!isEventShape(event)) {
      return this.fail(expectedSeq, 'malformed', 'event is not an audit event object');
    }
    if (event.seq !== expectedSeq) {
      return this.fail(expectedSeq, 'seq_gap', `expected seq ${expectedSeq}, found ${event.seq}`);
    }
    if (event.prevHash !== this.head.hash) {
      return this.fail(event.seq, 'prev_hash_mismatch', 'prevHash does not match the previous event');
    }
    if (hashEvent(event) !== event.hash) {
      return this.fail(event.seq, 'hash_mismatch', 'event content does not match its hash');
    }
    return this.accept(event);
  }

  private accept(event: Pick<AuditEvent, 'seq' | 'hash'>): true {
    this.firstSeq ??= event.seq;
    this.count += 1;
    this.head = { seq: event.seq, hash: event.hash };
    return true;
  }

  result(): VerifyResult {
    if (this.failure) return this.failure;
    return {
      ok: true,
      events: this.count,
      firstSeq: this.firstSeq,
      lastSeq: this.head.seq,
      lastHash: this.head.hash,
    };
  }

  private fail(seq: number, reason: ChainProblem, detail: string): false {
    this.failure = { ok: false, events: this.count, firstBadSeq: seq, reason, detail };
    return false;
  }
}

function isEventShape(value: unknown): value is AuditEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (
    typeof event.seq === 'number' &&
    typeof event.hash === 'string' &&
    typeof event.prevHash === 'string' &&
    typeof event.type === 'string'
  );
}

export function verifyChain(events: Iterable<unknown>, start: ChainHead = EMPTY_HEAD): VerifyResult {
  const verifier = new ChainVerifier(start);
  for (const event of events) {
    if (!verifier.push(event)) break;
  }
  return verifier.result();
}
