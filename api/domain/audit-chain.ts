/**
 * The audit log is one hash chain: `seq` rises by exactly one, `hash` is SHA-256 over the RFC 8785 canonical
 * JSON of the event without `hash`, and `prevHash` is the previous event's hash.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { AuditEvent, AuditEventDraft } from './types.js';

// The package is CommonJS whose module.exports is the function; its typings describe an ES default export.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** RFC 8785 canonical JSON. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised');
  return text;
}

export function hashEvent(event: Omit<AuditEvent, 'hash'> | AuditEvent): string {
  const { hash: _ignored, ...rest } = event as AuditEvent;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Places a draft on the chain after `head`. */
export function sealEvent(
  draft: AuditEventDraft,
  head: ChainHead,
  meta: { id: string; time: string; simulated: boolean },
): AuditEvent {
  const unsealed: Omit<AuditEvent, 'hash'> = {
    seq: head.seq + 1,
    id: meta.id,
    time: meta.time,
    type: draft.type,
    actor: draft.actor,
    ...(draft.requestId !== undefined ? { requestId: draft.requestId } : {}),
    ...(draft.roleId !== undefined ? { roleId: draft.roleId } : {}),
    ...(draft.accountId !== undefined ? { accountId: draft.accountId } : {}),
    data: draft.data,
    simulated: meta.simulated,
    prevHash: head.hash,
  };
  // JSON round trip drops `undefined` so the stored event hashes the same as the sealed one.
  const normalised = JSON.parse(JSON.stringify(unsealed)) as Omit<AuditEvent, 'hash'>;
  return { ...normalised, hash: hashEvent(normalised) };
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
