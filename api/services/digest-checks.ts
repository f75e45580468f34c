/**
 * Reading and checking signed digests and manifests: a compact ES256 JWS verified against trusted keys (jose),
 * one digest's signature and shape, the digest chain, and the checker that holds a range of events against its
 * digests. Apart from digests.ts (building and signing) so that the shipper, which verifies only when it finds a
 * digest already in the bunker after a lost cursor, loads jose's verification on that path instead of at every
 * cold start: esbuild keeps a module in a statically loaded chunk as soon as anything the entry loads statically
 * imports it, so nothing the shipper imports may import this file.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { GENESIS_HASH } from '../domain/audit-chain.js';
import { digestKey } from '../domain/exports/bunker-layout.js';
import type { AuditEvent } from '../domain/types.js';
import {
  DEFAULT_DIGEST_POLICY,
  DIGEST_JWS_TYP,
  DIGEST_TYPE,
  type DigestPayload,
  type DigestPolicy,
  HEARTBEAT_GRACE_MINUTES,
  sha256HexSync,
} from './digests.js';
export type JwsCheck<T> =
  | { ok: true; payload: T; kid: string }
  | { ok: false; detail: string; untrusted?: boolean };

/** Verifies a compact ES256 JWS against a JWKS; the key is chosen by `kid`. */
export async function verifyCompact<T>(jws: string, keys: JSONWebKeySet, typ: string): Promise<JwsCheck<T>> {
  try {
    const result = await compactVerify(jws.trim(), createLocalJWKSet(keys), { algorithms: ['ES256'] });
    if (result.protectedHeader.typ !== typ) return { ok: false, detail: `typ is not ${typ}` };
    return {
      ok: true,
      payload: JSON.parse(new TextDecoder().decode(result.payload)) as T,
      kid: String(result.protectedHeader.kid),
    };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'ERR_JWS_INVALID';
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') {
      return {
        ok: false,
        untrusted: true,
        detail: `signed by kid ${kidOf(jws)}, which is not a trusted key`,
      };
    }
    return { ok: false, detail: `signature does not verify (${code})` };
  }
}

/** The `kid` a compact JWS claims (unverified), for messages. */
export function kidOf(jws: string): string {
  try {
    return String(decodeProtectedHeader(jws.trim()).kid ?? '(none)');
  } catch {
    return '(unreadable)';
  }
}

export type DigestProblem =
  | 'digest_malformed'
  | 'digest_signature_invalid'
  | 'untrusted_key'
  | 'digest_gap'
  | 'digest_mismatch'
  | 'digest_missing'
  | 'stale';

export interface DigestFailure {
  firstBadSeq: number;
  reason: DigestProblem;
  detail: string;
}

export interface LoadedDigest {
  key: string;
  jws: string;
  kid: string;
  payload: DigestPayload;
}

/** Checks one digest's signature against trusted keys and its shape; the failure names its key. */
export async function readDigest(
  key: string,
  jws: string,
  keys: JSONWebKeySet,
): Promise<{ ok: true; digest: LoadedDigest } | { ok: false; failure: DigestFailure }> {
  const check = await verifyCompact<DigestPayload>(jws, keys, DIGEST_JWS_TYP);
  const claimed = /(\d{12})-\d{12}\.jws$/.exec(key)?.[1];
  const seq = claimed ? Number(claimed) : 0;
  if (!check.ok) {
    return {
      ok: false,
      failure: {
        firstBadSeq: seq,
        reason: check.untrusted ? 'untrusted_key' : 'digest_signature_invalid',
        detail: `${key}: ${check.detail}`,
      },
    };
  }
  const payload = check.payload;
  const integers = [payload.n, payload.fromSeq, payload.toSeq, payload.count];
  if (
    payload.type !== DIGEST_TYPE ||
    payload.v !== 2 ||
    !integers.every((value) => Number.isInteger(value) && value >= 0) ||
    payload.n < 1 ||
    payload.count !== payload.toSeq - payload.fromSeq + 1 ||
    typeof payload.time !== 'string' ||
    Number.isNaN(Date.parse(payload.time))
  ) {
    return {
      ok: false,
      failure: { firstBadSeq: seq, reason: 'digest_malformed', detail: `${key} is not a digest` },
    };
  }
  if (key !== '' && !key.endsWith(digestKey(payload).slice('digests/'.length))) {
    return {
      ok: false,
      failure: {
        firstBadSeq: payload.fromSeq,
        reason: 'digest_malformed',
        detail: `${key} holds digest ${payload.n} ending at seq ${payload.toSeq}`,
      },
    };
  }
  return { ok: true, digest: { key, jws: jws.trim(), kid: check.kid, payload } };
}

