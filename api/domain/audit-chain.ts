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
 * with no quote or escape inside the strings — when `seq` is the one expected next; null for any other layout or
 * seq (the caller's full path then names the problem). A hand-written scanner: it runs for every event of a
 * verification and costs a fraction of the SHA-256 beside it (a regex cost as much).
 */
function canonicalTail(line: string, seq: number): { at: number; hash: string; prevHash: string } | null {
  // Inside a JSON string a quote is escaped, so an unescaped `"hash":"` is a member name; the top-level one is
  // the last, since only flat strings, a number and a boolean follow it in canonical order. Searching forward
  // from near the end finds it in a fraction of a whole-line search. A member found there that the tail below
  // accepts is the last one: nothing after it but quote-free flat strings, and a 64-character value that has to
  // equal a hex SHA-256 to be accepted at all. When the hint misses, the whole line is searched from the end.
  // The search is for `hash":"` without its opening quote: V8 finds a pattern starting with a rare character
  // about twice as fast as one starting with a quote, which JSON has everywhere.
  const expected = `,"seq":${seq},"simulated":`;
  const hinted = line.indexOf('hash":"', line.length - TAIL_HINT) - 1;
  if (hinted > 0 && line.charCodeAt(hinted) === 34 /* " */) {
    const tail = tailAt(line, hinted, expected);
    if (tail) return tail;
  }
  const last = line.lastIndexOf('"hash":"');
  return last > 0 && last !== hinted ? tailAt(line, last, expected) : null;
}

/**
 * The tail of canonicalTail when the top-level `"hash":"` member starts at `at`; `seqAndSimulated` is
 * `,"seq":N,"simulated":` for the expected N, so one comparison reads the number and the name after it.
 */
function tailAt(
  line: string,
  at: number,
  seqAndSimulated: string,
): { at: number; hash: string; prevHash: string } | null {
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
  // The optional members, each read with the closing quote of the member before it.
  if (textAt(line, p, '","requestId":"')) {
    p = stringEnd(line, p + 15) - 1;
    if (p < 0) return null;
  }
  if (textAt(line, p, '","roleId":"')) {
    p = stringEnd(line, p + 12) - 1;
    if (p < 0) return null;
  }
  if (line.charCodeAt(p) !== 34 /* " */ || !textAt(line, p + 1, seqAndSimulated)) return null;
  p += 1 + seqAndSimulated.length;
  if (textAt(line, p, 'true,"time":"')) p += 13;
  else if (textAt(line, p, 'false,"time":"')) p += 14;
  else return null;
  p = stringEnd(line, p);
  if (p < 0 || !textAt(line, p, ',"type":"')) return null;
  p = stringEnd(line, p + 9);
  if (p !== line.length - 1 || line.charCodeAt(p) !== 125 /* } */) return null;
  // Only lowercase hex reaches the SHA-256 comparison; anything else fails it (the full path names it).
  return { at, hash, prevHash };
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
    return this.pushText(line, false);
  }

  /**
   * Like pushLine, and the line must be exactly its event's canonical JSON (export format /2, where the chain
   * alone pins the event bytes). A line the shortcut accepts is canonical already: its stripped form hashes to the
   * hash member, which the next line's prevHash (and, for the last, the signed manifest) pins to what the sealer
   * hashed — canonical JSON — and the rigid tail puts the hash member where canonical order does.
   */
  pushCanonicalLine(line: string): boolean {
    return this.pushText(line, true);
  }

  private pushText(line: string, canonical: boolean): boolean {
    if (this.failure) return false;
    const seq = this.head.seq + 1;
    const tail = canonicalTail(line, seq);
    if (tail && tail.prevHash === this.head.hash) {
      const stripped = line.slice(0, tail.at) + line.slice(tail.at + HASH_MEMBER_LENGTH);
      if (sha256Hex(stripped) === tail.hash) return this.accept({ seq, hash: tail.hash });
    }
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return this.fail(this.head.seq + 1, 'malformed', 'line is not JSON');
    }
    const before = { head: this.head, count: this.count, firstSeq: this.firstSeq };
    if (!this.push(event)) return false;
    if (canonical && canonicalJson(event) !== line) {
      // The event chains, but its bytes are not the ones the chain pins: not accepted.
      ({ head: this.head, count: this.count, firstSeq: this.firstSeq } = before);
      const seq = (event as AuditEvent).seq;
      return this.fail(seq, 'malformed', `the line of seq ${seq} is not its event's canonical JSON`);
    }
    return true;
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

  /**
   * Links a run of lines checked on its own (`verifySegment`, possibly on another thread) onto this chain: its
   * first line must follow the head, then its own result counts. Reports exactly what pushing its lines one by
   * one would have reported.
   */
  pushSegment(segment: SegmentResult): boolean {
    if (this.failure) return false;
    const expectedSeq = this.head.seq + 1;
    const { claims, result } = segment;
    if (segment.lines === 0 && result.ok) return true;
    if (!claims) {
      // The first line is no event at all; the segment's verifier named it from a placeholder position.
      const detail = result.ok ? 'event is not an audit event object' : result.detail;
      return this.fail(expectedSeq, 'malformed', detail);
    }
    if (claims.seq + 1 !== expectedSeq) {
      return this.fail(expectedSeq, 'seq_gap', `expected seq ${expectedSeq}, found ${claims.seq + 1}`);
    }
    if (claims.hash !== this.head.hash) {
      return this.fail(claims.seq + 1, 'prev_hash_mismatch', 'prevHash does not match the previous event');
    }
    if (!result.ok) {
      this.failure = { ...result, events: this.count + result.events };
      return false;
    }
    if (result.events === 0) return true;
    this.firstSeq ??= result.firstSeq;
    this.count += result.events;
    this.head = { seq: result.lastSeq, hash: result.lastHash };
    return true;
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

/** What a run of event lines says of itself, checked without the event before it (see `verifySegment`). */
export interface SegmentResult {
  /** The position the first line claims to follow (its seq − 1 and its prevHash); null when it is no event. */
  claims: ChainHead | null;
  /** The run checked from that claimed position. */
  result: VerifyResult;
  /** Non-blank lines in the run. */
  lines: number;
}

/**
 * Checks a run of complete event lines (each ending in a newline) from the position its first line claims,
 * with pushLine or, for export format /2, pushCanonicalLine; blank lines are skipped, or refused in /2. The
 * claim is checked when the run is linked (`ChainVerifier.pushSegment`), so runs of one file can be checked in
 * parallel. Pure: the same text gives the same result on any thread.
 */
export function verifySegment(text: string, canonical: boolean): SegmentResult {
  let start = 0;
  let lines = 0;
  let verifier: ChainVerifier | null = null;
  let claims: ChainHead | null = null;
  for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
    const line = text.slice(start, newline);
    start = newline + 1;
    if (isBlankLine(line)) {
      if (!canonical) continue;
      const at = verifier?.result();
      const seq = at?.ok && at.events > 0 ? at.lastSeq : claims ? claims.seq : 0;
      return {
        claims,
        lines,
        result: {
          ok: false,
          events: at?.events ?? 0,
          firstBadSeq: seq + 1,
          reason: 'malformed',
          detail: BLANK_LINE_DETAIL,
        },
      };
    }
    lines += 1;
    if (!verifier) {
      claims = claimedStart(line);
      // Not an event: checked from a placeholder so the failure is named as pushLine names it.
      verifier = new ChainVerifier(claims ?? EMPTY_HEAD);
    }
    const ok = canonical ? verifier.pushCanonicalLine(line) : verifier.pushLine(line);
    if (!ok) break;
  }
  return { claims, lines, result: (verifier ?? new ChainVerifier(EMPTY_HEAD)).result() };
}

/** Empty or whitespace only; cheap for the usual line, which starts with `{`. */
export function isBlankLine(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '');
}

/** Why a blank line fails format /2: nothing pins it, so it could be added or removed unnoticed. */
export const BLANK_LINE_DETAIL = 'a blank line, which export format /2 does not allow';

function claimedStart(line: string): ChainHead | null {
  try {
    const event = JSON.parse(line) as unknown;
    return isEventShape(event) ? { seq: event.seq - 1, hash: event.prevHash } : null;
  } catch {
    return null;
  }
}

export function verifyChain(events: Iterable<unknown>, start: ChainHead = EMPTY_HEAD): VerifyResult {
  const verifier = new ChainVerifier(start);
  for (const event of events) {
    if (!verifier.push(event)) break;
  }
  return verifier.result();
}
