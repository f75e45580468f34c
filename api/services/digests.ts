/**
 * Signed digests of the audit chain. Every N events or T minutes the shipper seals a digest
 * `{fromSeq, toSeq, count, lastHash, time, prevDigest, policy}` as a compact ES256 JWS and writes it to the
 * bunker; each digest names the SHA-256 of the previous one, so the digests form their own chain. With the
 * published public keys, a gap, a rewritten event or a missing digest shows up from the bunker alone.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { padSeq } from '../domain/exports/bunker-layout.js';
import type { AuditEvent } from '../domain/types.js';
import type { AuditSigner, PublicJwk } from '../ports/bunker.js';

export const DIGEST_TYPE = 'breakglass.audit-digest';
export const DIGEST_JWS_TYP = 'breakglass-digest+jws';
export const MANIFEST_JWS_TYP = 'breakglass-export+jws';

export interface DigestPolicy {
  everyEvents: number;
  everyMinutes: number;
}

export const DEFAULT_DIGEST_POLICY: DigestPolicy = { everyEvents: 100, everyMinutes: 15 };

export interface DigestPayload {
  type: typeof DIGEST_TYPE;
  v: 1;
  fromSeq: number;
  toSeq: number;
  count: number;
  /** Hash of event `toSeq`. */
  lastHash: string;
  /** `prevHash` of event `fromSeq`, i.e. the hash the previous digest ended on. */
  firstPrevHash: string;
  time: string;
  /** SHA-256 (hex) of the previous digest's compact JWS; null for the first digest. */
  prevDigest: string | null;
  policy: DigestPolicy;
}

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

