/** The data bunker seen from the broker: write-once objects under relative keys, and a way to read them back. */
import { createHash } from 'node:crypto';
import { GENESIS_HASH } from '../domain/audit-chain.js';

/** `written`: the object is new. `identical`: it already existed with exactly these bytes (a replay). */
export type PutOutcome = 'written' | 'identical';

/** Reading the bunker back, for verification. Keys are relative to the bunker root. */
export interface BunkerReader {
  /** Every key under `prefix`, in lexical order. */
  list(prefix: string): AsyncIterable<string>;
  /** The object's text, or null when it does not exist. */
  get(key: string): Promise<string | null>;
}

export interface BunkerSink extends BunkerReader {
  /** Where the objects go, for logs and readiness (never a secret). */
  readonly location: string;
  /**
   * Writes `body` at `key` unless the key exists. An existing identical object counts as written; an existing
   * different one throws BunkerConflict and leaves the stored object untouched.
   */
  put(key: string, body: string, contentType?: string): Promise<PutOutcome>;
  /**
   * `put` for several objects at once, each settled on its own (same outcomes and conflicts as `put`). Sinks
   * that can share work between objects (the file sink's directory fsync) implement it; otherwise the shipper
   * puts one by one.
   */
  putMany?(objects: BunkerObject[]): Promise<PromiseSettledResult<PutOutcome>[]>;
}

export interface BunkerObject {
  key: string;
  body: string;
  contentType?: string;
}

/** Another object already sits at a key we own, with different bytes: someone or something rewrote history. */
export class BunkerConflict extends Error {
  constructor(
    readonly key: string,
    readonly expectedSha256: string,
    readonly foundSha256: string | null,
  ) {
    super(`bunker object ${key} exists with different content`);
    this.name = 'BunkerConflict';
  }
}

export const sha256Hex = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** Signs digests and export manifests with ES256; a local key file or a KMS key. */
export interface AuditSigner {
  /** The signing key's id (its RFC 7638 thumbprint). */
  keyId(): Promise<string>;
  /** Every key that may have signed something still in the bunker, newest first. */
  publicKeys(): Promise<PublicJwk[]>;
  /** ECDSA P-256 over SHA-256 of `data`, in JOSE form (raw r‖s). */
  signEs256(data: Uint8Array): Promise<Uint8Array>;
}

/** The newest digest, kept in the cursor until its object is known to be in the bunker. */
export interface DigestState {
  /** The digest's number (1, 2, 3…). */
  n: number;
  fromSeq: number;
  toSeq: number;
  lastHash: string;
  time: string;
  key: string;
  jws: string;
  sha256: string;
  written: boolean;
}

export interface ShipperCursor {
  /** Incremented by every write; the store only accepts `version = stored + 1`. */
  version: number;
  shippedSeq: number;
  shippedHash: string;
  shippedAt: string | null;
  lastDigest: DigestState | null;
  /** Set when the bunker held different bytes at one of our keys; shipping stays stopped until cleared. */
  halted: { key: string; seq: number; at: string; expectedSha256: string; foundSha256: string | null } | null;
}

export const INITIAL_CURSOR: ShipperCursor = {
  version: 0,
  shippedSeq: 0,
  shippedHash: GENESIS_HASH,
  shippedAt: null,
  lastDigest: null,
  halted: null,
};

/** Where the cursor lives (one DynamoDB item in production). */
export interface ShipperCursorStore {
  read(): Promise<ShipperCursor>;
  /** Conditional on `next.version - 1` being stored; throws ConcurrentUpdateError otherwise. */
  write(next: ShipperCursor): Promise<void>;
}
