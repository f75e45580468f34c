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
 * Where the top-level `"hash":"…",` member of the event line `text[start, end)` starts, when the line reads as
 * the canonical JSON of the event at `seq` whose prevHash is `prevHash`; -1 otherwise (the caller's full path
 * then parses the line and names the problem). Checked: the member follows a comma (or opens the object); from
 * it to the line's end come the flat members canonical order puts after `hash` — `id`, `prevHash` holding
 * `prevHash`, optional `requestId` and `roleId`, `seq` holding `seq` (a safe integer), `simulated`, `time`,
 * `type` — then the closing brace, with no escaped quote ending a string.
 *
 * Why the member then sits where canonical order puts `hash`. Every quote after the member is where that
 * grammar puts one, and the only structural character left is the final brace, so the member is a top-level
 * one: a member inside actor or data would be followed by that object's own closing brace and more members
 * (`audit-chain.test.ts`, "refuses a line whose hash member was moved…", nests a look-alike of the whole tail).
 * The caller accepts the line only when SHA-256 of the line without the member equals the member's value. What
 * makes an accepted chain worth anything is the trusted signature over its last hash: it pins the last line's
 * stripped text to what the sealer hashed (SHA-256 is collision resistant), and from there each prevHash pins
 * the line before, back to the signed start; so every stripped line is the sealer's canonical JSON of an event,
 * and with the member at its place the line is that event's canonical JSON. Without a signature nothing is
 * pinned, but a line the shortcut accepts is still read as JSON.parse reads it (its seq, its link, the end of
 * the object), so the full path and the parallel segments reach the same verdict on any file.
 *
 * Runs on the text as it was read, no line sliced out: once per event of a verification, beside one SHA-256.
 * Its searches can run past the line's end when the line is not what they look for; a line that fails makes
 * the verifier slice the lines after it (ChainVerifier.pushSpan), so hostile text stays linear.
 */
function canonicalHashAt(text: string, start: number, end: number, seq: number, prevHash: string): number {
  // The search is for `hash":"` without its opening quote: V8 finds a pattern starting with a rare character
  // about twice as fast as one starting with a quote, which JSON has everywhere. Searching forward from near
  // the end finds the member in a fraction of a search from the start; a nested `hash` found there first, or a
  // tail longer than the hint, gets one more try at the last member of the line.
  const hinted = text.indexOf('hash":"', Math.max(start, end - TAIL_HINT)) - 1;
  if (hinted >= start && hinted < end) {
    const at = hashMemberAt(text, hinted, end, seq, prevHash);
    if (at >= 0) return at;
  }
  const last = text.lastIndexOf('"hash":"', end - HASH_MEMBER_LENGTH);
  return last >= start && last !== hinted ? hashMemberAt(text, last, end, seq, prevHash) : -1;
}