/** A compact JWS (RFC 7515) with an ES256 signature from `signer`. */
export async function signCompact(signer: AuditSigner, payload: unknown, typ: string): Promise<string> {
  const header = { alg: 'ES256', kid: await signer.keyId(), typ };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = await signer.signEs256(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${b64url(signature)}`;
}

export type JwsCheck<T> = { ok: true; payload: T; kid: string } | { ok: false; detail: string };

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
    return { ok: false, detail: `signature does not verify (${code})` };
  }
}

export function buildDigest(input: {
  first: Pick<AuditEvent, 'seq' | 'prevHash'>;
  last: Pick<AuditEvent, 'seq' | 'hash'>;
  time: string;
  prevDigest: string | null;
  policy: DigestPolicy;
}): DigestPayload {
  return {
    type: DIGEST_TYPE,
    v: 1,
    fromSeq: input.first.seq,
    toSeq: input.last.seq,
    count: input.last.seq - input.first.seq + 1,
    lastHash: input.last.hash,
    firstPrevHash: input.first.prevHash,
    time: input.time,
    prevDigest: input.prevDigest,
    policy: input.policy,
  };
}

/** The JWKS served at `/.well-known/breakglass-audit-keys.json`. */
export async function auditJwks(signer: AuditSigner): Promise<{ keys: PublicJwk[] }> {
  return { keys: await signer.publicKeys() };
}

export type DigestProblem =
  | 'digest_malformed'
  | 'digest_signature_invalid'
  | 'digest_gap'
  | 'digest_mismatch'
  | 'digest_missing';

export interface DigestFailure {
  firstBadSeq: number;
  reason: DigestProblem;
  detail: string;
}

interface LoadedDigest {
  key: string;
  jws: string;
  payload: DigestPayload;
}

/**
 * Checks a set of digests (signatures, their own chain) and then, fed the events in seq order, that each
 * digest's `lastHash` is the hash of its `toSeq` event. Memory grows with the number of digests, not events.
 */
export class DigestChecker {
  private readonly byToSeq = new Map<number, LoadedDigest>();
  private readonly starts = new Map<number, LoadedDigest>();
  private ordered: LoadedDigest[] = [];
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
      const check = await verifyCompact<DigestPayload>(jws, keys, DIGEST_JWS_TYP);
      const claimed = /(\d{12})\.jws$/.exec(key)?.[1];
      if (!check.ok) {
        return this.fail(
          claimed ? Number(claimed) : 0,
          'digest_signature_invalid',
          `${key}: ${check.detail}`,
        );
      }
      const payload = check.payload;
      if (
        payload.type !== DIGEST_TYPE ||
        !Number.isInteger(payload.fromSeq) ||
        !Number.isInteger(payload.toSeq)
      ) {
        return this.fail(claimed ? Number(claimed) : 0, 'digest_malformed', `${key} is not a digest`);
      }
      if (claimed && claimed !== padSeq(payload.toSeq)) {
        return this.fail(
          payload.fromSeq,
          'digest_malformed',
          `${key} holds the digest ending at ${payload.toSeq}`,
        );
      }
      loaded.push({ key, jws: jws.trim(), payload });
    }
    loaded.sort((a, b) => a.payload.toSeq - b.payload.toSeq);
    let previous: LoadedDigest | null = null;
    for (const digest of loaded) {
      const { fromSeq, toSeq, prevDigest } = digest.payload;
      const expectedFrom = previous ? previous.payload.toSeq + 1 : 1;
      if (fromSeq !== expectedFrom) {
        return this.fail(
          Math.min(fromSeq, expectedFrom),
          'digest_missing',
          `no digest covers seq ${expectedFrom}..${fromSeq - 1} (next digest ${digest.key} starts at ${fromSeq})`,
        );
      }
      const expectedPrev = previous ? sha256HexSync(previous.jws) : null;
      if (prevDigest !== expectedPrev) {
        return this.fail(fromSeq, 'digest_gap', `${digest.key} does not name the previous digest`);
      }
      if (toSeq < fromSeq) return this.fail(fromSeq, 'digest_malformed', `${digest.key} has an empty range`);
      this.byToSeq.set(toSeq, digest);
      this.starts.set(fromSeq, digest);
      previous = digest;
    }
    this.ordered = loaded;
    return null;
  }

  get count(): number {
    return this.ordered.length;
  }

  get lastDigestSeq(): number {
    return this.ordered.at(-1)?.payload.toSeq ?? 0;
  }

  /** Feed every event in seq order, after it passed the chain check. */
  push(event: Pick<AuditEvent, 'seq' | 'hash' | 'prevHash' | 'time'>): boolean {
    if (this.failure) return false;
    this.lastEvent = { seq: event.seq, time: event.time };
    const starting = this.starts.get(event.seq);
    if (starting && starting.payload.firstPrevHash !== event.prevHash) {
      return !this.fail(event.seq, 'digest_mismatch', `${starting.key} starts from a different chain`);
    }
    const ending = this.byToSeq.get(event.seq);
    if (ending && ending.payload.lastHash !== event.hash) {
      const { fromSeq, toSeq } = ending.payload;
      return !this.fail(
        fromSeq,
        'digest_mismatch',
        `the events ${fromSeq}..${toSeq} were rewritten: ${ending.key} signs a different hash for seq ${toSeq}`,
      );
    }
    if (event.seq > this.lastDigestSeq && !this.firstUndigested) {
      this.firstUndigested = { seq: event.seq, time: event.time };
    }
    return true;
  }

  /**
   * After the last event: digests must not point past the events, and the events after the last digest must
   * be fewer than the policy would have let through unsealed (twice `everyEvents`, as slack for shipping lag).
   * A deleted newest digest is therefore caught once enough events follow it, or by the live broker's verify.
   */
  finish(options: { allowUnsealedTail: boolean; policy?: DigestPolicy }): DigestFailure | null {
    if (this.failure) return this.failure;
    const lastSeq = this.lastEvent?.seq ?? 0;
    if (this.lastDigestSeq > lastSeq) {
      return this.fail(
        lastSeq + 1,
        'digest_gap',
        `digests cover up to seq ${this.lastDigestSeq} but the events end at ${lastSeq}`,
      );
    }
    const tail = this.firstUndigested;
    if (!tail || options.allowUnsealedTail) return null;
    const policy = this.ordered.at(-1)?.payload.policy ?? options.policy ?? DEFAULT_DIGEST_POLICY;
    const tailCount = lastSeq - tail.seq + 1;
    if (tailCount > policy.everyEvents * 2) {
      return this.fail(
        tail.seq,
        'digest_missing',
        `${tailCount} events from seq ${tail.seq} are not covered by any digest`,
      );
    }
    return null;
  }

  /** Events after the last digest (not yet sealed). */
  get unsealed(): number {
    return this.firstUndigested && this.lastEvent ? this.lastEvent.seq - this.firstUndigested.seq + 1 : 0;
  }

  private fail(seq: number, reason: DigestProblem, detail: string): DigestFailure {
    this.failure = { firstBadSeq: seq, reason, detail };
    return this.failure;
  }
}

export function sha256HexSync(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