/**
 * The digest chain, one digest at a time in order: numbers without gaps, each naming the previous one's SHA-256,
 * ranges that continue each other, times that never go back. `partial` chains (an export's) may start anywhere.
 */
export class DigestChain {
  private previous: LoadedDigest | null = null;
  readonly kids = new Set<string>();
  count = 0;
  first: LoadedDigest | null = null;

  constructor(private readonly partial = false) {}

  get newest(): LoadedDigest | null {
    return this.previous;
  }

  add(digest: LoadedDigest): DigestFailure | null {
    const { n, fromSeq, prevDigest, firstPrevHash, time } = digest.payload;
    const previous = this.previous;
    if (!previous) {
      if (
        !this.partial &&
        (n !== 1 || fromSeq !== 1 || prevDigest !== null || firstPrevHash !== GENESIS_HASH)
      ) {
        return {
          firstBadSeq: 1,
          reason: 'digest_missing',
          detail: `the first digest is ${digest.key}, not digest 1 from seq 1`,
        };
      }
    } else {
      const before = previous.payload;
      if (n !== before.n + 1) {
        return {
          firstBadSeq: before.toSeq + 1,
          reason: 'digest_missing',
          detail: `digest ${before.n + 1} is missing (${previous.key} is followed by ${digest.key})`,
        };
      }
      if (prevDigest !== sha256HexSync(previous.jws)) {
        return {
          firstBadSeq: fromSeq,
          reason: 'digest_gap',
          detail: `${digest.key} does not name the previous digest`,
        };
      }
      if (fromSeq !== before.toSeq + 1 || firstPrevHash !== before.lastHash) {
        return {
          firstBadSeq: Math.min(fromSeq, before.toSeq + 1),
          reason: 'digest_gap',
          detail: `${digest.key} does not continue where ${previous.key} ended (seq ${before.toSeq})`,
        };
      }
      if (Date.parse(time) < Date.parse(before.time)) {
        return {
          firstBadSeq: fromSeq,
          reason: 'digest_malformed',
          detail: `${digest.key} is older than ${previous.key}`,
        };
      }
    }
    if (digest.payload.count === 0 && digest.payload.lastHash !== firstPrevHash) {
      return {
        firstBadSeq: fromSeq,
        reason: 'digest_malformed',
        detail: `heartbeat ${digest.key} moves the hash`,
      };
    }
    this.first ??= digest;
    this.previous = digest;
    this.kids.add(digest.kid);
    this.count += 1;
    return null;
  }
}

/**
 * Checks a set of digests (signatures, their own chain) and then, fed the events in seq order, that each
 * digest's `lastHash` is the hash of its `toSeq` event. Memory grows with the number of digests, not events.
 */
export class DigestChecker {
  /** The hash each signed `toSeq` ends on (heartbeats repeat the one before them). */
  private readonly endsAt = new Map<number, LoadedDigest>();
  private readonly starts = new Map<number, LoadedDigest>();
  private chain = new DigestChain();
  private failure: DigestFailure | null = null;
  private lastEvent: { seq: number; time: string } | null = null;
  private firstUndigested: { seq: number; time: string } | null = null;

  /** Loads and checks digests; returns the first problem found among the digests themselves. */
  async load(
    digests: Array<{ key: string; jws: string }>,
    keys: JSONWebKeySet,
  ): Promise<DigestFailure | null> {
    const loaded: LoadedDigest[] = [];
    for (const { key, jws } of digests) {
      const read = await readDigest(key, jws, keys);
      if (!read.ok) return this.fail(read.failure);
      loaded.push(read.digest);
    }
    loaded.sort((a, b) => a.payload.n - b.payload.n);
    this.chain = new DigestChain();
    for (const digest of loaded) {
      const problem = this.chain.add(digest);
      if (problem) return this.fail(problem);
      if (digest.payload.count > 0) {
        this.endsAt.set(digest.payload.toSeq, digest);
        this.starts.set(digest.payload.fromSeq, digest);
      }
    }
    return null;
  }

  get count(): number {
    return this.chain.count;
  }