/** canonicalHashAt for the member at `at` (the character before the `hash":"` found, checked to be a quote). */
function hashMemberAt(text: string, at: number, end: number, seq: number, prevHash: string): number {
  // The member follows a comma (or opens the object), as in canonical JSON: a quote after a backslash is string
  // content, and a member read there would be part of a key JSON.parse reads (\"hash":"…). The tail is then
  // read member by member, as canonical order lays it out, to the line's last character. Each position only
  // moves forward and the last must be the line's end, so a string that closes past the end fails there.
  const before = text.charCodeAt(at - 1);
  if (before !== 44 /* , */ && before !== 123 /* { */) return -1;
  if (text.charCodeAt(at) !== 34 /* " */ || !literalAt(text, at + HASH_MEMBER_LENGTH - 2, '","id":"'))
    return -1;
  let p = stringEnd(text, at + HASH_MEMBER_LENGTH + 6);
  if (p < 0 || !literalAt(text, p, '","prevHash":"') || text.slice(p + 14, p + 78) !== prevHash) return -1;
  p += 78;
  // `"requestId"` and `"roleId"` have an `r` where `"seq"` has its `s`, and differ in the letter after it.
  // Optional members and the two spellings of `simulated` are compared in place (textAt): a line the shortcut
  // accepts need not hold them, so a search for them could run on through every later line.
  if (text.charCodeAt(p + 3) === 114 /* r */ && text.charCodeAt(p + 4) === 101 /* e */) {
    if (!textAt(text, p, '","requestId":"')) return -1;
    p = stringEnd(text, p + 15);
  }
  if (p >= 0 && text.charCodeAt(p + 3) === 114 /* r */ && text.charCodeAt(p + 4) === 111 /* o */) {
    if (!textAt(text, p, '","roleId":"')) return -1;
    p = stringEnd(text, p + 12);
  }
  if (p < 0 || !literalAt(text, p, '","seq":')) return -1;
  // The seq as digits, compared as a number: no expected text is built per event.
  p += 8;
  let code = text.charCodeAt(p);
  if (code < 49 || code > 57) return -1; // no leading zero (seq starts at 1), no sign
  let value = 0;
  do {
    value = value * 10 + code - 48;
    code = text.charCodeAt(++p);
  } while (code >= 48 && code <= 57);
  // Past 2^53 digits no longer read as one number: such a seq is the full path's.
  if (value !== seq || value > Number.MAX_SAFE_INTEGER) return -1;
  const simulated = text.charCodeAt(p + 13) === 102 /* f */ ? SIMULATED_FALSE : SIMULATED_TRUE;
  if (!textAt(text, p, simulated)) return -1;
  p = stringEnd(text, p + simulated.length);
  if (p < 0 || !literalAt(text, p, '","type":"')) return -1;
  return stringEnd(text, p + 10) === end - 2 && text.charCodeAt(end - 1) === 125 /* } */ ? at : -1;
}

const SIMULATED_FALSE = ',"simulated":false,"time":"';
const SIMULATED_TRUE = ',"simulated":true,"time":"';

/**
 * Whether `text` holds `literal` at `at`, for the members hashMemberAt requires: a search that starts there
 * answers at once when it does (cheaper than slicing and comparing). When it does not, the search runs on to the
 * literal's next occurrence. A candidate that fails this way is either a member nested before the line's own
 * (whose tail, if the line is accepted, holds every required literal: the search stops in this line) or the
 * line misses the shortcut, and the verifier then reads every later line on its own (ChainVerifier.pushSpan).
 */
function literalAt(text: string, at: number, literal: string): boolean {
  return text.indexOf(literal, at) === at;
}

/**
 * Where the string whose text starts at `from` closes: the index of its closing quote, or -1 when no quote
 * follows or the one found is escaped (a backslash before it; the full path reads such a line).
 */
function stringEnd(text: string, from: number): number {
  const close = text.indexOf('"', from);
  return close === -1 || text.charCodeAt(close - 1) === 92 /* \ */ ? -1 : close;
}

/**
 * Whether `text` holds `literal` at index `at`. A slice compared with `===`: V8's `startsWith(literal, at)`
 * took over five times as long on Node 20 (0.33 against 0.06 µs on an export's lines).
 */
export function textAt(text: string, at: number, literal: string): boolean {
  return text.slice(at, at + literal.length) === literal;
}

/** One-shot SHA-256 where the runtime has it (Node ≥ 20.12): several times cheaper than createHash per event. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256Hex: (text: string) => string = oneShot
  ? (text) => oneShot('sha256', text)
  : (text) => createHash('sha256').update(text).digest('hex');

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A position a chain can continue from, as the sealer writes one: a seq whose successor is still a safe integer,
 * and a SHA-256 in lowercase hex. What an export's boundary names must be one (the tail reader relies on the
 * prevHash it expects holding no quote).
 */
export function isChainHead(value: { seq: unknown; hash: unknown }): value is ChainHead {
  return (
    typeof value.seq === 'number' &&
    Number.isSafeInteger(value.seq + 1) &&
    value.seq >= 0 &&
    typeof value.hash === 'string' &&
    SHA256_HEX.test(value.hash)
  );
}

/**
 * RFC 8785 (JCS) canonical JSON of a JSON value: object members sorted by their UTF-16 code units (what
 * Array.prototype.sort does), numbers and strings serialised exactly as ECMAScript's JSON.stringify does, which
 * is what JCS specifies. Written here rather than taken from a package because verification speed depends on
 * it; the unit tests check it against RFC 8785's examples and against the `canonicalize` package.
 */
