/**
 * Where things live in the data bunker. Keys are relative to the bunker root (the S3 prefix or the local
 * directory) and derived only from the object itself, so a replay always targets the same key.
 */
import { serializeEvent } from '../audit-chain.js';
import type { AuditEvent } from '../types.js';

/** Twelve digits keep lexical order equal to numeric order for any realistic chain length. */
export const padSeq = (seq: number) => seq.toString().padStart(12, '0');

function datePath(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new TypeError(`not a timestamp: ${iso}`);
  const yyyy = date.getUTCFullYear().toString().padStart(4, '0');
  const mm = (date.getUTCMonth() + 1).toString().padStart(2, '0');
  const dd = date.getUTCDate().toString().padStart(2, '0');
  return `${yyyy}/${mm}/${dd}`;
}

export const EVENTS_DIR = 'events/';
export const DIGESTS_DIR = 'digests/';
export const KEYS_DIR = 'keys/';

/** `events/<yyyy>/<mm>/<dd>/<seq>-<id>.json`, dated by the event's own time. */
export function eventKey(event: Pick<AuditEvent, 'seq' | 'id' | 'time'>): string {
  return `${EVENTS_DIR}${datePath(event.time)}/${padSeq(event.seq)}-${event.id}.json`;
}

/**
 * `digests/<toSeq>-<n>.jws`: the last seq it covers, then the digest's own number (heartbeats repeat a `toSeq`).
 * No date, so lexical order is chain order, a range's digests are found by listing, and a digest re-made after
 * losing the cursor lands on the same key, where the shipper can adopt the one already there.
 */
export function digestKey(digest: { toSeq: number; n: number }): string {
  return `${DIGESTS_DIR}${padSeq(digest.toSeq)}-${padSeq(digest.n)}.jws`;
}

/** `keys/<kid>.json`: the public JWK that signed digests, written once so the bunker verifies on its own. */
export function publicKeyKey(kid: string): string {
  return `${KEYS_DIR}${kid}.json`;
}

/** The bytes stored for an event: its JSON exactly as the chain stores it. */
export function eventBody(event: AuditEvent): string {
  return serializeEvent(event);
}

const EVENT_KEY = /^events\/\d{4}\/\d{2}\/\d{2}\/(\d{12})-([\w-]+)\.json$/;
const DIGEST_KEY = /^digests\/(\d{12})-(\d{12})\.jws$/;

export function parseEventKey(key: string): { seq: number; id: string } | null {
  const match = EVENT_KEY.exec(key);
  return match?.[1] && match[2] ? { seq: Number(match[1]), id: match[2] } : null;
}

export function parseDigestKey(key: string): { toSeq: number; n: number } | null {
  const match = DIGEST_KEY.exec(key);
  return match?.[1] && match[2] ? { toSeq: Number(match[1]), n: Number(match[2]) } : null;
}

/** Keys a sink will accept: relative, no `..`, a conservative character set. */
export function isSafeKey(key: string): boolean {
  return /^[\w-]+(\/[\w.-]+)*$/.test(key) && !key.split('/').some((part) => part === '..' || part === '.');
}