  get kids(): string[] {
    return [...this.chain.kids];
  }

  /** The newest digest: how far the signatures reach, and its time for the heartbeat check. */
  get newest(): DigestPayload | null {
    return this.chain.newest?.payload ?? null;
  }

  get lastDigestSeq(): number {
    return this.newest?.toSeq ?? 0;
  }

  /** Feed every event in seq order, after it passed the chain check. */
  push(event: Pick<AuditEvent, 'seq' | 'hash' | 'prevHash' | 'time'>): boolean {
    if (this.failure) return false;
    this.lastEvent = { seq: event.seq, time: event.time };
    const starting = this.starts.get(event.seq);
    if (starting && starting.payload.firstPrevHash !== event.prevHash) {
      return !this.fail({
        firstBadSeq: event.seq,
        reason: 'digest_mismatch',
        detail: `${starting.key} starts from a different chain`,
      });
    }
    const ending = this.endsAt.get(event.seq);
    if (ending && ending.payload.lastHash !== event.hash) {
      const { fromSeq, toSeq } = ending.payload;
      return !this.fail({
        firstBadSeq: fromSeq,
        reason: 'digest_mismatch',
        detail: `the events ${fromSeq}..${toSeq} were rewritten: ${ending.key} signs a different hash for seq ${toSeq}`,
      });
    }
    if (event.seq > this.lastDigestSeq && !this.firstUndigested) {
      this.firstUndigested = { seq: event.seq, time: event.time };
    }
    return true;
  }

  /**
   * After the last event: digests must not point past the events, and the events after the newest digest must
   * be fewer than the policy lets wait (twice `everyEvents`, as slack for shipping lag). Those events are
   * checked for their chain only; the report names them as not yet covered by a signature.
   */
  finish(options: { allowUnsealedTail: boolean; policy?: DigestPolicy }): DigestFailure | null {
    if (this.failure) return this.failure;
    const lastSeq = this.lastEvent?.seq ?? 0;
    if (this.lastDigestSeq > lastSeq) {
      return this.fail({
        firstBadSeq: lastSeq + 1,
        reason: 'digest_gap',
        detail: `digests cover up to seq ${this.lastDigestSeq} but the events end at ${lastSeq}`,
      });
    }
    const tail = this.firstUndigested;
    if (!tail || options.allowUnsealedTail) return null;
    const policy = this.newest?.policy ?? options.policy ?? DEFAULT_DIGEST_POLICY;
    const tailCount = lastSeq - tail.seq + 1;
    if (tailCount > policy.everyEvents * 2) {
      return this.fail({
        firstBadSeq: tail.seq,
        reason: 'digest_missing',
        detail: `${tailCount} events from seq ${tail.seq} are not covered by any digest`,
      });
    }
    return null;
  }

  /**
   * The heartbeat check: the newest digest must be younger than its policy's `everyMinutes` plus a grace at
   * `at` (the verification time). Deleting the newest events together with their digests shows here.
   */
  staleness(at: Date): DigestFailure | null {
    return digestStaleness(this.newest, at);
  }

  /** Events after the last digest (not yet covered by a signature). */
  get unsealed(): number {
    return this.firstUndigested && this.lastEvent ? this.lastEvent.seq - this.firstUndigested.seq + 1 : 0;
  }

  private fail(failure: DigestFailure): DigestFailure {
    this.failure = failure;
    return failure;
  }
}

/** Null when `newest` is recent enough at `at`; a `stale` failure otherwise (also when there is no digest). */
export function digestStaleness(newest: DigestPayload | null, at: Date): DigestFailure | null {
  if (!newest) return { firstBadSeq: 1, reason: 'stale', detail: 'there is no signed digest at all' };
  const limitMinutes = newest.policy.everyMinutes + HEARTBEAT_GRACE_MINUTES;
  const ageMinutes = (at.getTime() - Date.parse(newest.time)) / 60_000;
  if (ageMinutes <= limitMinutes) return null;
  return {
    firstBadSeq: newest.toSeq + 1,
    reason: 'stale',
    detail: `the newest digest (${newest.n}, ${newest.time}) is ${Math.floor(ageMinutes)} min old at ${at.toISOString()}; a heartbeat is due every ${newest.policy.everyMinutes} min (+${HEARTBEAT_GRACE_MINUTES} grace): newer events and digests may have been deleted`,
  };
}
