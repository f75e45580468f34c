/**
 * Signed digests of the audit chain, modelled on CloudTrail's digest files. The shipper signs a digest
 * `{n, fromSeq, toSeq, count, lastHash, firstPrevHash, time, prevDigest, policy}` as a compact ES256 JWS every N
 * events, and at least every T minutes even when nothing happened (a heartbeat, `count: 0`), and writes it to the
 * bunker. Each digest names the SHA-256 of the previous one, so the digests form their own chain; the newest
 * digest's age shows when the newest events were deleted together with their digests. Signatures count only
 * against keys the verifier trusts independently of the material (a pinned key, `--keys`, the KMS key).
 */
import { createHash } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { GENESIS_HASH } from '../domain/audit-chain.js';
import type { AuditEvent } from '../domain/types.js';
import type { AuditSigner, PublicJwk } from '../ports/bunker.js';

export const DIGEST_TYPE = 'breakglass.audit-digest';
export const DIGEST_JWS_TYP = 'breakglass-digest+jws';
export const MANIFEST_JWS_TYP = 'breakglass-export+jws';

export interface DigestPolicy {
  /** A digest at least every this many events. */
  everyEvents: number;
  /** A digest at least every this many minutes, with or without new events (the heartbeat). */
  everyMinutes: number;
}

export const DEFAULT_DIGEST_POLICY: DigestPolicy = { everyEvents: 100, everyMinutes: 15 };

/** How late a heartbeat may be before verification calls the bunker stale: the sweep runs every minute. */
export const HEARTBEAT_GRACE_MINUTES = 5;

export interface DigestPayload {
  type: typeof DIGEST_TYPE;
  v: 2;
  /** The digest's own number: 1, 2, 3… with no gap. */
  n: number;
  fromSeq: number;
  /** Equals `fromSeq - 1` for a heartbeat that covers no new event. */
  toSeq: number;
  count: number;
  /** Hash of event `toSeq` (the genesis hash before the first event). */
  lastHash: string;
  /** `prevHash` of event `fromSeq`, i.e. the hash the previous digest ended on. */
  firstPrevHash: string;
  time: string;
  /** SHA-256 (hex) of the previous digest's compact JWS; null for the first digest. */
  prevDigest: string | null;
  policy: DigestPolicy;
}

/** Keys a verifier trusts, and where they came from (never the material being verified). */
export interface TrustedKeys {
  /** `pinned`: first use of a server (CLI state); `file`: `--keys`; `signing-key`: the broker's own (KMS) key. */
  source: 'pinned' | 'file' | 'signing-key';
  /** The server, file or key the keys came from, for the output. */
  origin: string;
  keys: JSONWebKeySet;
}

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

/** A compact JWS (RFC 7515) with an ES256 signature from `signer`. */
export async function signCompact(signer: AuditSigner, payload: unknown, typ: string): Promise<string> {
  const header = { alg: 'ES256', kid: await signer.keyId(), typ };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = await signer.signEs256(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${b64url(signature)}`;
}

/** The digest after `previous` (null for the first), covering events up to `last` (none new for a heartbeat). */
export function buildDigest(input: {
  previous: Pick<DigestPayload, 'n' | 'toSeq' | 'lastHash'> | null;
  previousJwsSha256: string | null;
  last: Pick<AuditEvent, 'seq' | 'hash'>;
  time: string;
  policy: DigestPolicy;
}): DigestPayload {
  const fromSeq = (input.previous?.toSeq ?? 0) + 1;
  return {
    type: DIGEST_TYPE,
    v: 2,
    n: (input.previous?.n ?? 0) + 1,
    fromSeq,
    toSeq: input.last.seq,
    count: input.last.seq - fromSeq + 1,
    lastHash: input.last.hash,
    firstPrevHash: input.previous?.lastHash ?? GENESIS_HASH,
    time: input.time,
    prevDigest: input.previousJwsSha256,
    policy: input.policy,
  };
}

/** The JWKS served at `/.well-known/breakglass-audit-keys.json`. */
export async function auditJwks(signer: AuditSigner): Promise<{ keys: PublicJwk[] }> {
  return { keys: await signer.publicKeys() };
}

export function sha256HexSync(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