export function canonicalJson(value: unknown): string {
  // What JSON.parse makes of a canonical line has its members in canonical order already, and JSON.stringify
  // keeps that order: one native call instead of building the text member by member (about a third of the time).
  return inCanonicalOrder(value) ? JSON.stringify(value) : canonicalMembers(value);
}

/**
 * Whether JSON.stringify writes `value` exactly as RFC 8785 does: every object's keys already ascending by UTF-16
 * code units (as Object.keys lists them, which is the order JSON.stringify writes), only finite numbers, and
 * nothing JSON.stringify would treat differently from canonicalMembers (toJSON, functions, symbols, bigints).
 */
function inCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (Array.isArray(value)) {
        for (const item of value) if (item !== undefined && !inCanonicalOrder(item)) return false;
        return true;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let index = 0; index < keys.length; index++) {
        const key = keys[index]!;
        if (index > 0 && !(keys[index - 1]! < key)) return false;
        const member = record[key];
        if (member !== undefined && !inCanonicalOrder(member)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** canonicalJson member by member, sorting each object's keys. */
function canonicalMembers(value: unknown): string {
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
  // The head as two fields rather than a ChainHead: accepting an event then allocates nothing.
  private headSeq: number;
  private headHash: string;
  private count = 0;
  private firstSeq: number | null = null;
  private failure: Extract<VerifyResult, { ok: false }> | null = null;
  /** Set once a line missed the shortcut: later lines are searched on their own (see pushSpan). */
  private linesApart = false;

  constructor(start: ChainHead = EMPTY_HEAD) {
    this.headSeq = start.seq;
    this.headHash = start.hash;
  }

  /**
   * Like push, for an event read from a line of text. The broker stores and exports events as their canonical
   * JSON, whose members after the top-level `hash` are flat (`id`, `prevHash`, `requestId`, `roleId`, `seq`,
   * `simulated`, `time`, `type`). For such a line the hashed bytes are the line minus its `"hash":"…",` member,
   * so it is checked without parsing or re-canonicalising (see canonicalHashAt). The shortcut accepts only when
   * SHA-256 of the stripped line equals the hash; anything else (other layouts, a mismatch) takes the full path,
   * which names the problem.
   */
  pushLine(line: string): boolean {
    return this.pushSpan(line, 0, line.length, false);
  }

  /**
   * Like pushLine, and the line must be exactly its event's canonical JSON (export format /2, where the chain
   * alone pins the event bytes). A line the shortcut accepts is canonical already once a trusted signature
   * covers the chain: its stripped form is then what the sealer hashed, and the hash member sits where
   * canonical order puts it (canonicalHashAt has the argument). A line of the full path is compared with the
   * canonical JSON of what it parses to.
   */
  pushCanonicalLine(line: string): boolean {
    return this.pushSpan(line, 0, line.length, true);
  }

  /**
   * pushLine (or, with `canonical`, pushCanonicalLine) for the line `text[start, end)`, read where it stands in
   * the text: the usual event costs no copy of its line.
   */
  pushSpan(text: string, start: number, end: number, canonical: boolean): boolean {
    if (this.failure) return false;
    const whole = start === 0 && end === text.length;
    if (this.linesApart && !whole) {
      const line = text.slice(start, end);
      return this.pushSpan(line, 0, line.length, canonical);
    }
    const seq = this.headSeq + 1;
    const at = canonicalHashAt(text, start, end, seq, this.headHash);
    if (at >= 0) {
      const hash = sha256Hex(text.slice(start, at) + text.slice(at + HASH_MEMBER_LENGTH, end));
      if (text.slice(at + 8, at + 72) === hash) return this.accept(seq, hash);
    }
    // A search that found nothing in this line ran on through the rest of the text; lines of that kind (a `/1`
    // file written by another tool, a crafted one) would make every line cost the whole chunk. From the first
    // such line on, each line is copied out before it is searched.
    this.linesApart = true;
    return this.pushParsed(whole ? text : text.slice(start, end), canonical);
  }

  /** The full path of pushSpan: the line parsed and checked as an event, then (`canonical`) its bytes. */
  private pushParsed(line: string, canonical: boolean): boolean {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return this.fail(this.headSeq + 1, 'malformed', NOT_JSON);
    }
    const before = { seq: this.headSeq, hash: this.headHash, count: this.count, firstSeq: this.firstSeq };
    if (!this.push(event)) return false;
    if (canonical && canonicalJson(event) !== line) {
      // The event chains, but its bytes are not the ones the chain pins: not accepted.
      ({ seq: this.headSeq, hash: this.headHash, count: this.count, firstSeq: this.firstSeq } = before);
      const seq = (event as AuditEvent).seq;
      return this.fail(seq, 'malformed', `the line of seq ${seq} is not its event's canonical JSON`);
    }
    return true;
  }

  /** Returns false once the chain is broken; later events are ignored. */
  push(event: unknown): boolean {
    if (this.failure) return false;
    const expectedSeq = this.headSeq + 1;
    if (!isEventShape(event)) {
      return this.fail(expectedSeq, 'malformed', NOT_AN_EVENT);
    }
    if (event.seq !== expectedSeq) {
      return this.fail(expectedSeq, 'seq_gap', `expected seq ${expectedSeq}, found ${event.seq}`);
    }
    if (event.prevHash !== this.headHash) {
      return this.fail(event.seq, 'prev_hash_mismatch', 'prevHash does not match the previous event');
    }
    if (hashEvent(event) !== event.hash) {
      return this.fail(event.seq, 'hash_mismatch', 'event content does not match its hash');
    }
    return this.accept(event.seq, event.hash);
  }

  /**
   * Links a run of lines checked on its own (`verifySegment`, possibly on another thread) onto this chain: its
   * first line must follow the head, then its own result counts. Reports exactly what pushing its lines one by
   * one would have reported.
   */
  pushSegment(segment: SegmentResult): boolean {
    if (this.failure) return false;
    const expectedSeq = this.headSeq + 1;
    const { claims, result } = segment;
    if (segment.lines === 0 && result.ok) return true;
    if (!claims) {
      // The first line is no event at all; the segment's verifier named it from a placeholder position.
      const detail = result.ok ? NOT_AN_EVENT : result.detail;
      return this.fail(expectedSeq, 'malformed', detail);
    }
    const follows = claims.seq === expectedSeq && claims.prevHash === this.headHash;
    // A line that does not follow misses the shortcut on one thread, and the full path parses it.
    if (!follows && segment.firstProblem) return this.fail(expectedSeq, 'malformed', segment.firstProblem);
    if (claims.seq !== expectedSeq) {
      return this.fail(expectedSeq, 'seq_gap', `expected seq ${expectedSeq}, found ${claims.seq}`);
    }
    if (claims.prevHash !== this.headHash) {
      return this.fail(claims.seq, 'prev_hash_mismatch', 'prevHash does not match the previous event');
    }
    if (!result.ok) {
      this.failure = { ...result, events: this.count + result.events };
      return false;
    }
    if (result.events === 0) return true;
    this.firstSeq ??= result.firstSeq;
    this.count += result.events;
    this.headSeq = result.lastSeq;
    this.headHash = result.lastHash;
    return true;
  }

  private accept(seq: number, hash: string): true {
    this.firstSeq ??= seq;
    this.count += 1;
    this.headSeq = seq;
    this.headHash = hash;
    return true;
  }

  result(): VerifyResult {
    if (this.failure) return this.failure;
    return {
      ok: true,
      events: this.count,
      firstSeq: this.firstSeq,
      lastSeq: this.headSeq,
      lastHash: this.headHash,
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

/** The seq an event line has and the prevHash it names. */
export interface LineClaims {
  seq: number;
  prevHash: string;
}

/** What a run of event lines says of itself, checked without the event before it (see `verifySegment`). */
export interface SegmentResult {
  /**
   * The first line's own seq and prevHash, read as one thread reads a line: from its tail when the shortcut can
   * read it there (see `lineClaims`), else as JSON.parse reads it; null when it is no event.
   */
  claims: LineClaims | null;
  /**
   * Why the full path refuses the first line (not JSON, or no event), or null when it parses as an event: one
   * thread's verdict on that line when it does not follow the chain (see `ChainVerifier.pushSegment`).
   */
  firstProblem: string | null;
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
  let claims: LineClaims | null = null;
  let firstProblem: string | null = null;
  for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
    const from = start;
    start = newline + 1;
    if (verifier && text.charCodeAt(from) === 123 /* { */) {
      lines += 1;
      if (verifier.pushSpan(text, from, newline, canonical)) continue;
      break;
    }
    const line = text.slice(from, newline);
    if (isBlankLine(line)) {
      if (!canonical) continue;
      const at = verifier?.result();
      const firstBadSeq = at?.ok && at.events > 0 ? at.lastSeq + 1 : (claims?.seq ?? 1);
      return {
        claims,
        firstProblem,
        lines,
        result: {
          ok: false,
          events: at?.events ?? 0,
          firstBadSeq,
          reason: 'malformed',
          detail: BLANK_LINE_DETAIL,
        },
      };
    }
    lines += 1;
    if (!verifier) {
      ({ claims, firstProblem } = lineClaims(line));
      // Not an event: checked from a placeholder so the failure is named as pushLine names it.
      verifier = new ChainVerifier(claims ? { seq: claims.seq - 1, hash: claims.prevHash } : EMPTY_HEAD);
    }
    const ok = canonical ? verifier.pushCanonicalLine(line) : verifier.pushLine(line);
    if (!ok) break;
  }
  return { claims, firstProblem, lines, result: (verifier ?? new ChainVerifier(EMPTY_HEAD)).result() };
}

/** Empty or whitespace only; cheap for the usual line, which starts with `{`. */
export function isBlankLine(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '');
}

/** Why a blank line fails format /2: nothing pins it, so it could be added or removed unnoticed. */
export const BLANK_LINE_DETAIL = 'a blank line, which export format /2 does not allow';

/**
 * Where a line claims to follow, read as one thread reads it: a line whose tail the shortcut reads (the flat
 * members after the last `"hash"`, see hashMemberAt) claims the seq and prevHash written there, whatever comes
 * before; any other line claims what JSON.parse reads. A line that is not JSON can still have such a tail, and
 * one thread accepts it when its hash matches (an unsigned file proves nothing either way): reading only
 * JSON.parse here made such a line fail where a segment starts and pass everywhere else.
 */
function lineClaims(line: string): { claims: LineClaims | null; firstProblem: string | null } {
  let event: unknown;
  let firstProblem: string | null = null;
  try {
    event = JSON.parse(line);
    if (!isEventShape(event)) firstProblem = NOT_AN_EVENT;
  } catch {
    firstProblem = NOT_JSON;
  }
  const tail = tailClaims(line);
  if (tail) return { claims: tail, firstProblem };
  const claims = firstProblem
    ? null
    : { seq: (event as AuditEvent).seq, prevHash: (event as AuditEvent).prevHash };
  return { claims, firstProblem };
}

/**
 * The seq and prevHash a line's tail holds, when the tail reads as hashMemberAt requires with a prevHash in
 * lowercase hex (as every prevHash one thread expects is: see isChainHead); null otherwise.
 */
function tailClaims(line: string): LineClaims | null {
  const at = line.lastIndexOf('"hash":"');
  const prev = line.indexOf('","prevHash":"', at) + 14;
  if (at < 0 || prev < 14) return null;
  const prevHash = line.slice(prev, prev + 64);
  // Hex holds no quote, so the first `,"seq":` after it is the tail's own.
  const digits = line.indexOf('","seq":', prev) + 8;
  if (digits < 8 || !SHA256_HEX.test(prevHash)) return null;
  const seq = Number.parseInt(line.slice(digits, digits + 17), 10);
  return hashMemberAt(line, at, line.length, seq, prevHash) === at ? { seq, prevHash } : null;
}

const NOT_JSON = 'line is not JSON';
const NOT_AN_EVENT = 'event is not an audit event object';

export function verifyChain(events: Iterable<unknown>, start: ChainHead = EMPTY_HEAD): VerifyResult {
  const verifier = new ChainVerifier(start);
  for (const event of events) {
    if (!verifier.push(event)) break;
  }
  return verifier.result();
}
